// Lazy invalidation by tag: the records of when each tag (and each node class, under an implicit tag)
// was last invalidated, and the check that makes an entry written before one of them a miss. Nothing
// is scanned: invalidateTags writes one record per tag, and a read of a tagged entry compares its
// stamp (freshness.ts) with the records of its tags, O(number of tags).
//
// Where records live. Each record is an ordinary entry of a shared storage, written through the
// RemoteStorage contract under a reserved stored key (`{prefix}:__tag:{tag}`, `{prefix}:__class:…`,
// keys.ts) with a small frame of its own (serializers/frame.ts, 0xCD). So every backend, a user's
// adapter included, keeps them with no table, hash or collection of its own, and a read of a class's
// records is one getMany on the class's first shared tier. A class with no shared tier keeps its
// records in this process only (one process is then the whole story).
//
// What a process knows. Each process caches the records it has read. With a bus, an invalidation
// publishes the record keys and other processes drop their copies (coherence.ts), so a copy is
// re-read only after a long bound; without one, a copy older than RECHECK_MS is re-read in the
// background while it keeps answering. A read that needs a record this process does not hold is a
// miss in a local tier (the record is fetched meanwhile) and waits for it in a shared tier. Copies
// are bounded: past KNOWN_LIMIT of them, those due for a re-read are dropped. A copy is only a
// shortcut to the store, so dropping one costs one local miss, never a wrong answer; the limit is
// high enough that a process reading fewer distinct tags than that never pays it.
//
// The tag store down. A fetch that fails drops the copies it was to renew: until the store answers
// again, entries carrying those tags are misses (reads load), so that no entry written before an
// invalidation the store accepted is served once it answers. A local entry thus stays valid for at
// most one re-check interval plus VERIFIED_MS after the store stops answering (a hit reuses its
// entry's last check while no record changed, and only a check asks for a re-read). Records that are not records (other
// bytes under a reserved key) are ignored, counted as decode errors and reported.
//
// Clocks: records and stamps are wall-clock milliseconds (Date.now()), compared across processes;
// their clocks must agree to well under the time between a write and an invalidation that must cover it.

import { frameRecord, readRecord } from '../serializers/frame'
import type { RemoteStorage } from '../storages/remote'
import { absorb, type ErrorCounts } from './absorb'
import { announcer } from './announce'

/** How long a cached record answers before it is re-read, without a bus. */
export const RECHECK_MS = 1_000
/** The same with a bus, which drops copies as records change: a bound against lost messages. */
export const RECHECK_WITH_BUS_MS = 60_000
/** How many copies of a store's records a process keeps before dropping those due for a re-read. */
export const KNOWN_LIMIT = 100_000
/**
 * How long a local entry's successful check is reused while its store's records are unchanged
 * (TagRecords.epoch): the checks between are exact, but only a check asks for copies due for a
 * re-read, so this bounds how late that request comes.
 */
export const VERIFIED_MS = RECHECK_MS / 4

const recheckMs = () => (announcer === undefined ? RECHECK_MS : RECHECK_WITH_BUS_MS)

interface Known {
  /** When the tag was last invalidated (0: never, as far as the store says). */
  at: number
  /** When this copy was read (Date.now()). */
  checked: number
}

/** The tag records of one store (a shared storage, or this process alone), and this process's copies. */
export class TagRecords {
  readonly #known = new Map<string, Known>()
  readonly #fetching = new Map<string, Promise<void>>()
  /** Copies due for a re-read, fetched together at the event loop's next turn (#recheck). */
  #due: string[] = []
  /** The size at which copies are swept next: raised when a sweep leaves many (all still current). */
  #sweepAt = KNOWN_LIMIT
  /**
   * Changes whenever a copy is dropped or learns of a later invalidation: a check that found an
   * entry valid at one epoch finds it valid again while the epoch is the same (see VERIFIED_MS).
   */
  epoch = 0

