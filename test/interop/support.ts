// Shared by the interoperability tests: the OASIS STIX 2.1 JSON schemas (draft 2020-12, loaded
// with Ajv's 2020 mode from test/fixtures/stix2-json-schemas, a copy kept in the repository with
// its licence and source commit), TAXII request helpers, and a bounded poll for reads that wait on
// other files' open transactions.
import { readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import path from 'node:path'
import ajvModule from 'ajv/dist/2020.js'
import formatsModule from 'ajv-formats'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'

export const STIX_DIR = fileURLToPath(new URL('../fixtures/stix2-json-schemas/', import.meta.url))

// CommonJS default exports seen from ESM: the constructor may sit on .default.
type AjvCtor = typeof import('ajv/dist/2020.js').default
const Ajv2020 = ((ajvModule as unknown as { default?: AjvCtor }).default ?? ajvModule) as AjvCtor
const addFormats = ((formatsModule as unknown as { default?: unknown }).default ?? formatsModule) as (ajv: InstanceType<AjvCtor>) => void

// The OASIS patterns escape '-' outside classes, which the unicode (u) flag rejects.
const ajv = new Ajv2020({ strict: false, allErrors: true, unicodeRegExp: false })
addFormats(ajv)
// Formats the OASIS schemas use that ajv-formats does not define: checked by DCX's own validators.
ajv.addFormat('idn-hostname', true)
ajv.addFormat('idn-email', true)

const ids = new Map<string, string>()
for (const dir of ['common', 'sdos', 'sros', 'observables']) {
  for (const file of readdirSync(path.join(STIX_DIR, 'schemas', dir))) {
    const schema = JSON.parse(readFileSync(path.join(STIX_DIR, 'schemas', dir, file), 'utf8')) as { $id: string }
    ajv.addSchema(schema)
    ids.set(file.replace(/\.json$/, ''), schema.$id)
  }
}

/** Ajv's errors for a STIX object against the OASIS schema of its type; undefined when valid. */
export function stixErrors(obj: { type?: unknown; [k: string]: unknown }): string | undefined {
  const id = ids.get(String(obj.type))
  if (!id) return `no OASIS schema for type ${String(obj.type)}`
  const validate = ajv.getSchema(id)
  if (!validate) return `schema ${id} did not compile`
  return validate(obj) ? undefined : ajv.errorsText(validate.errors, { separator: '\n' })
}

/**
 * The bundle envelope against bundle.json, and every object against its own type's schema.
 * bundle.json cannot accept an extension-definition object (a known gap in the OASIS schema: it
 * is not among the listed types, and the custom-object branch requires matching exactly one of
 * core and cyber-observable-core, which any such object matches both of), so those are checked
 * against extension-definition.json only.
 */
export function bundleErrors(bundle: { type: string; id: string; objects: { type: string; [k: string]: unknown }[] }): string | undefined {
  const listed = bundle.objects.filter((o) => o.type !== 'extension-definition')
  const errors = [stixErrors({ ...bundle, objects: listed }), ...bundle.objects.map((o) => stixErrors(o))].filter(Boolean)
  return errors.length ? errors.join('\n') : undefined
}

export function readExample(name: string): { type: string; id: string; objects: Record<string, unknown>[] } {
  return JSON.parse(readFileSync(path.join(STIX_DIR, 'examples', name), 'utf8'))
}

// One valid value per DCX type; quotes and backslashes test the pattern escaping.
export const SAMPLES: { type: string; value: string }[] = [
  { type: 'onion_url', value: 'http://2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid.onion/shop' },
  { type: 'url', value: 'https://Shop.Example.com/p?q=1' },
  { type: 'domain', value: 'market.example.org' },
  { type: 'crypto_address', value: '1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa' },
  { type: 'email', value: 'Vendor@Example.org' },
  { type: 'phone', value: '+31 70 123 4567' },
  { type: 'pgp_fingerprint', value: 'abcd abcd abcd abcd abcd abcd abcd abcd abcd abcd' },
  { type: 'vendor_alias', value: "Dr. Feel'Good \\ NL" },
  { type: 'postal_item', value: 'RR123456785DE' },
  { type: 'postal_address', value: 'Keizersgracht 1, Amsterdam' },
  { type: 'person_name', value: 'Jan de Vries' },
  { type: 'file_hash', value: 'ef537f25c895bfa782526529a9b63d97aa631564d5d789c2b765448c8635fb6c' },
  { type: 'file_hash', value: '001dd76872d80801692ff942308c64e6' },
  { type: 'shipping_pattern', value: 'NL → DE, vacuum-sealed, declared as "tea"\nsecond line' },
]

export const TAXII = 'application/taxii+json;version=2.1'
export const ACCEPT = { accept: TAXII }

/** A TAXII request with a bearer token (or any Authorization value) and the TAXII Accept header. */
export function taxii(app: FastifyInstance, auth: string) {
  const authorization = auth.startsWith('Basic ') || auth.startsWith('Bearer ') ? auth : `Bearer ${auth}`
  return {
    get: (url: string, headers: Record<string, string> = {}) => app.inject({ method: 'GET', url, headers: { authorization, ...ACCEPT, ...headers } }),
    delete: (url: string) => app.inject({ method: 'DELETE', url, headers: { authorization, ...ACCEPT } }),
    post: (url: string, body: unknown, headers: Record<string, string> = {}) =>
      app.inject({ method: 'POST', url, headers: { authorization, ...ACCEPT, 'content-type': TAXII, ...headers }, payload: JSON.stringify(body) }),
  }
}

export const basicAuth = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`

/**
 * Repeat a read until it satisfies `done` (at most `tries` times). TAXII lists only show rows
 * older than every open transaction; on a PostgreSQL shared with parallel test files another
 * file's transaction can hold that horizon back for a moment.
 */
export async function eventually(read: () => Promise<LightMyRequestResponse>, done: (res: LightMyRequestResponse) => boolean, tries = 100) {
  let res = await read()
  for (let i = 1; i < tries && !done(res); i++) {
    await new Promise((r) => setTimeout(r, 50))
    res = await read()
  }
  return res
}
