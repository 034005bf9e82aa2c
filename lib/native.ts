// The native addon, typed by hand: the generated loader (native/binding.js) finds the platform
// binary; this module states the surface the rest of the package relies on.

/** The Rust local storage, as returned by `createLocalStorage`. See src-rs/binding/local.rs. */
export interface NativeLocalStorage {
  /** Slot of the key, or -1. With a metrics id, a hit is also counted for that node class. */
  get(key: string, metricsId?: number): number
  has(key: string): boolean
  /**
   * Slot the value must be written to. `ttlMs` undefined or null: no expiry. `weight` is read only
   * by a storage created with a maxWeight (and required there).
   */
  set(key: string, ttlMs?: number | null, weight?: number): number
  remove(key: string): boolean
  /** Slots (-1 for a miss), one per key. */
  getMany(keys: readonly string[]): Int32Array
  /**
   * Slots of `count` keys joined by NUL, written to `batch`; returns `count`, or -1 when the
   * string does not split into `count` keys (a key holds a NUL) or `count` is not 1…`batch.length`.
   */
  getJoined(joined: string, count: number): number
  /** Slots, one per key, followed by the slots the batch freed. */
  setMany(keys: readonly string[], ttlMs?: number | null, weights?: readonly number[]): Int32Array
  removeMany(keys: readonly string[]): number
  clear(): void
  purgeExpired(): void
  size(): number
  stats(): LocalStorageStats
  /** `[n, slot1 … slotn]`: slots freed by the last call, shared memory owned by Rust. */
  readonly freed: Int32Array
  /** The slots of the last `getJoined`, shared memory owned by Rust. */
  readonly batch: Int32Array
}

export interface LocalStorageStats {
  hits: number
  misses: number
  inserts: number
  updates: number
  evictions: number
  expirations: number
  removals: number
  size: number
  capacity: number
  /** A storage with a weight bound: the total weight of its entries. */
  weight?: number
  /** A storage with a weight bound: that bound. */
  maxWeight?: number
}

export interface NativeMetrics {
  requestCount: number
  hitCount: number
  hitRate: number
  missCount: number
  missRate: number
  loadSuccessCount: number
  loadFailureCount: number
  loadFailureRate: number
  loadCount: number
  totalLoadTime: number
  averageLoadTime: number
}

export interface NativeBloomFilter {
  contains(key: string): boolean
  insert(key: string): boolean
  clear(): void
  readonly size: number
  readonly capacity: number
  readonly bits: number
  readonly hashCount: number
}

export interface NativeBinding {
  createLocalStorage(policy: string, size: number, maxWeight?: number): NativeLocalStorage
  createMetrics(): number
  metricsRecordHits(id: number, n: number): void
  metricsRecordMisses(id: number, n: number): void
  metricsRecordLoad(id: number, ok: boolean, elapsedNs: number): void
  metricsReset(id: number): void
  metricsSnapshot(id: number): NativeMetrics
  BloomFilter: new (capacity: number, falsePositiveRate: number) => NativeBloomFilter
}

/** The platform triple napi-rs names its packages by, e.g. `linux-x64-gnu`. */
export function platformTriple(): string {
  const { platform, arch } = process
  if (platform === 'linux') {
    const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined
    return `linux-${arch}-${report?.header?.glibcVersionRuntime ? 'gnu' : 'musl'}`
  }
  if (platform === 'win32') return `win32-${arch}-msvc`
  return `${platform}-${arch}`
}

/**
 * Loads the addon through the generated loader, which tries a local build (`native/*.node`, in a
 * checkout) and then the platform package (`cacheme-<triple>`, an optional dependency). When neither
 * is there, one error says what was looked for and how to get it.
 */
function loadBinding(): NativeBinding {
  try {
    // The compiled file lives in dist/lib; the loader in native/.
    return require('../../native/binding.js') as NativeBinding
  } catch (cause) {
    const triple = platformTriple()
    throw new Error(
      `cacheme: no native binary for ${triple} (Node ${process.version}). ` +
        `Looked for native/cacheme.${triple}.node and the package cacheme-${triple}. ` +
        `If your platform is listed in cacheme's README, reinstall without --no-optional / --omit=optional ` +
        `so npm installs cacheme-${triple}; otherwise build from source: install Rust (https://rustup.rs), ` +
        `then run "npm run build:native" in the cacheme package directory.`,
      { cause },
    )
  }
}

export const native: NativeBinding = loadBinding()
