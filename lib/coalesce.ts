// Coalescing: within a process, concurrent reads of one stored key share one read-through and one
// load. A flight is the shared work for a key; it leaves the table as soon as it is settled (resolved
// or rejected), so a failed load is retried by the next caller and no entry outlives its work.
//
// invalidate/refresh retire the key's current flight: later callers start afresh, and the retired
// flight, still answering its own waiters, no longer writes to any cache (so an older load cannot
// land after an invalidation or a refresh). An invalidate also holds the key until its removals are
// done: a read starting meanwhile could find the remote copy that is about to go and fill it back
// into the local tier after the local delete, so flights opened during a hold are born retired and
// outside the table (they answer their caller and write nothing).
//
// Cost: nearly every flight ends with nobody having joined it (the keys in flight at once are
// usually distinct), so a flight is one small object in the table and nothing else. Its promise is
// made only when a caller joins. That matters most to getAll, which opens a flight per key of every
// batch it reads from a remote tier: with an eager promise per key (plus its resolvers and a guard
// against unhandled rejections), the bookkeeping of a batch would cost more than decoding it.
//
// Early answers. A node with stale options may answer a flight's joiners before its work ends (a
// stale value while the key reloads, or after a soft timeout): `answer` settles the joiners' promise,
// current and later joiners get that value, and the flight stays in the table until its work ends.
// So no second load of the key starts meanwhile, and invalidate/refresh can still retire it (its late
// write then writes nothing, as for any retired flight).
//
// Garbage. The table churns (a flight per remote read), so it is a YoungMap (young-map.ts), and a
// settled flight lets go of its value, joiners' promise, owner and key (joiners take their promise
// while it is pending), so that what an old store does keep alive is small.

import { YoungMap } from './young-map'

interface Joiners {
  readonly promise: Promise<unknown>
  resolve(value: unknown): void
  reject(error: unknown): void
}

/** The in-flight work for one key: joined through `promise`, settled by whoever opened it. */
export class Flight {
  #retired = false
  readonly #flights: Flights
  #key: string
  #pending = true
  #answered = false
  /** The joiners' promise and its settlers, made by the first caller that joins. */
  #joined: Joiners | undefined

  /** Who opened the flight (see Flights.open), so that a batch naming a key twice knows it leads it. */
  owner: unknown
  /** The owner's index for this flight (a batch: the position of the node that opened it). */
  readonly ownerIndex: number

  constructor(flights: Flights, key: string, owner: unknown, ownerIndex: number) {
    this.#flights = flights
    this.#key = key
    this.owner = owner
    this.ownerIndex = ownerIndex
  }

  /** What the flight settles to, for a caller that joins it: taken while the flight is pending. */
  get promise(): Promise<unknown> {
    if (!this.#pending) throw new Error('cacheme internal error: a settled flight was joined')
    if (this.#joined === undefined) {
      let resolve: (value: unknown) => void = noop
      let reject: (error: unknown) => void = noop
      const promise = new Promise<unknown>((res, rej) => {
        resolve = res
        reject = rej
      })
      this.#joined = { promise, resolve, reject }
    }
    return this.#joined.promise
  }

  /** Retired: the flight must not write to caches any more. */
  get retired(): boolean {
    return this.#retired
  }

  /** Answered early (see the top of the file), or settled. */
  get answered(): boolean {
    return this.#answered || !this.#pending
  }

  /**
   * Answers the joiners, current and later, with `value` while the flight's work goes on; its own
   * resolve or reject later only takes it out of the table. Ignored once answered or settled.
   */
  answer(value: unknown): void {
    if (!this.#pending || this.#answered) return
    this.#answered = true
    if (this.#joined === undefined)
      this.#joined = { promise: Promise.resolve(value), resolve: noop, reject: noop }
    else this.#joined.resolve(value)
  }

  /** Answers every joiner with `value` and leaves the table; later calls are ignored. */
  resolve(value: unknown): void {
    if (!this.#pending) return
    const joined = this.#settle()
    joined?.resolve(value)
  }

  /** Fails every joiner with `error` and leaves the table; later calls are ignored. */
  reject(error: unknown): void {
    if (!this.#pending) return
    const joined = this.#settle()
    joined?.reject(error)
  }

  /** Leaves the table and lets go of everything (see the top of the file); returns the joiners. */
  #settle(): Joiners | undefined {
    this.#pending = false
    // A pending flight that is not retired is its key's entry: only retire() removes one early (and
    // marks it retired), and a key gets a new flight only when it has none. So one delete, no lookup.
    if (!this.#retired) this.#flights.delete(this.#key)
    const joined = this.#joined
    this.#joined = undefined
    this.owner = undefined
    this.#key = ''
    return joined
  }

  /** Takes the flight out of the table for good; it still settles for its own waiters. */
  retire(): void {
    if (this.#retired) return
    this.#retired = true
    if (this.#pending) this.#flights.delete(this.#key)
  }
}

function noop(): void {}

export class Flights {
  readonly #table = new YoungMap<string, Flight>()
  /** Keys held by invalidations in progress, with how many hold each. */
  readonly #held = new Map<string, number>()

  /** The in-flight work for `key`, to join. */
  get(key: string): Flight | undefined {
    return this.#table.get(key)
  }

  get size(): number {
    return this.#table.size
  }

  /**
   * A new flight for `key`, which the caller must settle (resolve or reject) however its work ends:
   * concurrent callers of the key join it until then.
   */
  open(key: string, owner?: unknown, ownerIndex = -1): Flight {
    const flight = new Flight(this, key, owner, ownerIndex)
    if (this.#held.size !== 0 && this.#held.has(key)) flight.retire()
    else this.#table.set(key, flight)
    return flight
  }

  /**
   * Retires `key`'s current flight, and every flight opened for it until `release()` is called:
   * they write to no cache (see the top of the file). Holds of one key nest.
   */
  hold(key: string): { release(): void } {
    this.retire(key)
    this.#held.set(key, (this.#held.get(key) ?? 0) + 1)
    let held = true
    return {
      release: () => {
        if (!held) return
        held = false
        const count = (this.#held.get(key) ?? 1) - 1
        if (count === 0) this.#held.delete(key)
        else this.#held.set(key, count)
      },
    }
  }

  /** Removes `key`'s entry (its flight settled or retired). */
  delete(key: string): void {
    this.#table.delete(key)
  }

  /** Retires the current flight of `key` (see above). */
  retire(key: string): void {
    this.#table.get(key)?.retire()
  }

  /** Retires every current flight: what they read may predate a change this process missed. */
  retireAll(): void {
    for (const flight of [...this.#table.values()]) flight.retire()
  }
}
