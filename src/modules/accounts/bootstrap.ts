// On an empty database, create the platform organisation and its first platform admin — with
// DCX_BOOTSTRAP_CLIENT_ID/SECRET when set, else random credentials the caller prints once.
import { sql } from 'drizzle-orm'
import type { Db } from '../../db/client.js'
import { rows } from '../../db/client.js'
import { generateClientId, generateSecret, hashSecret } from '../../core/secrets.js'
import { accountsRepository } from './accounts.repository.js'
import { organisationsRepository } from '../organisations/organisations.repository.js'

const BOOTSTRAP_LOCK_ID = 0x64637803

export interface BootstrapResult {
  clientId: string
  /** Present only when generated here: the caller prints it once. */
  generatedSecret?: string
  organisationId: string
}

export async function bootstrapAdmin(db: Db, given: { clientId: string; clientSecret: string } | undefined): Promise<BootstrapResult | undefined> {
  return db.transaction(async (tx) => {
    // Several nodes may start on one empty database at once; one of them bootstraps.
    await rows(tx, sql`SELECT pg_advisory_xact_lock(${BOOTSTRAP_LOCK_ID})`)
    const [{ n } = { n: 0 }] = await rows<{ n: number }>(tx, sql`SELECT count(*)::int AS n FROM organisations`)
    if (n > 0) return undefined
    const org = await organisationsRepository.insert(tx, {
      name: 'DCX Platform Operations',
      sector: 'international',
      country: 'FR',
      contactEmail: 'dcx-operations@example.org',
      contactHours: 'Set this with PATCH /v1/organisations/{id}',
    })
    const clientId = given?.clientId ?? generateClientId()
    const secret = given?.clientSecret ?? generateSecret()
    await accountsRepository.insert(tx, {
      organisationId: org.id,
      name: 'First platform administrator',
      roles: ['platform_admin'],
      clientId,
      secretHash: await hashSecret(secret),
    })
    return { clientId, organisationId: org.id, ...(given ? {} : { generatedSecret: secret }) }
  })
}
