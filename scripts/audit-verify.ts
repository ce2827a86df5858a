// Offline audit verification for an outside auditor, trusting nothing the server says now:
//   npm run audit:verify -- --export audit.ndjson --checkpoint checkpoint.json [--jwks jwks.json]
// The export is the unfiltered NDJSON from GET /v1/audit/export; the checkpoint one item of
// GET /v1/audit/checkpoints saved earlier (or its JWS). The key comes from --jwks (a JWKS saved
// when the checkpoint was taken) or, failing that, the checkpoint's own publicJwk.
// Exit 0: the export's chain is intact and matches the signed checkpoint. Exit 1: it is not.
// Each event verifies by its own scheme (src/audit/canonical.ts): 1 (chained before payload
// pruning; an export without a scheme field is all scheme 1) over the whole event, 2 over the
// header and payloadDigest — a pruned event verifies by its digest, an unpruned one's payload
// must match it.
import { createReadStream, readFileSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import { expectedHash, GENESIS_HASH } from '../src/audit/canonical.js'
import { toCanonical } from '../src/audit/chain.js'
import { verifyCheckpointJws } from '../src/modules/audit/audit.service.js'

interface Checkpoint {
  sequence: number
  hash: string
  time: string
  kid: string
  jws: string
  publicJwk?: Record<string, string>
}

export async function verifyExport(exportFile: string, cp: Checkpoint, jwks?: { keys: Record<string, string>[] }) {
  const problems: string[] = []
  const key = jwks?.keys.find((k) => k.kid === cp.kid) ?? cp.publicJwk
  if (!key) problems.push(`no public key for kid ${cp.kid}`)
  else if (!verifyCheckpointJws(cp, key)) problems.push('the checkpoint signature does not verify')

  // Chained events in sequence order; the export is ordered by id, which can differ.
  const events: Record<string, unknown>[] = []
  const lines = createInterface({ input: createReadStream(exportFile), crlfDelay: Infinity })
  for await (const line of lines) {
    if (!line.trim()) continue
    const e = JSON.parse(line) as Record<string, unknown>
    if (e.sequence !== null && e.sequence !== undefined && Number(e.sequence) <= cp.sequence) events.push(e)
  }
  events.sort((a, b) => Number(a.sequence) - Number(b.sequence))
  let previous = GENESIS_HASH
  let firstInvalid: number | null = null
  let pruned = 0
  for (const [i, e] of events.entries()) {
    const seq = Number(e.sequence)
    const scheme = e.scheme === null || e.scheme === undefined ? 1 : Number(e.scheme)
    const hash = expectedHash(previous, seq, toCanonical(e), scheme, (e.payloadDigest as string | null | undefined) ?? null)
    if (seq !== i + 1 || e.previousHash !== previous || hash === null || e.hash !== hash) {
      firstInvalid = Math.min(seq, i + 1)
      break
    }
    previous = hash
    if (e.pruned === true) pruned += 1
  }
  if (firstInvalid !== null) problems.push(`the chain breaks at sequence ${firstInvalid}`)
  else if (events.length !== cp.sequence) problems.push(`the export holds ${events.length} chained events up to the checkpoint; it should hold ${cp.sequence}`)
  else if (previous !== cp.hash) problems.push('the chain head does not match the checkpoint hash')
  return { ok: problems.length === 0, checked: events.length, pruned, firstInvalid, problems }
}

async function main() {
  const { values } = parseArgs({ options: { export: { type: 'string' }, checkpoint: { type: 'string' }, jwks: { type: 'string' } } })
  if (!values.export || !values.checkpoint) {
    process.stderr.write('usage: npm run audit:verify -- --export FILE.ndjson --checkpoint CHECKPOINT.json [--jwks JWKS.json]\n')
    process.exit(2)
  }
  const raw = JSON.parse(readFileSync(values.checkpoint, 'utf8')) as Checkpoint | { items: Checkpoint[] }
  const cp = 'items' in raw ? raw.items[0] : raw
  if (!cp) throw new Error('the checkpoint file holds no checkpoint')
  const jwks = values.jwks ? (JSON.parse(readFileSync(values.jwks, 'utf8')) as { keys: Record<string, string>[] }) : undefined
  if (!jwks) {
    process.stderr.write(
      'warning: no --jwks given: the checkpoint is checked against the key it carries itself, which proves\n' +
        'nothing against a forger. Pass the JWKS you saved when the checkpoint was published.\n',
    )
  }
  const result = await verifyExport(values.export, cp, jwks)
  process.stdout.write(JSON.stringify({ ...result, checkpoint: { sequence: cp.sequence, hash: cp.hash, time: cp.time } }, null, 2) + '\n')
  process.exit(result.ok ? 0 : 1)
}

if (import.meta.url === `file://${process.argv[1]}`) await main()
