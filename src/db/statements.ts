// Statements built once per process. Drizzle's query builder turns columns, conditions and the
// visibility rule into SQL text on every call — a quarter of a by-id read's CPU. A hot statement
// is built the first time with placeholders, kept, and run on whatever transaction the request
// has: the kept query is bound to the transaction's client for that one execution.
import type { Queryable } from './client.js'

interface PreparedLike {
  execute(values?: Record<string, unknown>): Promise<unknown>
}

/**
 * A statement built once. `build` receives the first caller's transaction (a builder needs a
 * session) and returns the query with sql.placeholder() where values go; `name` is its
 * server-side prepared-statement name where the driver uses one.
 */
export function builtOnce<R>(name: string, build: (q: Queryable) => { prepare(name: string): PreparedLike }) {
  let prepared: PreparedLike | undefined
  return async (q: Queryable, values: Record<string, unknown> = {}): Promise<R> => {
    prepared ??= build(q).prepare(name)
    const client = (q as unknown as { session: { client: unknown } }).session.client
    const bound = Object.create(prepared, { client: { value: client } }) as PreparedLike
    return (await bound.execute(values)) as R
  }
}
