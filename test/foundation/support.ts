// Shared assertions for the foundation tests (not a test file: tap runs *.test.ts only).
import type tap from 'tap'
import type { LightMyRequestResponse } from 'fastify'
import { isProblem } from '../helper.js'

/** The Test object a t.test callback receives. */
export type Tap = Parameters<Parameters<typeof tap.test>[0]>[0]

// Anything that would tell a caller about our internals: stack frames, files, SQL, driver text.
export const INTERNALS =
  /\bat .+:\d+:\d+|node_modules|\.ts\b|\bSELECT\b|\bINSERT INTO\b|\bUPDATE "|\bDELETE FROM\b|\bdrizzle\b|\bpg_|duplicate key|violates|relation "|\bFastifyError\b|FST_ERR/

/**
 * An RFC 9457 problem with the given status, whose requestId is the x-request-id header, with
 * nothing internal in it; every field named in `fields` appears in errors[].name.
 */
export function problem(t: Tap, res: LightMyRequestResponse, status: number, fields: string[] = []) {
  const body = isProblem(t as unknown as Parameters<typeof isProblem>[0], res, status)
  t.equal(body.requestId, res.headers['x-request-id'], 'requestId is the x-request-id header')
  t.notMatch(res.body, INTERNALS, 'nothing internal in the body')
  t.notOk('stack' in body, 'no stack')
  const names = (body.errors ?? []).map((e) => e.name)
  for (const f of fields) t.ok(names.includes(f), `names ${f} (got ${names.join(', ') || 'none'})`)
  return body
}
