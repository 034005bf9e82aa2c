// A time bound on every call to a remote storage, so that a dead or stalled server slows a request by
// at most `timeout` per tier instead of hanging it (the framework then reads the tier as a miss, or
// absorbs the failed write, like any other storage error).
//
// Drivers have timeouts of their own, but each means something else (a Redis client queues commands
// while it reconnects, pg waits for a pool connection, then for the query…), and SQLite has none. One
// wrapper gives every backend the same bound. It does not use a setTimeout per call: every call of a
// storage gets the same timeout, so deadlines fall due in the order calls start. A FIFO queue and
// one timer, armed for the oldest pending call, cost a push per call instead of a timer allocation
// and a clearTimeout on every round trip.
//
// A call's time starts when the event-loop turn that issued it ends, not when it was issued: until
// then the process itself keeps the call from the server (drivers such as node-redis write a turn's
// commands only after it, and no answer can be read before), so a burst of 100k requests issued in
// one long synchronous stretch must not spend its storage's timeout before the first byte leaves.
// One setImmediate per turn that issued calls stamps their deadlines.
//
// A storage that lets a call time out without answering any other call meanwhile is probably not
// answering at all (frozen, partitioned): for the next `timeout` ms its calls are refused at once (a
// circuit breaker), so that every request does not wait out the full timeout. Then one call goes
// through as a probe; if it answers in time, calls flow again, if not, the refusal starts over.
// A storage that times calls out while it answers others is alive but behind (a burst queued on one
// connection): refusing its calls would only send their reads to the loader, the herd a cache is
// there to stop, so that does not trip it. Nor do errors that come back fast (connection refused): they cost no waiting.
// Nor does a timeout judged late because the process itself was busy (see #starved): a saturated
// event loop is not a dead server, and refusing would send every read to the loaders.

import { CachemeError, StorageError } from '../errors'
import { channels, trace, traced } from '../telemetry/channels'
import type { RemoteEntry, RemoteStorage } from './remote'
import { failure } from './shared'

interface Pending {
  /** Infinity until the turn that issued the call ends (see #stamp). */
  deadline: number
  readonly operation: string
  /**
   * Rejects the caller's promise; dropped once the call settles, so that the settled entries the
   * queue keeps until it compacts them (up to COMPACT_AFTER) do not keep their calls' results alive.
   */
  reject: ((error: StorageError) => void) | undefined
  /** How many calls had answered when this one started (see the circuit breaker above). */
  readonly answeredBefore: number
  settled: boolean
  /** The one call let through to test a storage that timed out. */
  readonly probe: boolean
}

/** Past this many settled entries at the head, the queue array is compacted. */
const COMPACT_AFTER = 1024

export class Deadlines {
  readonly #timeoutMs: number
  /** Names the storage in timeout messages. */
  readonly #what: string
  /** The registered storage name, as traces and metrics label it. */
  readonly #name: string
  #queue: Pending[] = []
  #head = 0
  #timer: NodeJS.Timeout | undefined = undefined
  /** Until when (performance.now()) calls are refused after a timeout; 0 when calls flow. */
  #refuseUntil = 0
  /** A probe is in flight: other calls are refused until it answers or times out. */
  #probing = false
  /** Answers from the storage, ever, in time or not. */
  #answered = 0
  /** Calls at the queue's tail issued in the current turn, whose deadlines are not stamped yet. */
  #unstamped = 0
  #stampScheduled = false
  /** A user's adapter (see withTimeout): its errors are wrapped, and the timer keeps the process alive. */
  readonly #userAdapter: boolean

  constructor(what: string, name: string, timeoutMs: number, userAdapter = false) {
    this.#what = what
    this.#name = name
    this.#timeoutMs = timeoutMs
    this.#userAdapter = userAdapter
  }

