/**
 * A counting semaphore, first come first served: acquire() resolves with a release function once
 * one of `limit` slots is free. Release is idempotent, so every path that may end a holder's work
 * can call it.
 */
export class Semaphore {
  private active = 0
  private readonly waiting: (() => void)[] = []

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError('a semaphore needs at least one slot')
  }

  /** Holders now, and callers waiting for a slot. */
  get state() {
    return { active: this.active, waiting: this.waiting.length }
  }

  async acquire(): Promise<() => void> {
    if (this.active < this.limit) this.active++
    // The releasing holder hands its slot straight over: the count stays as it is.
    else await new Promise<void>((resolve) => this.waiting.push(resolve))
    let released = false
    return () => {
      if (released) return
      released = true
      const next = this.waiting.shift()
      if (next) next()
      else this.active--
    }
  }
}