  constructor(
    readonly name: string,
    /** undefined: the records live in this process only, and what it holds is the whole truth. */
    readonly storage: RemoteStorage | undefined,
  ) {}

  /**
   * When the record `key` says its tag was invalidated (0: never), or undefined when this process
   * holds no copy (it has been requested). A copy past the re-check interval answers while it is
   * re-read in the background.
   */
  at(key: string, now: number, counts: ErrorCounts): number | undefined {
    const known = this.#known.get(key)
    if (this.storage === undefined) return known?.at ?? 0
    if (known === undefined) return undefined
    if (now - known.checked > recheckMs()) this.#recheck(key, known, now, counts)
    return known.at
  }

  /**
   * Re-reads `key` in the background, with every other copy found due before the event loop's next
   * turn: one getMany for all of them rather than one per key. Meanwhile the copy counts as checked,
   * so that the reads until then queue it once; the fetch settles it, or drops it if it fails.
   * Errors are counted on the class of the first read that found a copy due.
   */
  #recheck(key: string, known: Known, now: number, counts: ErrorCounts): void {
    known.checked = now
    if (this.#due.length === 0) {
      setImmediate(() => {
        const due = this.#due
        this.#due = []
        void this.fetch(due, counts)
      })
    }
    this.#due.push(key)
  }

  /** Reads the records `keys` from the store (one getMany; keys already being read are joined). */
  fetch(keys: readonly string[], counts: ErrorCounts): Promise<void> {
    const storage = this.storage
    if (storage === undefined) return Promise.resolve()
    const waits: Promise<void>[] = []
    const missing: string[] = []
    for (const key of keys.length > 1 ? new Set(keys) : keys) {
      const pending = this.#fetching.get(key)
      if (pending !== undefined) waits.push(pending)
      else missing.push(key)
    }
    if (missing.length > 0) {
      const checked = Date.now()
      const read = storage.getMany(missing).then(
        (payloads) => {
          missing.forEach((key, i) => {
            const payload = payloads[i]
            let at = payload === undefined ? 0 : readRecord(payload)
            if (at === undefined) {
              absorb(counts, this.name, 'decode', key, new Error(`${key} does not hold a tag record`))
              at = 0
            }
            this.#settle(key, at, checked)
          })
        },
        (error: unknown) => {
          absorb(counts, this.name, 'read', missing[0] as string, error)
          for (const key of missing) this.#known.delete(key)
          this.epoch++
        },
      )
      const done = read.finally(() => {
        for (const key of missing) if (this.#fetching.get(key) === done) this.#fetching.delete(key)
      })
      for (const key of missing) this.#fetching.set(key, done)
      waits.push(done)
    }
    return waits.length === 1 ? (waits[0] as Promise<void>) : Promise.all(waits).then(ignore)
  }

  /** How many copies this process holds. */
  get size(): number {
    return this.#known.size
  }

  /** Keeps a copy read at `checked`, unless a newer invalidation is already known. */
  #settle(key: string, at: number, checked: number): void {
    const known = this.#known.get(key)
    if ((known?.at ?? 0) < at) this.epoch++
    if (known === undefined || known.at <= at) this.#known.set(key, { at, checked })
    else known.checked = checked
    if (known === undefined && this.storage !== undefined && this.#known.size > this.#sweepAt) this.#sweep()
  }

  /**
   * Drops the copies due for a re-read. The next sweep waits until the map has doubled, so that
   * copies all read within one interval cost one pass per doubling, not one per new copy.
   */
  #sweep(): void {
    const due = Date.now() - recheckMs()
    for (const [key, known] of this.#known) if (known.checked < due) this.#known.delete(key)
    this.epoch++
    this.#sweepAt = Math.max(KNOWN_LIMIT, 2 * this.#known.size)
  }

  /** Records that the tags of `keys` were invalidated at `at`: known here at once, then stored. */
  write(keys: readonly string[], at: number, ttl: number | null): Promise<void> {
    for (const key of keys) this.#settle(key, at, Date.now())
    const storage = this.storage
    if (storage === undefined || keys.length === 0) return Promise.resolve()
    const record = frameRecord(at)
    return storage.setMany(
      keys.map((key) => [key, record] as const),
      ttl,
    )
  }

  /** Drops this process's copies of `keys` (another process changed them). */
  forget(keys: readonly string[]): void {
    if (this.storage === undefined) return
    for (const key of keys) this.#known.delete(key)
    this.epoch++
  }

  /** Drops every copy (this process may have missed changes). */
  forgetAll(): void {
    if (this.storage === undefined) return
    this.#known.clear()
    this.epoch++
  }
}

