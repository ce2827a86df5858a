// A request's deadline (issue 11): the time by which its work must have committed, or not at all.
// Set in the first hook (app.ts: start + DCX_REQUEST_TIMEOUT_MS). The transaction helper
// (access/visibility.ts withActor) checks it on entry and right before COMMIT, and on PostgreSQL
// before every statement it sends (db/pipeline.ts); past it, the transaction rolls back and the
// client gets a 503 problem+json with Retry-After. Nothing commits after the deadline, so a client
// that got no answer (or the 503) may retry — with the same Idempotency-Key, since the key's row
// rolled back with the work. The server's own socket timeouts are longer than the deadline plus
// what may still run after it (serverTimeoutMs), so the server answers before it would cut the
// connection.
import { AppError } from './errors.js'

export const DEADLINE_RETRY_AFTER_SECONDS = 5
/** The most a statement may run (SET LOCAL statement_timeout), whatever time is left. */
export const MAX_STATEMENT_MS = 30_000
/** Time allowed after the last statement's end for COMMIT or ROLLBACK and the response itself. */
const ANSWER_MARGIN_MS = 5_000

/** The deadline error: the request's work was rolled back (or never started). A 503, retryable. */
export class DeadlineExceeded extends AppError {
  constructor() {
    super(
      'timeout',
      `The request did not complete within its time limit; nothing of it was committed. Retry in ${DEADLINE_RETRY_AFTER_SECONDS} s.`,
      undefined,
      { 'retry-after': String(DEADLINE_RETRY_AFTER_SECONDS) },
    )
    this.name = 'DeadlineExceeded'
  }
}

/** A point in monotonic time (performance.now()), immune to wall-clock steps. */
export class Deadline {
  private constructor(readonly at: number) {}

  /** The deadline ms from now. */
  static after(ms: number): Deadline {
    return new Deadline(performance.now() + ms)
  }

  /** Milliseconds left; zero or less once passed. */
  remaining(): number {
    return this.at - performance.now()
  }

  passed(): boolean {
    return this.remaining() <= 0
  }

  /** Throws DeadlineExceeded once the deadline has passed. */
  check(): void {
    if (this.passed()) throw new DeadlineExceeded()
  }

  /**
   * The statement_timeout for a transaction opened now: the time left, at most MAX_STATEMENT_MS,
   * at least 1 ms (0 would mean no limit).
   */
  statementTimeoutMs(): number {
    return Math.max(1, Math.min(MAX_STATEMENT_MS, Math.ceil(this.remaining())))
  }
}

/**
 * The server's own socket and request timeouts for a deadline of deadlineMs: the deadline, plus
 * the longest a statement that began just before it may still run (its statement_timeout was the
 * time left when the transaction opened, at most MAX_STATEMENT_MS), plus a margin for COMMIT or
 * ROLLBACK and the response. Graceful shutdown waits this long for a request in flight.
 */
export function serverTimeoutMs(deadlineMs: number): number {
  return deadlineMs + Math.min(deadlineMs, MAX_STATEMENT_MS) + ANSWER_MARGIN_MS
}

/**
 * Node's limits on receiving a request (its headers, its body: requestTimeout, headersTimeout)
 * for a deadline of deadlineMs. No handler runs before the request is received, so nothing can
 * commit while these run; they only have to outlast the deadline — a body that arrives late is
 * answered by the deadline check (503) — and stay short for a client that drips bytes.
 */
export function receiveTimeoutMs(deadlineMs: number): number {
  return deadlineMs + ANSWER_MARGIN_MS
}

/** The DeadlineExceeded in err or its cause chain (drizzle wraps what a query throws in DrizzleQueryError). */
export function deadlineIn(err: unknown): DeadlineExceeded | undefined {
  for (let e = err, i = 0; e && i < 5; e = (e as { cause?: unknown }).cause, i++) if (e instanceof DeadlineExceeded) return e
  return undefined
}
