// A postal operator screens its manifest against the DCX holdings it may match, without sending
// a single value: each value is canonicalised and blinded here (src/screening/client.ts), DCX
// evaluates the blinded elements, and only local hits go back, as tags, to be resolved into
// contact cards. DCX never sees a value that does not match. (DESIGN.md §8; README, "Screening
// without disclosure".)
//
//   DCX_URL=http://127.0.0.1:3000 DCX_CLIENT_ID=... DCX_CLIENT_SECRET=... \
//   DCX_JUSTIFICATION="manifest 2026-12-03 outbound NL" npx tsx examples/screen-manifest.ts manifest.csv
//
// The manifest is CSV with a header row. Columns named after an indicator type (email, phone,
// postal_address, postal_item, …) are screened; the first column labels the row (a parcel id).
//
//   parcel,email,phone,postal_address
//   CX001,anna@example.org,+31 6 1234 5678,"Dorpsstraat 1, 1234 AB Ergens"
import { readFile } from 'node:fs/promises'
import { pathToFileURL } from 'node:url'
import { INDICATOR_TYPES } from '../src/modules/indicators/normalize.js'
import { completeScreening, MAX_ELEMENTS, prepareScreening, resolveRequest } from '../src/screening/client.js'
import type { DigestMessage, EvaluateResponse, KeysEntry } from '../src/screening/wire.js'
import { createDcxClient, DcxTokenError, type DcxClient, type Schemas } from './client.js'

export interface ManifestHit {
  row: string
  column: string
  value: string
  matches: Schemas['ScreeningResolveResponse']['results'][number]['matches']
}

export interface ManifestResult {
  /** Values screened per type (after normalisation, each distinct value once). */
  screened: Record<string, number>
  /** Values the normaliser refused, never sent. */
  invalid: { row: string; column: string; value: string; reason: string }[]
  hits: ManifestHit[]
}

/** RFC 4180 CSV: quoted fields, doubled quotes, CRLF or LF. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = []
  let row: string[] = []
  let field = ''
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"'
        i++
      } else if (c === '"') quoted = false
      else field += c
    } else if (c === '"') quoted = true
    else if (c === ',') {
      row.push(field)
      field = ''
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++
      row.push(field)
      if (row.some((f) => f !== '')) rows.push(row)
      row = []
      field = ''
    } else field += c
  }
  row.push(field)
  if (row.some((f) => f !== '')) rows.push(row)
  return rows
}

function failed(what: string, res: { error?: { detail?: string } | undefined; response: Response }): never {
  throw new Error(`${what}: ${res.response.status} ${res.error?.detail ?? ''}`)
}

/** Screen a parsed manifest (header first): every indicator-type column, in batches of at most 10,000 values. */
export async function screenManifest(dcx: DcxClient, table: string[][], opts: { justification?: string } = {}): Promise<ManifestResult> {
  const [header, ...body] = table
  if (!header) return { screened: {}, invalid: [], hits: [] }
  const headers = opts.justification ? { 'dcx-justification': opts.justification } : undefined
  const result: ManifestResult = { screened: {}, invalid: [], hits: [] }
  const columns = header.map((h, i) => ({ type: h.trim(), i })).filter((c) => (INDICATOR_TYPES as readonly string[]).includes(c.type))
  const keysRes = await dcx.GET('/v1/screening/keys')
  if (!keysRes.data) failed('keys', keysRes)
  const key = keysRes.data as KeysEntry
  for (const type of new Set(columns.map((c) => c.type))) {
    // Where each value came from (row label, column), to report hits by row.
    const cells = body.flatMap((r) =>
      columns
        .filter((c) => c.type === type && (r[c.i] ?? '').trim() !== '')
        .map((c) => ({ row: r[0] ?? '', column: header[c.i] as string, value: r[c.i] as string })),
    )
    if (cells.length === 0) continue
    const digestRes = await dcx.GET('/v1/screening/digest', { params: { query: { type: type as 'email' } } })
    if (!digestRes.data) failed(`digest ${type}`, digestRes)
    const digest = digestRes.data as DigestMessage
    result.screened[type] = 0
    for (let start = 0; start < cells.length; start += MAX_ELEMENTS) {
      const chunk = cells.slice(start, start + MAX_ELEMENTS)
      const batch = prepareScreening(
        type,
        chunk.map((c) => c.value),
      )
      for (const bad of batch.invalid) {
        const cell = chunk.find((c) => c.value === bad.value)
        result.invalid.push({ row: cell?.row ?? '', column: cell?.column ?? type, value: bad.value, reason: bad.reason })
      }
      if (batch.items.length === 0) continue
      const evalRes = await dcx.POST('/v1/screening/evaluate', { body: batch.request(key.epoch) as never, ...(headers ? { headers } : {}) })
      if (!evalRes.data) failed(`evaluate ${type}`, evalRes)
      const { screened, hits } = completeScreening(batch, key, evalRes.data as EvaluateResponse, digest)
      result.screened[type] = (result.screened[type] ?? 0) + screened
      if (hits.length === 0) continue
      const resolveRes = await dcx.POST('/v1/screening/resolve', { body: resolveRequest(key.epoch, type, hits) as never, ...(headers ? { headers } : {}) })
      if (!resolveRes.data) failed(`resolve ${type}`, resolveRes)
      const byTag = new Map(resolveRes.data.results.map((r) => [r.tag, r.matches]))
      for (const hit of hits) {
        const matches = byTag.get(hit.tag) ?? []
        // A local hit that resolves to nothing is an 8-byte collision (about 10⁻¹¹): not a match.
        if (matches.length === 0) continue
        for (const value of hit.values) {
          for (const cell of chunk.filter((c) => c.value === value)) result.hits.push({ row: cell.row, column: cell.column, value, matches })
        }
      }
    }
  }
  return result
}

function env(name: string): string {
  const value = process.env[name]
  if (!value) {
    process.stderr.write(`Set ${name} (see examples/README.md).\n`)
    process.exit(2)
  }
  return value
}

async function main() {
  const file = process.argv[2]
  if (!file) {
    process.stderr.write('usage: npx tsx examples/screen-manifest.ts manifest.csv\n')
    process.exit(2)
  }
  const baseUrl = env('DCX_URL').replace(/\/+$/, '')
  let dcx: DcxClient
  try {
    dcx = await createDcxClient(baseUrl, env('DCX_CLIENT_ID'), env('DCX_CLIENT_SECRET'))
  } catch (err) {
    if (err instanceof DcxTokenError) {
      process.stderr.write(`${err.message}\n`)
      process.exit(1)
    }
    throw err
  }
  const justification = process.env.DCX_JUSTIFICATION
  const result = await screenManifest(dcx, parseCsv(await readFile(file, 'utf8')), justification ? { justification } : {})
  const total = Object.values(result.screened).reduce((a, b) => a + b, 0)
  process.stdout.write(`screened ${total} distinct values (${JSON.stringify(result.screened)}); ${result.invalid.length} invalid, ${result.hits.length} hits\n`)
  for (const bad of result.invalid) process.stdout.write(`  invalid  ${bad.row} ${bad.column}: ${bad.reason}\n`)
  for (const hit of result.hits) {
    for (const m of hit.matches) {
      const c = m.organisation.contact
      process.stdout.write(
        `  HIT  ${hit.row} ${hit.column} → ${m.organisation.name} <${c.email}>${c.phone ? ` ${c.phone}` : ''}${c.hours ? ` (${c.hours})` : ''}  TLP:${m.tlp.toUpperCase()} ${m.handlingCode}  indicator ${m.id}\n`,
      )
    }
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main()
