// What a backend module tells the registry about itself. storage.ts opens every kind of storage from
// these descriptions alone, so a new backend is one module exporting one, listed in registry.ts.

import type { LocalStore } from './local'
import type { RemoteStorage } from './remote'
import type { Driver, OptionChecks } from './shared'

interface Described<O extends object> {
  /** Names the backend in messages: "redis", "postgresql". */
  readonly name: string
  /** The URL schemes it opens, lower case, without `://`. */
  readonly schemes: readonly string[]
  /**
   * The options it takes besides url (and the ones every remote storage takes: serializer, timeout,
   * and cleanupInterval with periodic cleanup), each with its check. The opener runs the checks, so
   * a bad value is refused when the storage opens.
   */
  readonly options: OptionChecks<O>
  /**
   * Checks the url and required options when the Storage is created; `rest` is the url after
   * `scheme://`. Throws StorageError CACHEME_INVALID_STORAGE_URL or InvalidArgumentError.
   */
  checkUrl?(rest: string, url: string, options: O): void
}

/** An in-process storage: live JS values, no serializer, no timeout. */
export interface LocalBackend<O extends object> extends Described<O> {
  readonly kind: 'local'
  open(url: string, rest: string, options: O): LocalStore
}

/** A storage of bytes behind the RemoteStorage contract (remote.ts). */
export interface RemoteBackend<O extends object> extends Described<O> {
  readonly kind: 'remote'
  /** The npm package the opener requires; missing, the storage fails to open with its install hint. */
  readonly driver: Driver
  /**
   * 'periodic': expired entries stay until a cleanupExpired pass deletes them, so the storage runs
   * one every cleanupInterval ms (cleanup.ts). 'none': the backend reclaims them itself.
   */
  readonly cleanup: 'periodic' | 'none'
  /** Longest stored key it accepts, the maxKeyLength of its adapters. */
  readonly maxKeyLength: number
  /** Milliseconds a call may take by default, when 1000 is too short for the backend. */
  readonly defaultTimeout?: number
  open(url: string, rest: string, options: O): Promise<RemoteStorage>
}

// biome-ignore lint/suspicious/noExplicitAny: a list holds backends of different option types
export type Backend<O extends object = any> = LocalBackend<O> | RemoteBackend<O>

/** The options type of a backend. */
export type OptionsOf<B> = B extends { open(url: string, rest: string, options: infer O): unknown }
  ? O
  : never