function ignore(): void {}

/** The check of one node class's tagged entries against the records of its store. */
export class TagGuard {
  constructor(
    readonly records: TagRecords,
    /** The record key of the class's implicit tag (invalidateAll). */
    readonly classKey: string,
    /** The record key of a tag: `{prefix}:__tag:{tag}`. */
    readonly recordKey: (tag: string) => string,
    readonly counts: ErrorCounts,
  ) {}

  /**
   * Record keys by tag, so that a hit looks its records up by strings already built (and hashed)
   * rather than concatenating each one again; cleared when it reaches KNOWN_LIMIT.
   */
  readonly #keys = new Map<string, string>()

  #keyOf(tag: string): string {
    let key = this.#keys.get(tag)
    if (key === undefined) {
      key = this.recordKey(tag)
      if (this.#keys.size >= KNOWN_LIMIT) this.#keys.clear()
      this.#keys.set(tag, key)
    }
    return key
  }

  /**
   * Whether an entry written at `writtenAt` (0: unknown, an entry from before tags) with `tags` is
   * still valid; undefined when a record is not held here (its fetch has started).
   */
  check(writtenAt: number, tags: readonly string[]): boolean | undefined {
    const now = Date.now()
    const records = this.records
    let unknown: string[] | undefined
    let valid = true
    const at = records.at(this.classKey, now, this.counts)
    if (at === undefined) unknown = [this.classKey]
    else if (at > 0 && writtenAt <= at) valid = false
    for (let i = 0; valid && i < tags.length; i++) {
      const key = this.#keyOf(tags[i] as string)
      const tagAt = records.at(key, now, this.counts)
      if (tagAt === undefined) {
        unknown ??= []
        unknown.push(key)
      } else if (tagAt > 0 && writtenAt <= tagAt) valid = false
    }
    if (!valid) return false
    if (unknown === undefined) return true
    void records.fetch(unknown, this.counts)
    return undefined
  }

  /** check, waiting for records not held here; false when the store cannot say (a miss). */
  checkWaiting(writtenAt: number, tags: readonly string[]): boolean | Promise<boolean> {
    const valid = this.check(writtenAt, tags)
    if (valid !== undefined) return valid
    const keys = [this.classKey, ...tags.map(this.recordKey)]
    return this.records.fetch(keys, this.counts).then(() => this.check(writtenAt, tags) === true)
  }
}

/** The tag records of each shared storage (by adapter: a name registered again is another storage). */
const stores = new WeakMap<RemoteStorage, TagRecords>()
/** The records of classes with no shared tier. */
export const processRecords = new TagRecords('(process)', undefined)

/** The tag records kept in `storage` (registered as `name`). */
export function recordsIn(name: string, storage: RemoteStorage): TagRecords {
  let records = stores.get(storage)
  if (records === undefined) {
    records = new TagRecords(name, storage)
    stores.set(storage, records)
    activeStores.add(records)
  }
  return records
}

/** Every store whose records this process may hold copies of (for the bus to drop them). */
export const activeStores = new Set<TagRecords>()

/** Forgets the stores of closed storages (close()); the process's own records stay. */
export function forgetStores(): void {
  activeStores.clear()
}
