// A tier on a local storage: live JS values in the Rust-indexed LocalStore, answered synchronously.
// A local store answers undefined for a miss, so an undefined value is stored as the UNDEFINED
// sentinel.
//
// A node with a stale window (freshness.ts) stores a Stamped value (the value and when it was
// written) that the store keeps for the TTL plus the node's grace; a read past the TTL is a Stale
// entry. Nodes without one store the bare value, as they always did.

import { Stale } from '../freshness'
import type { LocalStore } from '../storages/local'
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
/** Local tiers of nodes with a stale window store it stamped; the stamp is the same for all of them. */
const STAMPED = Object.freeze({ stamped: true })

/** A value with its write time (Date.now()), as a local tier with a grace stores it. */
class Stamped {
  constructor(
    readonly stored: unknown,
    readonly writtenAt: number,
  ) {}
}

export class LocalTier implements Tier {
  readonly shared = false
  readonly codec: object
  readonly maxKeyLength = Number.POSITIVE_INFINITY
  /** Milliseconds past its TTL an entry is kept and read as stale; 0: bare values, no staleness. */
  readonly grace: number
  /** What the store is told: the TTL plus the grace. */
  readonly #keep: number | null

  constructor(
    readonly index: number,
    readonly name: string,
    readonly ttl: number | null,
    readonly store: LocalStore,
    grace = 0,
  ) {
    this.grace = grace
    this.codec = grace > 0 ? STAMPED : LIVE
    this.#keep = ttl === null ? null : ttl + grace
  }

  read(key: string): unknown {
    return this.#entry(this.store.get(key))
  }

  readMany(keys: readonly string[]): unknown[] {
    return this.store.getMany(keys).map((stored) => this.#entry(stored))
  }

  prepare(value: unknown): unknown {
    return this.grace > 0 ? new Stamped(toLocal(value), Date.now()) : toLocal(value)
  }

  write(key: string, prepared: unknown): undefined {
    this.store.set(key, prepared, this.#keep)
  }

  writeMany(keys: readonly string[], prepared: readonly unknown[]): undefined {
    this.store.setMany(keys, prepared, this.#keep)
  }

  /** What a stored entry reads as: MISS, the value, or (past its TTL) a Stale entry. */
  #entry(stored: unknown): unknown {
    if (stored === undefined) return MISS
    if (!(stored instanceof Stamped)) return fromLocal(stored)
    const age = this.ttl === null ? 0 : Date.now() - stored.writtenAt - this.ttl
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
