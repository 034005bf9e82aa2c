// The in-process storage: Rust owns keys, eviction (W-TinyLFU or LRU), expiry and counters; this
// class keeps only the values, as live JS values in an array indexed by the slot Rust hands out.

import { InvalidArgumentError } from '../errors'
import { type LocalStorageStats, type NativeLocalStorage, native } from '../native'
import type { LocalBackend } from './backend'
import { urlError } from './shared'

export type LocalPolicy = 'lru' | 'tlfu'

/** Largest local storage size (slot numbers must fit an int32 with room to spare). */
export const MAX_LOCAL_SIZE = 2 ** 30 - 1

export function validateTtl(ttlMs: number | null | undefined, what = 'ttl'): void {
  if (ttlMs === null || ttlMs === undefined) return
  if (typeof ttlMs !== 'number' || !Number.isFinite(ttlMs) || ttlMs < 0) {
    throw new InvalidArgumentError(
      'CACHEME_INVALID_TTL',
      `${what} must be a finite number of milliseconds >= 0, or null for no expiry; got ${String(ttlMs)}`,
    )
  }
}

/** The size of a local storage: an integer from 1 to MAX_LOCAL_SIZE. */
function checkSize(size: number | undefined): number {
  if (!Number.isInteger(size) || (size as number) < 1 || (size as number) > MAX_LOCAL_SIZE) {
    throw new InvalidArgumentError(
      'CACHEME_INVALID_ARGUMENT',
      `local storage size must be an integer from 1 to ${MAX_LOCAL_SIZE}; got ${String(size)}`,
    )
  }
  return size as number
}

function validateKeys(keys: readonly string[]): void {
  for (const key of keys) {
    if (typeof key !== 'string') {
      throw new InvalidArgumentError('CACHEME_INVALID_KEY', `cache keys must be strings; got ${typeof key}`)
    }
  }
}

export class LocalStore {
  readonly policy: LocalPolicy
  readonly capacity: number
  readonly #native: NativeLocalStorage
  readonly #freed: Int32Array
  readonly #values: unknown[] = []

  constructor(policy: LocalPolicy, size: number) {
    if (policy !== 'lru' && policy !== 'tlfu') {
      throw new InvalidArgumentError(
        'CACHEME_INVALID_ARGUMENT',
        `local storage policy must be "lru" or "tlfu"; got ${JSON.stringify(policy)}`,
      )
    }
    this.policy = policy
    this.capacity = checkSize(size)
    this.#native = native.createLocalStorage(policy, size)
    this.#freed = this.#native.freed
  }

  /**
   * The value stored under `key`, or undefined. With `metricsId`, a hit is counted for that node
   * class in the same native call.
   */
  get(key: string, metricsId?: number): unknown {
    if (typeof key !== 'string') validateKeys([key])
    const slot = this.#native.get(key, metricsId)
    if (this.#freed[0] !== 0) this.#releaseFreed()
    return slot < 0 ? undefined : this.#values[slot]
  }

  /** True if `key` is present and not expired; changes no recency or frequency. */
  has(key: string): boolean {
    if (typeof key !== 'string') validateKeys([key])
    const present = this.#native.has(key)
    if (this.#freed[0] !== 0) this.#releaseFreed()
    return present
  }

  /** Stores `value` under `key` for `ttlMs` milliseconds (null or undefined: until evicted). */
  set(key: string, value: unknown, ttlMs?: number | null): void {
    if (typeof key !== 'string') validateKeys([key])
    if (ttlMs != null) validateTtl(ttlMs)
    const slot = this.#native.set(key, ttlMs)
    this.#values[slot] = value
    if (this.#freed[0] !== 0) this.#releaseFreed()
  }

  delete(key: string): boolean {
    if (typeof key !== 'string') validateKeys([key])
    const removed = this.#native.remove(key)
    if (this.#freed[0] !== 0) this.#releaseFreed()
    return removed
  }

  /** Values for `keys` (undefined for a miss), in one native call. */
  getMany(keys: readonly string[]): unknown[] {
    validateKeys(keys)
    const n = keys.length
    // One joined string crosses faster than an array of strings; a batch too large for the shared
    // buffer, or with a key holding the separator, takes the array path.
    const native = this.#native
    const slots =
      n <= native.batch.length && native.getJoined(keys.join('\0'), n) === n
        ? native.batch
        : native.getMany(keys)
    if (this.#freed[0] !== 0) this.#releaseFreed()
    const values = this.#values
    const out = new Array<unknown>(n)
    for (let i = 0; i < n; i++) {
      const slot = slots[i] as number
      out[i] = slot < 0 ? undefined : values[slot]
    }
    return out
  }

  /** Stores `values[i]` under `keys[i]`, in one native call. */
  setMany(keys: readonly string[], values: readonly unknown[], ttlMs?: number | null): void {
    if (keys.length !== values.length) {
      throw new InvalidArgumentError(
        'CACHEME_INVALID_ARGUMENT',
        `setMany needs one value per key; got ${keys.length} keys and ${values.length} values`,
      )
    }
    validateKeys(keys)
    validateTtl(ttlMs)
    const slots = this.#native.setMany(keys, ttlMs)
    const stored = this.#values
    // Write in order (a slot reused later in the batch ends with the later value), then drop the
    // values of the slots the batch left free.
    for (let i = 0; i < keys.length; i++) stored[slots[i] as number] = values[i]
    for (let i = keys.length; i < slots.length; i++) stored[slots[i] as number] = undefined
  }

  deleteMany(keys: readonly string[]): number {
    validateKeys(keys)
    const removed = this.#native.removeMany(keys)
    if (this.#freed[0] !== 0) this.#releaseFreed()
    return removed
  }

  clear(): void {
    this.#native.clear()
    if (this.#freed[0] !== 0) this.#releaseFreed()
  }

  /** Reclaims expired entries now (they are also reclaimed as the storage is used). */
  purgeExpired(): void {
    this.#native.purgeExpired()
    if (this.#freed[0] !== 0) this.#releaseFreed()
  }

  get size(): number {
    return this.#native.size()
  }

  stats(): LocalStorageStats {
    return this.#native.stats()
  }

  /** Drops the values of slots Rust reported free, so they can be garbage-collected. */
  #releaseFreed(): void {
    const freed = this.#freed
    const values = this.#values
    const n = freed[0] as number
    for (let i = 1; i <= n; i++) values[freed[i] as number] = undefined
    freed[0] = 0
  }
}

export interface LocalOptions {
  /** local: maximum number of entries (required). */
  readonly size?: number | undefined
}

/** `local://tlfu` and `local://lru`: a LocalStore of `size` entries. */
export const localBackend: LocalBackend<LocalOptions> = {
  kind: 'local',
  name: 'local',
  schemes: ['local'],
  options: { size: checkSize },
  checkUrl(policy, url, options) {
    if (policy !== 'lru' && policy !== 'tlfu') {
      throw urlError(`local storage url must be local://lru or local://tlfu; got ${JSON.stringify(url)}`)
    }
    if (options.size === undefined) {
      throw new InvalidArgumentError(
        'CACHEME_INVALID_ARGUMENT',
        `${url} needs a size (maximum number of entries)`,
      )
    }
  },
  open: (_url, policy, options) => new LocalStore(policy as LocalPolicy, options.size as number),
}
