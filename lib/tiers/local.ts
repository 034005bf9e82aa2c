// A tier on a local storage: live JS values in the Rust-indexed LocalStore, answered synchronously.
// A local store answers undefined for a miss, so an undefined value is stored as the UNDEFINED
// sentinel.
//
// A node with a stale window (freshness.ts) or with tags stores a Stamped value (the value, when it
// was written, its TTL and its tags) that the store keeps for the TTL plus the node's grace; a read
// past the TTL is a Stale entry, and a read of an entry one of whose tags was invalidated after it
// was written is a miss (tags.ts). Nodes with neither store the bare value, as they always did.

import { type TtlFunction, ttlFromValue } from '../cache'
import { InvalidArgumentError } from '../errors'
import { Stale, type Stamp } from '../freshness'
import { checkWeight, type LocalStore } from '../storages/local'
import { type TagGuard, VERIFIED_MS } from './tags'
import { MISS, type Tier } from './tier'

export const UNDEFINED: unique symbol = Symbol('cacheme.undefined')

/** What a local store holds for `value`. */
export function toLocal(value: unknown): unknown {
  return value === undefined ? UNDEFINED : value
}

/** The value a local store's answer stands for (the store's own miss, undefined, is not one). */
export function fromLocal(stored: unknown): unknown {
  return stored === UNDEFINED ? undefined : stored
}

/** Every local tier stores the live value: one codec for all. */
const LIVE = Object.freeze({ live: true })
/** Local tiers of nodes with a stale window or tags store it stamped; one codec for all of them. */
const STAMPED = Object.freeze({ stamped: true })
const NO_TAGS: readonly string[] = Object.freeze([])

/** A value with its write time (Date.now()), TTL and tags, as a local tier with a grace or tags stores it. */
class Stamped {
  /** The tag records' epoch at this entry's last successful tag check (-1: none yet). */
  verifiedEpoch = -1
  /** When that check ran (Date.now()). */
  verifiedAt = 0

  constructor(
    readonly stored: unknown,
    readonly writtenAt: number,
    readonly ttl: number | null,
    readonly tags: readonly string[],
  ) {}
}

/** A value prepared for a weighted tier: what the store keeps, and its weight. */
class Weighed {
  constructor(
    readonly stored: unknown,
    readonly weight: number,
  ) {}
}

/**
 * Whether a stamped entry passes its tag check. A record not held yet makes it a miss: the next tier
 * waits for the record, and fills this one back. A pass is remembered on the entry and reused while
 * no record of the store changed, for at most VERIFIED_MS, so that a hot entry's hits skip the
 * lookups of its records.
 */
function verified(guard: TagGuard, entry: Stamped, now: number): boolean {
  const epoch = guard.records.epoch
  if (entry.verifiedEpoch === epoch && now - entry.verifiedAt < VERIFIED_MS) return true
  if (guard.check(entry.writtenAt, entry.tags) !== true) return false
  entry.verifiedEpoch = epoch
  entry.verifiedAt = now
  return true
}

export class LocalTier implements Tier {
  readonly shared = false
  readonly codec: object
  readonly maxKeyLength = Number.POSITIVE_INFINITY
  /** Milliseconds past its TTL an entry is kept and read as stale; 0: no staleness. */
  readonly grace: number
  /** The TTL when it does not depend on the value. */
  readonly #ttl: number | null
  /** Entries carry their write time, TTL and tags (a stale window or tags). */
  readonly #stamped: boolean
  #lastWeighed: { value: unknown; weight: number } | undefined

  constructor(
    readonly index: number,
    readonly name: string,
    readonly ttl: number | null | TtlFunction,
    readonly store: LocalStore,
    grace = 0,
    /** The tag check of a tagged node class; undefined for others. */
    readonly guard?: TagGuard,
    /** The weight of a value, for a storage with a maxWeight. */
    readonly weigh?: (value: unknown) => number,
  ) {
    this.grace = grace
    this.#stamped = grace > 0 || guard !== undefined
    // A weighted tier's prepared form carries its own weigher's result: shared with no other tier.
    this.codec = weigh !== undefined ? { weighed: this } : this.#stamped ? STAMPED : LIVE
    this.#ttl = typeof ttl === 'function' ? null : ttl
  }

