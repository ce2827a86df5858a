import { pgTable, text, timestamp, jsonb } from 'drizzle-orm/pg-core'

// JWT / checkpoint signing keys. Kept in the database so every node and every restart agree;
// the private half is AES-256-GCM encrypted under DCX_MASTER_KEY.
export const signingKeys = pgTable('signing_keys', {
  kid: text('kid').primaryKey(),
  alg: text('alg').notNull(),
  publicJwk: jsonb('public_jwk').notNull().$type<Record<string, string>>(),
  privateKeyEnc: text('private_key_enc').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  // Set when a newer key takes over signing; the key still verifies until its tokens expire.
  retiredAt: timestamp('retired_at', { withTimezone: true, precision: 3 }),
})

export type SigningKeyRow = typeof signingKeys.$inferSelect
