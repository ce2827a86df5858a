import { customType } from 'drizzle-orm/pg-core'

// PostgreSQL xid8: the writing transaction's id. Change feeds and the audit chain order rows by
// (xid, seq) and read only below the oldest running transaction, so no late commit is skipped.
export const xid8 = customType<{ data: string; driverData: string }>({
  dataType: () => 'xid8',
})

export const tsvector = customType<{ data: string }>({
  dataType: () => 'tsvector',
})

export const bytea = customType<{ data: Buffer; driverData: Buffer }>({
  dataType: () => 'bytea',
})
