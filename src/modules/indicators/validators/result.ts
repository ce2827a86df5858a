/**
 * Result shapes shared by every validator. They live here (not in normalize.ts)
 * so the per-type helpers do not import the public entry point, which would
 * create an import cycle; normalize.ts re-exports the two public types.
 */

export type Normalized = { ok: true; normalizedValue: string; network?: string }
export type Invalid = { ok: false; reason: string }
export type Result = Normalized | Invalid

/** `network` is only set when known, so results compare cleanly with strict deep-equality. */
export function ok(normalizedValue: string, network?: string): Normalized {
  return network === undefined ? { ok: true, normalizedValue } : { ok: true, normalizedValue, network }
}

export function fail(reason: string): Invalid {
  return { ok: false, reason }
}
