// The in-process storage: Rust owns keys, eviction (W-TinyLFU or LRU), expiry and counters; this
// class keeps only the values, as live JS values in an array indexed by the slot Rust hands out.

import { InvalidArgumentError } from '../errors'
import { type LocalStorageStats, type NativeLocalStorage, native } from '../native'
import type { LocalBackend } from './backend'
import { type OptionChecks, urlError } from './shared'

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

/** Largest total weight of a local storage (integers a number holds exactly). */
export const MAX_LOCAL_WEIGHT = Number.MAX_SAFE_INTEGER
/** Largest weight of one entry. */
export const MAX_ENTRY_WEIGHT = 2 ** 32 - 1

/** The weight bound of a local storage: an integer from 1 to MAX_LOCAL_WEIGHT, or undefined. */
function checkMaxWeight(maxWeight: number | undefined): number | undefined {
  if (maxWeight === undefined) return undefined
  if (!Number.isInteger(maxWeight) || maxWeight < 1 || maxWeight > MAX_LOCAL_WEIGHT) {
    throw new InvalidArgumentError(
      'CACHEME_INVALID_WEIGHT',
      `local storage maxWeight must be an integer from 1 to ${MAX_LOCAL_WEIGHT}; got ${String(maxWeight)}`,
    )
  }
  return maxWeight
}

/** Throws unless `weight` is an integer from 0 to MAX_ENTRY_WEIGHT; `what` names it in the message. */
export function checkWeight(weight: unknown, what: string): asserts weight is number {
  if (typeof weight !== 'number' || !Number.isInteger(weight) || weight < 0 || weight > MAX_ENTRY_WEIGHT) {
    throw new InvalidArgumentError(
      'CACHEME_INVALID_WEIGHT',
      `${what} must be an integer from 0 to ${MAX_ENTRY_WEIGHT}; got ${typeof weight === 'number' ? weight : typeof weight}`,
    )
  }
}

function validateKeys(keys: readonly string[]): void {
  for (const key of keys) {
    if (typeof key !== 'string') {
      throw new InvalidArgumentError('CACHEME_INVALID_KEY', `cache keys must be strings; got ${typeof key}`)
    }
  }
}

export interface LocalStoreOptions {
  /**
   * Also bound the total weight of the entries: every write then gives its entry's weight (an
   * integer from 0 to 2^32 − 1), and entries are evicted until both bounds hold. An entry heavier
   * than maxWeight is not kept.
   */
  readonly maxWeight?: number | undefined
}

export class LocalStore {
  readonly policy: LocalPolicy
  readonly capacity: number
  /** The weight bound, if any. */
  readonly maxWeight: number | undefined
  /** The storage's weigher (Storage option `weigh`), used by tiers whose Cache names none. */
  weigh: ((value: unknown) => number) | undefined
  readonly #native: NativeLocalStorage
  readonly #freed: Int32Array
  readonly #values: unknown[] = []

  constructor(policy: LocalPolicy, size: number, options: LocalStoreOptions = {}) {
    if (policy !== 'lru' && policy !== 'tlfu') {
      throw new InvalidArgumentError(
        'CACHEME_INVALID_ARGUMENT',
        `local storage policy must be "lru" or "tlfu"; got ${JSON.stringify(policy)}`,
      )
    }
    this.policy = policy
    this.capacity = checkSize(size)
    this.maxWeight = checkMaxWeight(options.maxWeight)
    this.#native = native.createLocalStorage(policy, size, this.maxWeight)
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

  /**
   * Stores `value` under `key` for `ttlMs` milliseconds (null or undefined: until evicted). A store
   * with a maxWeight needs the entry's `weight`; others ignore it.
   */
  set(key: string, value: unknown, ttlMs?: number | null, weight?: number): void {
    if (typeof key !== 'string') validateKeys([key])
    if (ttlMs != null) validateTtl(ttlMs)
    if (this.maxWeight !== undefined) checkWeight(weight, `the weight of ${JSON.stringify(key)}`)
    const slot = this.#native.set(key, ttlMs, weight)
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

  /**
   * Stores `values[i]` under `keys[i]`, in one native call. A store with a maxWeight needs
   * `weights[i]` for each; a bad one stores nothing.
   */
  setMany(
    keys: readonly string[],
    values: readonly unknown[],
    ttlMs?: number | null,
    weights?: readonly number[],
  ): void {
    if (keys.length !== values.length) {
      throw new InvalidArgumentError(
        'CACHEME_INVALID_ARGUMENT',
        `setMany needs one value per key; got ${keys.length} keys and ${values.length} values`,
      )
    }
    validateKeys(keys)
    validateTtl(ttlMs)
    if (this.maxWeight !== undefined) {
      if (weights === undefined || weights.length !== keys.length) {
        throw new InvalidArgumentError(
          'CACHEME_INVALID_WEIGHT',
          `setMany on a storage with a maxWeight needs one weight per key; got ${weights?.length ?? 'no'} weights for ${keys.length} keys`,
        )
      }
      for (let i = 0; i < weights.length; i++)
        checkWeight(weights[i], `the weight of ${JSON.stringify(keys[i])}`)
    }
    const slots = this.#native.setMany(keys, ttlMs, weights)
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
  /** local: maximum total weight of the entries (needs `weigh`, here or on every Cache using it). */
  readonly maxWeight?: number | undefined
  /** local: the weight of a value (an integer from 0 to 2^32 − 1); Cache({ weigh }) overrides it. */
  readonly weigh?: ((value: unknown) => number) | undefined
}

function checkWeigh(weigh: unknown): ((value: unknown) => number) | undefined {
  if (weigh === undefined || typeof weigh === 'function')
    return weigh as ((value: unknown) => number) | undefined
  throw new InvalidArgumentError(
    'CACHEME_INVALID_WEIGHT',
    `weigh must be a function of the value; got ${typeof weigh}`,
  )
}

/** `local://tlfu` and `local://lru`: a LocalStore of `size` entries. */
export const localBackend: LocalBackend<LocalOptions> = {
  kind: 'local',
  name: 'local',
  schemes: ['local'],
  // checkUrl and the store check them when the Storage is created; optional ones may stay undefined.
  options: { size: checkSize, maxWeight: checkMaxWeight, weigh: checkWeigh } as OptionChecks<LocalOptions>,
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
    checkMaxWeight(options.maxWeight)
    checkWeigh(options.weigh)
    if (options.weigh !== undefined && options.maxWeight === undefined) {
      throw new InvalidArgumentError('CACHEME_INVALID_WEIGHT', `${url}: weigh needs a maxWeight to bound`)
    }
  },
  open: (_url, policy, options) => {
    const store = new LocalStore(policy as LocalPolicy, options.size as number, {
      maxWeight: options.maxWeight,
    })
    store.weigh = options.weigh
    return store
  },
}
