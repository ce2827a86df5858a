/**
 * Oblivious screening figures (npx tsx bench/screening.ts): the server's evaluate + batch proof
 * of 10,000 elements on the libsodium fast path and on noble, tag precompute per 100k holdings,
 * the client's finalize, and the digest's size for 100k holdings. One core, about 25 s.
 *
 * The noble figures are measured on NOBLE_N elements and scaled linearly to 10,000 (running
 * noble on the full batch would take most of a minute); noble's composite is a Pippenger sum,
 * slightly better than linear, so the scaled figure is a little pessimistic.
 */
import { randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { gzipSync } from 'node:zlib'
import sodium from 'libsodium-wrappers-sumo'
import { loadFastOprf } from '../src/screening/fast.js'
import { blind, blindEvaluate, finalize, generateKeyPair, oprfInput } from '../src/screening/oprf.js'
import { encodeDigest, TAG_BYTES, tagOf, toBase64url } from '../src/screening/wire.js'
import { buildTestApp, orgWith } from '../test/helper.js'

const N = 10_000
const NOBLE_N = Number(process.env.NOBLE_N ?? 500)

function measure<T>(fn: () => T): { value: T; wall: number; cpu: number } {
  const c0 = process.cpuUsage()
  const t0 = performance.now()
  const value = fn()
  const wall = (performance.now() - t0) / 1000
  const c = process.cpuUsage(c0)
  return { value, wall, cpu: (c.user + c.system) / 1e6 }
}

const s = (x: number) => `${x.toFixed(2)} s`
const line = (label: string, m: { wall: number; cpu: number }, scale = 1, note = '') =>
  console.log(`${label.padEnd(52)} wall ${s(m.wall * scale).padStart(9)}  cpu ${s(m.cpu * scale).padStart(9)}${note}`)

const t0 = performance.now()
const fast = await loadFastOprf()
console.log(`libsodium init (WebAssembly, once per process): ${(performance.now() - t0).toFixed(1)} ms`)
const rss0 = process.memoryUsage().rss

const keys = generateKeyPair()
// Blinded elements are uniformly random group elements: random ones stand in for a client's batch.
const elements = Array.from({ length: N }, () => sodium.crypto_core_ristretto255_random())

const fastEval = measure(() => fast.blindEvaluate(keys, elements))
line(`fast   evaluate + proof, ${N} elements`, fastEval)
const noble = measure(() => blindEvaluate(keys.secretKey, keys.publicKey, elements.slice(0, NOBLE_N)))
line(`noble  evaluate + proof, ${N} elements`, noble, N / NOBLE_N, `  (measured on ${NOBLE_N}, scaled)`)

const inputs = Array.from({ length: N }, (_, i) => oprfInput('email', `holder${i}@example.org`))
const tags = measure(() => inputs.map((input) => tagOf(fast.evaluate(keys.secretKey, input))))
line(`fast   tag precompute, per 100,000 holdings`, tags, 10, `  (measured on ${N}, ×10)`)

const clientBlind = measure(() => inputs.slice(0, NOBLE_N).map((input) => blind(input)))
const states = clientBlind.value
line(`client blind (noble), ${N} values`, clientBlind, N / NOBLE_N, `  (measured on ${NOBLE_N}, scaled)`)
const answer = fast.blindEvaluate(
  keys,
  states.map((st) => st.blinded),
)
const clientFinal = measure(() => finalize(states, answer.evaluated, keys.publicKey, answer.proof))
line(`client verify + finalize (noble), ${N} values`, clientFinal, N / NOBLE_N, `  (measured on ${NOBLE_N}, scaled)`)
const rss1 = process.memoryUsage().rss

const H = 100_000
const digest = encodeDigest(
  1,
  'email',
  Array.from({ length: H }, () => new Uint8Array(randomBytes(TAG_BYTES))),
)
const json = Buffer.from(JSON.stringify(digest))
const kB = (n: number) => `${(n / 1000).toFixed(0)} kB`
console.log(`digest, ${H} holdings: raw ${kB(H * TAG_BYTES)}; JSON base64url array ${kB(json.length)}; same gzipped ${kB(gzipSync(json).length)}`)
console.log(`rss ${Math.round(rss0 / 1e6)} MB after init, ${Math.round(rss1 / 1e6)} MB after the batches`)

// The same batch through the API (embedded database, in this process): JSON parse, strict decoding,
// the group check, the quota statement and the audit event around the evaluation.
const closers: (() => unknown)[] = []
const app = await buildTestApp({ teardown: (fn) => closers.push(fn) }, { DCX_SCREENING_DAILY_QUOTA: '1000000' })
const { reader } = await orgWith(app, ['reader'], { sector: 'postal' })
const epoch = (await app.screening.keys.current()).epoch
const payload = JSON.stringify({ epoch, type: 'email', elements: elements.map((e) => toBase64url(e)) })
const c0 = process.cpuUsage()
const w0 = performance.now()
const res = await app.inject({
  method: 'POST',
  url: '/v1/screening/evaluate',
  headers: { authorization: `Bearer ${reader.token}`, 'content-type': 'application/json' },
  payload,
})
const httpEval = { wall: (performance.now() - w0) / 1000, cpu: ((u) => (u.user + u.system) / 1e6)(process.cpuUsage(c0)) }
if (res.statusCode !== 200) throw new Error(`POST /v1/screening/evaluate: ${res.statusCode} ${res.body.slice(0, 300)}`)
line(`POST /v1/screening/evaluate, ${N} elements (${(payload.length / 1000).toFixed(0)} kB)`, httpEval)
for (const close of closers) await close()

// npm run bench (bench/run.ts) runs this file with --json <file> and reports the targets: evaluate
// + proof of 10,000 elements ≤ 3 s of one core; the digest of 100k holdings ≤ 1 MB as served
// (Accept: application/octet-stream, 8 bytes a tag; the JSON form gzipped alongside).
const jsonAt = process.argv.indexOf('--json')
const jsonFile = jsonAt > 0 ? process.argv[jsonAt + 1] : undefined
if (jsonFile) {
  writeFileSync(
    jsonFile,
    JSON.stringify({
      evaluate: { elements: N, cpuS: fastEval.cpu, wallS: fastEval.wall, httpCpuS: httpEval.cpu, httpWallS: httpEval.wall },
      digest: { holdings: H, rawBytes: H * TAG_BYTES, jsonBytes: json.length, jsonGzipBytes: gzipSync(json).length },
    }),
  )
}
