// The contract between the framework and a remote storage backend. Adapters move bytes only: keys
// arrive fully built (`{prefix}:{key}:{version}`), values arrive encoded by the node's serializer,
// TTLs arrive in milliseconds. Everything else (tiers, coalescing, metrics, decoding) is the
// framework's job, so an adapter is a thin mapping onto one driver's batch operations.

/** Entries for `setMany`: stored key and encoded value. */
export type RemoteEntry = readonly [key: string, value: Buffer]

export interface RemoteStorage {
  /** Longest stored key the backend accepts (characters); longer keys are refused up front. */
  readonly maxKeyLength: number
  /** The value, or undefined for a missing or expired entry. */
  get(key: string): Promise<Buffer | undefined>
  /** One round trip (or one per bounded chunk) for all keys; undefined marks a miss, in key order. */
  getMany(keys: readonly string[]): Promise<(Buffer | undefined)[]>
  /** Insert or replace; `ttlMs` null means no expiry. */
  set(key: string, value: Buffer, ttlMs: number | null): Promise<void>
  /** Insert or replace every entry with one TTL, in one round trip (or bounded chunks). */
  setMany(entries: readonly RemoteEntry[], ttlMs: number | null): Promise<void>
  remove(key: string): Promise<void>
  /** Optional batch delete; the framework falls back to concurrent `remove` calls. */
  removeMany?(keys: readonly string[]): Promise<void>
  /** Optional: reclaim up to `limit` expired entries, returning how many went. */
  cleanupExpired?(limit: number): Promise<number>
  /** Release connections, threads and timers so the process can exit. */
  close(): Promise<void>
}
