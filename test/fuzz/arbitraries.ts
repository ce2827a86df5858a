// fast-check arbitraries generated from the JSON Schemas of openapi.yaml: valid values, boundary
// values (lengths, ranges and item counts at their limits) and invalid ones (a wrong type, an
// unknown property, a missing required one, out of range, off the enum, arbitrary JSON).
import fc from 'fast-check'
import { deref, type JsonSchema } from '../faults/support.js'

// Large limits are capped so that a run stays cheap on two cores; the limits themselves are
// exercised in test/faults/resource-consumption.test.ts.
const MAX_ITEMS = 40
const MAX_STRING = 600

type Arb = fc.Arbitrary<unknown>

const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined)

function types(s: JsonSchema): string[] {
  if (Array.isArray(s.type)) return s.type as string[]
  if (typeof s.type === 'string') return [s.type]
  if (s.properties) return ['object']
  if (s.items) return ['array']
  if (s.enum) return []
  return []
}

function stringArb(s: JsonSchema, boundary: boolean): Arb {
  const min = num(s.minLength) ?? 0
  const max = Math.min(num(s.maxLength) ?? Math.max(min + 40, 40), MAX_STRING)
  const format = s.format as string | undefined
  if (format === 'uuid') return fc.uuid({ version: 4 })
  if (format === 'date-time') {
    return fc.date({ min: new Date('1971-01-01T00:00:00Z'), max: new Date('2099-12-31T23:59:59Z'), noInvalidDate: true }).map((d) => d.toISOString())
  }
  if (format === 'email') return fc.constantFrom('desk@example.org', 'a.b+c@customs.example', 'x@y.example', 'ops-24@post.example')
  if (typeof s.pattern === 'string') {
    try {
      const re = new RegExp(s.pattern as string)
      return fc.stringMatching(re, { size: 'small' }).filter((v) => v.length >= min && v.length <= (num(s.maxLength) ?? Infinity))
    } catch {
      /* a pattern fast-check cannot read: fall through */
    }
  }
  if (boundary) {
    const lengths = [...new Set([min, max, Math.max(min, 1)])]
    return fc
      .constantFrom(...lengths)
      .chain((n) => fc.string({ minLength: n, maxLength: n, unit: fc.constantFrom('a', 'Z', '9', 'é', '€', '𝕏', ' ', "'", '"', '\\') }))
  }
  return fc.string({ minLength: min, maxLength: Math.min(max, min + 40), unit: 'grapheme' })
}

function numberArb(s: JsonSchema, integer: boolean, boundary: boolean): Arb {
  const lo = num(s.minimum) ?? (num(s.exclusiveMinimum) !== undefined ? (num(s.exclusiveMinimum) as number) + 1 : -1_000_000)
  const hi = num(s.maximum) ?? (num(s.exclusiveMaximum) !== undefined ? (num(s.exclusiveMaximum) as number) - 1 : 1_000_000)
  const min = Math.max(lo, -Number.MAX_SAFE_INTEGER)
  const max = Math.min(hi, Number.MAX_SAFE_INTEGER)
  if (boundary) return fc.constantFrom(min, max, Math.min(max, min + 1))
  return integer ? fc.integer({ min, max }) : fc.double({ min, max, noNaN: true, noDefaultInfinity: true })
}