  /**
   * The value's TTL here. A weighted tier also weighs the value now, so that a bad weight is handled
   * as a bad TTL is: a set rejects before anything is written, a load's write-back reports it and
   * leaves this tier out.
   */
  ttlOf(value: unknown): number | null {
    const ttl = this.ttl
    const result = typeof ttl === 'function' ? ttlFromValue(ttl, value, `tier ${this.name}`) : this.#ttl
    if (this.weigh !== undefined && result !== 0) this.#weightOf(value)
    return result
  }

  /** The value's weight, checked; remembered for the one value last weighed (ttlOf, then prepare). */
  #weightOf(value: unknown): number {
    const last = this.#lastWeighed
    if (last !== undefined && last.value === value) return last.weight
    let weight: unknown
    try {
      weight = (this.weigh as (value: unknown) => number)(value)
    } catch (error) {
      throw new InvalidArgumentError(
        'CACHEME_INVALID_WEIGHT',
        `tier ${this.name}: the weigh function threw`,
        {
          cause: error,
        },
      )
    }
    checkWeight(weight, `tier ${this.name}: the weight of a value`)
    this.#lastWeighed = { value, weight }
    return weight
  }

  read(key: string): unknown {
    return this.#entry(this.store.get(key))
  }

  readMany(keys: readonly string[]): unknown[] {
    return this.store.getMany(keys).map((stored) => this.#entry(stored))
  }

  /** What the store keeps for `value`; in a weighted tier, with its weight (checked in ttlOf). */
  prepare(value: unknown, ttl: number | null, stamp: Stamp | undefined): unknown {
    const stored = this.#stamped
      ? new Stamped(toLocal(value), stamp?.at ?? Date.now(), ttl, stamp?.tags ?? NO_TAGS)
      : toLocal(value)
    if (this.weigh === undefined) return stored
    const weight = this.#weightOf(value)
    // Not kept past its write: the tier must not hold a value the store may have evicted.
    this.#lastWeighed = undefined
    return new Weighed(stored, weight)
  }

  write(key: string, prepared: unknown, _strict: boolean, ttl: number | null): undefined {
    const keep = ttl === null ? null : ttl + this.grace
    if (prepared instanceof Weighed) this.store.set(key, prepared.stored, keep, prepared.weight)
    else this.store.set(key, prepared, keep)
  }

  writeMany(
    keys: readonly string[],
    prepared: readonly unknown[],
    ttl: number | null,
    _strict?: boolean,
  ): undefined {
    const keep = ttl === null ? null : ttl + this.grace
    if (this.weigh === undefined) {
      this.store.setMany(keys, prepared, keep)
      return
    }
    const weighed = prepared as readonly Weighed[]
    this.store.setMany(
      keys,
      weighed.map((p) => p.stored),
      keep,
      weighed.map((p) => p.weight),
    )
  }

  /** What a stored entry reads as: MISS, the value, or (past its TTL) a Stale entry. */
  #entry(stored: unknown): unknown {
    if (stored === undefined) return MISS
    const guard = this.guard
    if (!(stored instanceof Stamped)) {
      // A bare value of a class that became tagged (invalidateAll): written before any record.
      if (guard !== undefined && guard.check(0, NO_TAGS) !== true) return MISS
      return fromLocal(stored)
    }
    const now = Date.now()
    if (guard !== undefined && !verified(guard, stored, now)) return MISS
    const age = stored.ttl === null ? 0 : now - stored.writtenAt - stored.ttl
    if (age <= 0) return fromLocal(stored.stored)
    return age < this.grace ? new Stale(fromLocal(stored.stored), age) : MISS
  }

  remove(key: string): undefined {
    this.store.delete(key)
  }

  forget(keys: readonly string[]): void {
    this.store.deleteMany(keys)
  }

  forgetAll(): void {
    this.store.clear()
  }
}
