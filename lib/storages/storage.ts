// `new Storage({ url, ...options })` or `new Storage({ adapter, ...options })`, and the registry of
// named storages. A Storage is either local (a LocalStore of live values) or remote (a RemoteStorage
// adapter moving bytes, every call bounded by the storage's timeout). A url names a backend listed
// in registry.ts, which opens it; an adapter is a user's own RemoteStorage, checked when the Storage
// is created and from then on treated like a built-in one.

import { InvalidArgumentError, StorageError } from '../errors'
import { badTag } from '../serializers/frame'
import { isSerializer, type Serializer } from '../serializers/serializer'
import type { Backend } from './backend'
import { startCleanup } from './cleanup'
import { withTimeout } from './deadline'
import type { LocalStore } from './local'
import { type BackendOptions, backendFor, KNOWN_SCHEMES } from './registry'
import { checkRemoteStorage, type RemoteStorage } from './remote'
import { CLEANUP_BATCH, checkDriver, urlError } from './shared'

/** What every remote storage takes, whatever its backend. */
export interface RemoteStorageOptions {
  /** Remote storages: serializer for nodes that name none (default: MsgPackSerializer). */
  readonly serializer?: Serializer | undefined
  /**
   * Remote storages: milliseconds one call (get, batch get, write, delete) may take before it counts
   * as failed — a read then is a miss, a write is skipped (both reported). Bounds how long a dead
   * server can stall a request. Default 1000; 5000 for SQLite, whose writers may wait on a file lock.
   */
  readonly timeout?: number | undefined
  /**
   * Storages that need their expired entries deleted (postgresql, mysql, mongodb, and an adapter
   * with cleanupExpired): milliseconds between two passes that delete them in bounded batches
   * (default 60000; 0 turns it off, e.g. when a cron job calls `storage.cleanupExpired()`). SQLite
   * cleans up inside its writer; Redis expires keys itself.
   */
  readonly cleanupInterval?: number | undefined
}

/**
 * A storage of a built-in backend: `local://lru`, `local://tlfu`, `sqlite:///path/to/file`,
 * `redis://`, `rediss://`, `postgresql://`, `mysql://`, `mongodb://`, with that backend's options.
 */
export type UrlStorageOptions = { readonly url: string } & RemoteStorageOptions & BackendOptions

/** A storage over your own implementation of RemoteStorage. */
export interface AdapterStorageOptions extends RemoteStorageOptions {
  readonly adapter: RemoteStorage
}

export type StorageOptions = UrlStorageOptions | AdapterStorageOptions

const DEFAULT_CLEANUP_INTERVAL_MS = 60_000
/** Default of `timeout`: a network round trip is well under a millisecond on a healthy server. */
const DEFAULT_TIMEOUT_MS = 1000
/** setTimeout's largest delay. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1

/** Where a Storage's data lives: a listed backend opened from a url, or a user's adapter. */
type Source =
  | {
      readonly backend: Backend
      readonly url: string
      /** The url after `scheme://`. */
      readonly rest: string
      readonly options: UrlStorageOptions
    }
  | { readonly adapter: RemoteStorage }

export class Storage {
  /** The url it was created with; undefined for a storage over your own adapter. */
  readonly url: string | undefined
  /** The backend's name ("local", "redis", …), or "adapter" for your own. */
  readonly backend: string
  /** Serializer given in the options, for nodes that name none. */
  readonly serializer: Serializer | undefined
  /** Milliseconds each remote call may take (remote storages). */
  readonly timeout: number
  readonly #source: Source
  #local: LocalStore | undefined
  #remote: RemoteStorage | undefined
  #bounded: RemoteStorage | undefined
  readonly #cleanupInterval: number
  #stopCleanup: (() => void) | undefined
  #state: 'new' | 'opening' | 'open' | 'closed' = 'new'

