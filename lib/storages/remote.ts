// The contract between the framework and a remote storage backend. Adapters move bytes only: keys
// arrive fully built (`{prefix}:{key}:{version}`), values arrive encoded by the node's serializer,
// TTLs arrive in milliseconds. Everything else (tiers, coalescing, metrics, decoding, timeouts) is
// the framework's job, so an adapter is a thin mapping onto one driver's batch operations. The
// built-in backends implement it, and so can a user's object given to registerStorage.

import { InvalidArgumentError } from '../errors'

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
  /** Optional: reclaim up to `limit` expired entries, returning how many went. */
  cleanupExpired?(limit: number): Promise<number>
  /** Release connections, threads and timers so the process can exit. */
  close(): Promise<void>
}

const METHODS = ['get', 'getMany', 'set', 'setMany', 'remove', 'close'] as const

/**
 * `value` as a RemoteStorage, or an InvalidArgumentError naming what is missing or wrong. Run when a
 * user's adapter is registered, so a bad one fails there rather than on its first request.
 */
export function checkRemoteStorage(value: unknown): RemoteStorage {
  const contract = `an object implementing RemoteStorage (${METHODS.join(', ')}, maxKeyLength)`
  if (typeof value !== 'object' || value === null) {
    throw new InvalidArgumentError(
      'CACHEME_INVALID_ARGUMENT',
      `a storage adapter must be ${contract}; got ${value === null ? 'null' : typeof value}`,
    )
  }
  const adapter = value as Record<string, unknown>
  const missing = METHODS.filter((method) => typeof adapter[method] !== 'function')
  if (missing.length > 0) {
    throw new InvalidArgumentError(
      'CACHEME_INVALID_ARGUMENT',
      `storage adapter has no ${missing.join(', ')} method${missing.length > 1 ? 's' : ''}: it must be ${contract}`,
    )
  }
  if (adapter.cleanupExpired !== undefined && typeof adapter.cleanupExpired !== 'function') {
    throw new InvalidArgumentError(
      'CACHEME_INVALID_ARGUMENT',
      'storage adapter cleanupExpired must be a method, or absent',
    )
  }
  const { maxKeyLength } = adapter
  if (
    typeof maxKeyLength !== 'number' ||
    !(maxKeyLength > 0) ||
    !(Number.isInteger(maxKeyLength) || maxKeyLength === Number.POSITIVE_INFINITY)
  ) {
    throw new InvalidArgumentError(
      'CACHEME_INVALID_ARGUMENT',
      `storage adapter maxKeyLength must be a positive integer (or Infinity); got ${String(maxKeyLength)}`,
    )
  }
  return value as RemoteStorage
}
