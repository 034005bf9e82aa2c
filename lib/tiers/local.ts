// A tier on a local storage: live JS values in the Rust-indexed LocalStore, answered synchronously.
// A local store answers undefined for a miss, so an undefined value is stored as the UNDEFINED
// sentinel.

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

export class LocalTier implements Tier {
  readonly shared = false
  readonly codec = LIVE
  readonly maxKeyLength = Number.POSITIVE_INFINITY

  constructor(
    readonly index: number,
    readonly name: string,
    readonly ttl: number | null,
    readonly store: LocalStore,
  ) {}

  read(key: string): unknown {
    const stored = this.store.get(key)
    return stored === undefined ? MISS : fromLocal(stored)
  }

  readMany(keys: readonly string[]): unknown[] {
    return this.store.getMany(keys).map((stored) => (stored === undefined ? MISS : fromLocal(stored)))
  }

  prepare(value: unknown): unknown {
    return toLocal(value)
  }

  write(key: string, prepared: unknown): undefined {
    this.store.set(key, prepared, this.ttl)
  }

  writeMany(keys: readonly string[], prepared: readonly unknown[]): undefined {
    this.store.setMany(keys, prepared, this.ttl)
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