  constructor(options: StorageOptions) {
    const given = (typeof options === 'object' && options !== null ? options : {}) as Partial<
      UrlStorageOptions & AdapterStorageOptions
    >
    let takes: string[]
    let defaultTimeout = DEFAULT_TIMEOUT_MS
    if (given.adapter !== undefined) {
      if (given.url !== undefined) {
        throw new InvalidArgumentError(
          'CACHEME_INVALID_ARGUMENT',
          'new Storage takes a url or an adapter, not both',
        )
      }
      const adapter = checkRemoteStorage(given.adapter)
      this.#source = { adapter }
      this.backend = 'adapter'
      takes = ['adapter', 'serializer', 'timeout']
      if (adapter.cleanupExpired !== undefined) takes.push('cleanupInterval')
    } else {
      const url = given.url
      if (typeof url !== 'string') {
        throw urlError(
          'new Storage({ url, ...options }) needs a url string, e.g. "local://tlfu", or { adapter } for your own backend',
        )
      }
      const match = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(.*)$/s.exec(url)
      const backend = match === null ? undefined : backendFor(match[1] as string)
      if (match === null || backend === undefined) {
        throw urlError(
          `unsupported storage url ${JSON.stringify(url)}: expected ${KNOWN_SCHEMES.join(', ')}; ` +
            'for another backend, register your own adapter (a RemoteStorage)',
        )
      }
      this.#source = { backend, url, rest: match[2] as string, options: given as UrlStorageOptions }
      this.backend = backend.name
      takes = ['url', ...Object.keys(backend.options)]
      if (backend.kind === 'remote') {
        takes.push('serializer', 'timeout')
        if (backend.cleanup === 'periodic') takes.push('cleanupInterval')
        defaultTimeout = backend.defaultTimeout ?? DEFAULT_TIMEOUT_MS
      }
    }
    this.url = given.url
    for (const [key, value] of Object.entries(given)) {
      if (value !== undefined && !takes.includes(key)) {
        throw new InvalidArgumentError(
          'CACHEME_INVALID_ARGUMENT',
          `option ${key} does not apply to ${this.backend} storage (it takes: ${takes.slice(1).join(', ')})`,
        )
      }
    }
    if (given.serializer !== undefined && !isSerializer(given.serializer)) {
      throw new InvalidArgumentError(
        'CACHEME_INVALID_ARGUMENT',
        'serializer must be an object with dumps(value) and loads(buffer) methods',
      )
    }
    const tagProblem = given.serializer === undefined ? undefined : badTag(given.serializer)
    if (tagProblem !== undefined) throw new InvalidArgumentError('CACHEME_INVALID_ARGUMENT', tagProblem)
    this.serializer = given.serializer
    const timeout = given.timeout ?? defaultTimeout
    if (typeof timeout !== 'number' || !(timeout > 0 && timeout <= MAX_TIMEOUT_MS)) {
      throw new InvalidArgumentError(
        'CACHEME_INVALID_ARGUMENT',
        `timeout must be a number of milliseconds from 1 to ${MAX_TIMEOUT_MS}; got ${String(timeout)}`,
      )
    }
    this.timeout = timeout
    const cleanupInterval = given.cleanupInterval ?? DEFAULT_CLEANUP_INTERVAL_MS
    if (
      typeof cleanupInterval !== 'number' ||
      !Number.isInteger(cleanupInterval) ||
      cleanupInterval < 0 ||
      cleanupInterval > MAX_TIMEOUT_MS
    ) {
      throw new InvalidArgumentError(
        'CACHEME_INVALID_ARGUMENT',
        `cleanupInterval must be an integer number of milliseconds from 0 (off) to ${MAX_TIMEOUT_MS}; got ${String(cleanupInterval)}`,
      )
    }
    this.#cleanupInterval = cleanupInterval
    const source = this.#source
    if ('backend' in source) source.backend.checkUrl?.(source.rest, source.url, source.options)
  }

  get isLocal(): boolean {
    return 'backend' in this.#source && this.#source.backend.kind === 'local'
  }

  /** The local store, once registered (local storages only). */
  get local(): LocalStore | undefined {
    return this.#local
  }

  /** The remote adapter, once registered (remote storages only): the driver's calls, unbounded. */
  get adapter(): RemoteStorage | undefined {
    return this.#remote
  }

  /** The adapter as the framework calls it: every call bounded by `timeout`. */
  get bounded(): RemoteStorage | undefined {
    return this.#bounded
  }

  get closed(): boolean {
    return this.#state === 'closed'
  }