  /** What `start()` resolves to, or a CACHEME_TIMEOUT StorageError once the timeout has passed. */
  run<T>(operation: string, start: () => Promise<T>): Promise<T> {
    if (!traced(channels.storage)) return this.#run(operation, start)
    const context = { operation: 'storage', storage: this.#name, call: operation } as const
    return trace(channels.storage, context, () => this.#run(operation, start))
  }

  #run<T>(operation: string, start: () => Promise<T>): Promise<T> {
    let probe = false
    if (this.#refuseUntil !== 0) {
      if (performance.now() < this.#refuseUntil || this.#probing)
        return Promise.reject(this.#refusal(operation))
      this.#probing = true
      probe = true
    }
    return new Promise<T>((resolve, reject) => {
      const pending: Pending = {
        deadline: Number.POSITIVE_INFINITY,
        operation,
        reject,
        settled: false,
        probe,
        answeredBefore: this.#answered,
      }
      this.#dropSettledHead()
      this.#queue.push(pending)
      this.#unstamped++
      if (!this.#stampScheduled) {
        this.#stampScheduled = true
        setImmediate(this.#stamp)
      }
      let call: Promise<T>
      try {
        call = start()
      } catch (error) {
        call = Promise.reject(error)
      }
      // A call that outlives its deadline still settles later; these handlers absorb that outcome,
      // so a late rejection is never an unhandled one.
      call.then(
        (value) => {
          this.#answer(pending)
          resolve(value)
        },
        (error: unknown) => {
          this.#answer(pending)
          reject(this.#userAdapter ? this.#asStorageError(operation, error) : error)
        },
      )
    })
  }

  /**
   * The storage answered `pending`. Any answer counts as a sign of life, even one that comes after
   * its call timed out: a server working through a backlog is behind, not down.
   */
  #answer(pending: Pending): void {
    this.#answered++
    if (pending.settled) return
    pending.settled = true
    pending.reject = undefined
    if (pending.probe) {
      this.#refuseUntil = 0
      this.#probing = false
    }
  }

  #asStorageError(operation: string, error: unknown): unknown {
    return error instanceof CachemeError ? error : failure(this.#what, operation, error)
  }

  #refusal(operation: string): StorageError {
    return new StorageError(
      'CACHEME_TIMEOUT',
      `${this.#what}: ${operation} refused without trying: a call timed out within the last ${this.#timeoutMs} ms`,
    )
  }

  /** Calls the queue still holds: every unsettled one, plus settled ones not yet dropped. */
  get queued(): number {
    return this.#queue.length - this.#head
  }

  /** Rejects every call not yet answered with a StorageError of `code`. */
  rejectPending(code: 'CACHEME_CLOSED', reason: string): void {
    const queue = this.#queue
    for (let i = this.#head; i < queue.length; i++) {
      const pending = queue[i] as Pending
      if (pending.settled) continue
      const reject = pending.reject
      pending.settled = true
      pending.reject = undefined
      reject?.(new StorageError(code, `${this.#what}: ${pending.operation}: ${reason}`))
    }
  }

  /** Stops the timer; calls still pending settle with their storage's own outcome. */
  dispose(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
    this.#queue = []
    this.#head = 0
    this.#unstamped = 0
  }

  /** The turn that issued the unstamped calls has ended: their time starts now. */
  readonly #stamp = (): void => {
    this.#stampScheduled = false
    const queue = this.#queue
    const deadline = performance.now() + this.#timeoutMs
    for (let i = Math.max(this.#head, queue.length - this.#unstamped); i < queue.length; i++) {
      ;(queue[i] as Pending).deadline = deadline
    }
    this.#unstamped = 0
    if (this.#timer === undefined && this.#head < queue.length) this.#arm(this.#timeoutMs)
  }

  #arm(delayMs: number): void {
    // unref: a built-in adapter's pending call keeps the process alive through its socket or worker,
    // not through this. A user's adapter may hold no handle while a call hangs: there the timer keeps
    // the process alive until the call answers or times out, so that its caller always hears back.
    const timer = setTimeout(this.#expireAfterPoll, Math.max(1, Math.ceil(delayMs)))
    this.#timer = this.#userAdapter ? timer : timer.unref()
  }

  // Timers run before the event loop polls for I/O. After a long synchronous stretch (a burst of
  // answers whose continuations issue more work) answers can be waiting, unread, in the sockets when
  // a deadline falls due: judged then, the storage would look silent and trip the breaker. So the
  // verdict waits for the next check phase (setImmediate), after one poll has read what had arrived.
  // Not unref'ed: Node does not keep the poll from blocking for an unref'ed immediate, so on a
  // frozen server (a socket that never speaks) the verdict would wait for some other timer.
  readonly #expireAfterPoll = (): void => {
    setImmediate(this.#expire)
  }

  readonly #expire = (): void => {
    this.#timer = undefined
    const now = performance.now()
    const queue = this.#queue
    let head = this.#head
    for (; head < queue.length; head++) {
      const pending = queue[head] as Pending
      if (pending.settled) continue
      if (pending.deadline > now) break
      const reject = pending.reject
      pending.settled = true
      pending.reject = undefined
      if (this.#answered === pending.answeredBefore && !this.#starved(pending, now)) {
        this.#refuseUntil = now + this.#timeoutMs
      } else if (pending.probe) {
        // The probe went unanswered while the server answered others (or the process was too busy
        // to tell): behind, not down, so calls flow again.
        this.#refuseUntil = 0
      }
      if (pending.probe) this.#probing = false
      reject?.(
        new StorageError(
          'CACHEME_TIMEOUT',
          `${this.#what}: ${pending.operation} got no answer within ${this.#timeoutMs} ms`,
        ),
      )
    }
    this.#head = head
    this.#compact()
    // The next deadline, once stamped; unstamped calls arm the timer when their turn ends.
    const next = (queue[this.#head] as Pending | undefined)?.deadline ?? Number.POSITIVE_INFINITY
    if (Number.isFinite(next)) this.#arm(next - now)
  }

  /**
   * The verdict on `pending` comes half a timeout or more after its deadline: the process itself
   * kept the event loop busy (a saturated burst), so the silence says nothing about the server and
   * must not trip the breaker. A frozen server behind an idle process is judged on time.
   */
  #starved(pending: Pending, now: number): boolean {
    return now - pending.deadline >= this.#timeoutMs / 2
  }

  /** Most calls end long before their deadline: drop them from the head as new ones come in. */
  #dropSettledHead(): void {
    const queue = this.#queue
    let head = this.#head
    while (head < queue.length && (queue[head] as Pending).settled) head++
    this.#head = head
    this.#compact()
  }

  #compact(): void {
    const queue = this.#queue
    if (this.#head === queue.length) {
      queue.length = 0
      this.#head = 0
    } else if (this.#head > COMPACT_AFTER && this.#head * 2 > queue.length) {
      queue.splice(0, this.#head)
      this.#head = 0
    }
  }
}

/**
 * `adapter` with every data call bounded by `timeoutMs`; `what` names the storage in errors, `name`
 * (its registered name) in traces. For a
 * `userAdapter`, which may throw anything, a failure that is not a CachemeError becomes a
 * StorageError, so callers of refresh and invalidate see one kind of error whatever the backend (the
 * built-in adapters throw StorageErrors already), and the timer is ref'ed (see #arm).
 */
export function withTimeout(
  adapter: RemoteStorage,
  what: string,
  name: string,
  timeoutMs: number,
  userAdapter = false,
): RemoteStorage {
  const deadlines = new Deadlines(what, name, timeoutMs, userAdapter)
  const bounded: RemoteStorage = {
    maxKeyLength: adapter.maxKeyLength,
    get: (key: string) => deadlines.run('get', () => adapter.get(key)),
    getMany: (keys: readonly string[]) => deadlines.run('getMany', () => adapter.getMany(keys)),
    set: (key: string, value: Buffer, ttlMs: number | null) =>
      deadlines.run('set', () => adapter.set(key, value, ttlMs)),
    setMany: (entries: readonly RemoteEntry[], ttlMs: number | null) =>
      deadlines.run('setMany', () => adapter.setMany(entries, ttlMs)),
    remove: (key: string) => deadlines.run('remove', () => adapter.remove(key)),
    // A call the storage has not answered once it is closed never will be: rejected then, so that
    // no caller waits on a promise nothing can settle (with every socket and worker gone, the
    // process would exit under it).
    close: async () => {
      try {
        await adapter.close()
      } finally {
        deadlines.rejectPending('CACHEME_CLOSED', 'storage closed before answering')
        deadlines.dispose()
      }
    },
  }
  // Cleanup is maintenance with its own bounded batch size, not part of any request: not bounded here.
  const cleanupExpired = adapter.cleanupExpired
  if (cleanupExpired !== undefined) bounded.cleanupExpired = (limit) => cleanupExpired.call(adapter, limit)
  return bounded
}