/** A value valid for the schema (boundary: at its limits). */
export function valid(schema: JsonSchema | undefined, boundary = false, depth = 0): Arb {
  const s = deref(schema)
  if (depth > 8) return fc.constant(null)
  if (s.const !== undefined) return fc.constant(s.const)
  if (Array.isArray(s.enum)) return fc.constantFrom(...(s.enum as unknown[]))
  const alternatives = (s.anyOf ?? s.oneOf) as JsonSchema[] | undefined
  if (alternatives?.length) return fc.oneof(...alternatives.map((a) => valid(a, boundary, depth + 1)))
  const ts = types(s)
  if (ts.length > 1) return fc.oneof(...ts.map((t) => valid({ ...s, type: t }, boundary, depth)))
  switch (ts[0]) {
    case 'null':
      return fc.constant(null)
    case 'boolean':
      return fc.boolean()
    case 'integer':
      return numberArb(s, true, boundary)
    case 'number':
      return numberArb(s, false, boundary)
    case 'string':
      return stringArb(s, boundary)
    case 'array': {
      const min = num(s.minItems) ?? 0
      const max = Math.min(num(s.maxItems) ?? min + 5, MAX_ITEMS, min + (boundary ? MAX_ITEMS : 5))
      const item = valid(s.items as JsonSchema, boundary, depth + 1)
      const items = (s.items ? deref(s.items as JsonSchema) : {}) as JsonSchema
      if (Array.isArray(items.enum) || s.uniqueItems) {
        const n = Math.min(max, Array.isArray(items.enum) ? items.enum.length : max)
        return fc.uniqueArray(item, { minLength: Math.min(min, n), maxLength: boundary ? n : Math.min(n, min + 3), selector: (v) => JSON.stringify(v) })
      }
      if (boundary) return fc.constantFrom(min, max).chain((n) => fc.array(item, { minLength: n, maxLength: n }))
      return fc.array(item, { minLength: min, maxLength: max })
    }
    case 'object': {
      const props = (s.properties ?? {}) as Record<string, JsonSchema>
      const required = (s.required ?? []) as string[]
      if (Object.keys(props).length === 0) return fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 })
      const model = Object.fromEntries(Object.entries(props).map(([k, v]) => [k, valid(v, boundary, depth + 1)]))
      return fc.record(model, { requiredKeys: required })
    }
    default:
      return fc.jsonValue({ maxDepth: 3 })
  }
}

/** A value the schema refuses: derived from a valid one, or foreign. */
export function invalid(schema: JsonSchema | undefined): Arb {
  const s = deref(schema)
  const ts = types(s)
  const base = valid(s)
  const options: Arb[] = [
    // A value of the wrong type altogether.
    fc
      .oneof(fc.constant(null), fc.boolean(), fc.integer(), fc.string({ maxLength: 20 }), fc.array(fc.integer(), { maxLength: 3 }), fc.constant({}))
      .filter(
        (v) =>
          !ts.includes(v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v === 'number' ? 'integer' : typeof v) &&
          !(ts.includes('number') && typeof v === 'number'),
      ),
    fc.jsonValue({ maxDepth: 4 }),
  ]
  if (Array.isArray(s.enum)) options.push(fc.string({ maxLength: 30 }).filter((v) => !(s.enum as unknown[]).includes(v)))
  if (ts.includes('string')) {
    if (num(s.maxLength) !== undefined) options.push(fc.constant('x'.repeat((num(s.maxLength) as number) + 1)))
    if ((num(s.minLength) ?? 0) > 0) options.push(fc.constant(''))
    if (s.format === 'uuid' || s.format === 'date-time' || s.pattern)
      options.push(fc.constantFrom('not-a-uuid', '2026-13-45T99:99:99Z', "'; DROP TABLE x; --", '0000-01-01T00:00:00Z', 'ÿ'.repeat(8)))
  }
  if (ts.includes('integer') || ts.includes('number')) {
    if (num(s.minimum) !== undefined) options.push(fc.constant((num(s.minimum) as number) - 1))
    if (num(s.maximum) !== undefined) options.push(fc.constant((num(s.maximum) as number) + 1))
    options.push(fc.constantFrom(1.5, -0.5, 1e308, -1e308))
  }
  if (ts.includes('array') && num(s.maxItems) !== undefined && (num(s.maxItems) as number) <= MAX_ITEMS) {
    options.push(fc.array(valid(s.items as JsonSchema), { minLength: (num(s.maxItems) as number) + 1, maxLength: (num(s.maxItems) as number) + 1 }))
  }
  if (ts.includes('object') && s.properties) {
    const required = (s.required ?? []) as string[]
    // An unknown, privileged-sounding property.
    options.push(
      base.chain((v) =>
        fc
          .constantFrom('organisationId', 'status', 'version', 'roles', 'createdAt', 'normalizedValue', 'isAdmin', '__proto__x')
          .map((k) => ({ ...(v as object), [k]: k === 'roles' ? ['platform_admin'] : 'forged' })),
      ),
    )
    // A required property missing.
    if (required.length)
      options.push(base.chain((v) => fc.constantFrom(...required).map((k) => Object.fromEntries(Object.entries(v as object).filter(([key]) => key !== k)))))
    // One property replaced by an invalid value of its own.
    const props = Object.keys(s.properties as object)
    options.push(
      base.chain((v) =>
        fc.constantFrom(...props).chain((k) => invalid((s.properties as Record<string, JsonSchema>)[k]).map((bad) => ({ ...(v as object), [k]: bad }))),
      ),
    )
  }
  return fc.oneof(...options)
}