  /** Connects and validates; called by registerStorage with the name it registers (for reports). */
  async open(name: string = this.url ?? this.backend): Promise<void> {
    if (this.#state !== 'new') {
      throw new InvalidArgumentError(
        'CACHEME_INVALID_ARGUMENT',
        `storage ${this.url ?? name} was already ${this.#state === 'closed' ? 'closed' : 'registered'}: create a new Storage`,
      )
    }
    this.#state = 'opening'
    try {
      const source = this.#source
      if ('adapter' in source) {
        // A user's adapter: its errors become StorageErrors, its timeouts keep the process alive.
        this.#attach(
          source.adapter,
          withTimeout(source.adapter, `storage ${JSON.stringify(name)}`, name, this.timeout, true),
          true,
          name,
        )
      } else if (source.backend.kind === 'local') {
        this.#local = source.backend.open(source.url, source.rest, source.options)
      } else {
        const backend = source.backend
        checkDriver(backend.name, backend.driver)
        const adapter = await backend.open(source.url, source.rest, source.options)
        const bounded = withTimeout(adapter, `${backend.name} storage`, name, this.timeout)
        this.#attach(adapter, bounded, backend.cleanup === 'periodic', name)
      }
    } catch (error) {
      this.#state = 'new'
      throw error
    }
    this.#state = 'open'
  }

  #attach(adapter: RemoteStorage, bounded: RemoteStorage, periodicCleanup: boolean, name: string): void {
    this.#remote = adapter
    this.#bounded = bounded
    if (periodicCleanup && this.#cleanupInterval > 0) {
      this.#stopCleanup = startCleanup(adapter, name, this.#cleanupInterval)
    }
  }

  /** Deletes up to `limit` expired entries of a storage that supports it; returns how many. */
  async cleanupExpired(limit = CLEANUP_BATCH): Promise<number> {
    if (this.#local !== undefined) {
      const before = this.#local.size
      this.#local.purgeExpired()
      return before - this.#local.size
    }
    return (await this.#remote?.cleanupExpired?.(limit)) ?? 0
  }

  async close(): Promise<void> {
    const remote = this.#bounded
    this.#stopCleanup?.()
    this.#stopCleanup = undefined
    this.#state = 'closed'
    this.#remote = undefined
    this.#bounded = undefined
    this.#local?.clear()
    this.#local = undefined
    await remote?.close()
  }
}

// The registry. Names are reserved while a storage opens, so two concurrent registrations of one
// name cannot both succeed.
const registry = new Map<string, Storage | 'opening'>()
const closedNames = new Set<string>()

/**
 * Opens `storage` and registers it as `name`, for nodes' `caches` to name. `storage` is a
 * `new Storage({ url | adapter, ...options })`, or your own RemoteStorage object, which is short for
 * `new Storage({ adapter: storage })` (default timeout, no serializer of its own).
 */
export async function registerStorage(name: string, storage: Storage | RemoteStorage): Promise<void> {
  if (typeof name !== 'string' || name.length === 0) {
    throw new InvalidArgumentError('CACHEME_INVALID_ARGUMENT', 'storage name must be a non-empty string')
  }
  if (!(storage instanceof Storage)) storage = new Storage({ adapter: checkRemoteStorage(storage) })
  if (registry.has(name)) {
    throw new InvalidArgumentError(
      'CACHEME_INVALID_ARGUMENT',
      `storage name ${JSON.stringify(name)} is already registered`,
    )
  }
  registry.set(name, 'opening')
  try {
    await storage.open(name)
  } catch (error) {
    registry.delete(name)
    throw error
  }
  registry.set(name, storage)
  closedNames.delete(name)
}

/** The storage registered as `name`, or a typed error saying why there is none. */
export function storageNamed(name: string): Storage {
  const storage = registry.get(name)
  if (storage instanceof Storage) return storage
  if (storage === 'opening') {
    throw new StorageError(
      'CACHEME_UNKNOWN_STORAGE',
      `storage ${JSON.stringify(name)} is still opening: await registerStorage first`,
    )
  }
  if (closedNames.has(name)) {
    throw new StorageError('CACHEME_CLOSED', `storage ${JSON.stringify(name)} was closed by close()`)
  }
  const known = [...registry.keys()].map((n) => JSON.stringify(n)).join(', ') || 'none'
  throw new StorageError(
    'CACHEME_UNKNOWN_STORAGE',
    `unknown storage ${JSON.stringify(name)} (registered: ${known})`,
  )
}

/** Every registered remote storage, by name, as the framework calls it (bounded by its timeout). */
export function* remoteStorages(): Iterable<[string, RemoteStorage]> {
  for (const [name, storage] of registry) {
    if (storage instanceof Storage && storage.bounded !== undefined) yield [name, storage.bounded]
  }
}

/** Closes every registered storage and empties the registry (names may be registered again). */
export async function closeStorages(): Promise<void> {
  const open: Storage[] = []
  for (const [name, storage] of registry) {
    if (storage instanceof Storage) {
      open.push(storage)
      registry.delete(name)
      closedNames.add(name)
    }
  }
  const results = await Promise.allSettled(open.map((storage) => storage.close()))
  const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected')
  if (failed !== undefined) throw failed.reason
}
