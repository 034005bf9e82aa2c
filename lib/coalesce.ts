// Coalescing: within a process, concurrent reads of one stored key share one read-through and one
// load. A flight is the shared work for a key; it leaves the table as soon as it settles (resolved or
// rejected), so a failed load is retried by the next caller and no entry outlives its work.
//
// invalidate/refresh retire the key's current flight: later callers start afresh, and the retired
// flight, still answering its own waiters, no longer writes to any cache (so an older load cannot
// land after an invalidation or a refresh).

export interface Flight {
  readonly promise: Promise<unknown>
  /** Set when retired: the flight must not write to caches any more. */
  stale: boolean
}

/** A flight settled from outside, by getAll, which resolves its keys in batches. */
export interface OpenFlight extends Flight {
  resolve(value: unknown): void
  reject(error: unknown): void
  readonly settled: boolean
}

function noop(): void {}

export class Flights {
  readonly #table = new Map<string, Flight>()

  /** The in-flight work for `key`, to join. */
  get(key: string): Flight | undefined {
    return this.#table.get(key)
  }

  get size(): number {
    return this.#table.size
  }

  /** Runs `work` as the flight for `key`; the entry goes when the work settles, however it settles. */
  lead<T>(key: string, work: (flight: Flight) => Promise<T>): Promise<T> {
    const flight: { promise: Promise<unknown>; stale: boolean } = { promise: Promise.resolve(), stale: false }
    this.#table.set(key, flight)
    const promise = this.#run(key, flight, work)
    flight.promise = promise
    return promise
  }

  /** A flight for `key` that the caller settles through `resolve`/`reject`. */
  open(key: string): OpenFlight {
    const table = this.#table
    let settle: ((value: unknown) => void) | undefined
    let fail: ((error: unknown) => void) | undefined
    const promise = new Promise<unknown>((resolve, reject) => {
      settle = resolve
      fail = reject
    })
    // Rejections reach whoever joined; an unjoined flight's rejection is getAll's own error.
    promise.catch(noop)
    const flight: OpenFlight = {
      promise,
      stale: false,
      settled: false,
      resolve(value) {
        if (flight.settled) return
        ;(flight as { settled: boolean }).settled = true
        if (table.get(key) === flight) table.delete(key)
        settle?.(value)
      },
      reject(error) {
        if (flight.settled) return
        ;(flight as { settled: boolean }).settled = true
        if (table.get(key) === flight) table.delete(key)
        fail?.(error)
      },
    }
    table.set(key, flight)
    return flight
  }

  /** Retires the current flight of `key` (see above). */
  retire(key: string): void {
    const flight = this.#table.get(key)
    if (flight === undefined) return
    flight.stale = true
    this.#table.delete(key)
  }

  async #run<T>(key: string, flight: Flight, work: (flight: Flight) => Promise<T>): Promise<T> {
    try {
      return await work(flight)
    } finally {
      if (this.#table.get(key) === flight) this.#table.delete(key)
    }
  }
}
