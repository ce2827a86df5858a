import { defineConfig } from 'drizzle-kit'

// drizzle-kit only diffs the schema into SQL; it never connects. Migrations are applied by
// src/db/client.ts at boot (see migrations/README.md), on PostgreSQL under an advisory lock.
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/db/schema/index.ts',
  out: './migrations',
})
