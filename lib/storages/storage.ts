// `new Storage({ url, ...options })` and the registry of named storages. A Storage is either local
// (a LocalStore of live values) or remote (a RemoteStorage adapter moving bytes); the URL scheme
// decides which, and registerStorage opens it.

import { InvalidArgumentError, StorageError } from '../errors'
import { badTag } from '../serializers/frame'
import { isSerializer, type Serializer } from '../serializers/serializer'
import { startCleanup } from './cleanup'
import { withTimeout } from './deadline'
import { LocalStore } from './local'
import type { RemoteStorage } from './remote'

export interface StorageOptions {
  /** `local://lru`, `local://tlfu`, `sqlite:///path/to/file`, `redis://`, `rediss://`, `mongodb://`, `postgresql://`, `mysql://`. */
  readonly url: string
  /** local: maximum number of entries (required). */
  readonly size?: number | undefined
  /** SQL storages: table name (default `cacheme_data`). */
  readonly table?: string | undefined
  /** Connections; for SQLite the number of worker threads (see lib/storages/sqlite.ts). */
  readonly poolSize?: number | undefined
  /** redis: use Redis Cluster from the seed node(s). */
  readonly cluster?: boolean | undefined
  /** mongodb: database name. */
  readonly database?: string | undefined
  /** mongodb: collection name. */
  readonly collection?: string | undefined
  /** Remote storages: serializer for nodes that name none (default: MsgPackSerializer). */
  readonly serializer?: Serializer | undefined
  /**
   * Remote storages: milliseconds one call (get, batch get, write, delete) may take before it counts
   * as failed — a read then is a miss, a write is skipped (both reported). Bounds how long a dead
   * server can stall a request. Default 1000; 5000 for SQLite, whose writers may wait on a file lock.
   */
  readonly timeout?: number | undefined
  /**
   * postgresql, mysql, mongodb: milliseconds between two passes that delete expired rows or
   * documents in bounded batches (default 60000; 0 turns it off, e.g. when a cron job calls
   * `storage.cleanupExpired()`). SQLite cleans up inside its writer; Redis expires keys itself.
   */
  readonly cleanupInterval?: number | undefined
}

const DEFAULT_CLEANUP_INTERVAL_MS = 60_000

/** Schemes whose expired entries only a periodic pass deletes (see cleanup.ts). */
const PERIODIC_CLEANUP: readonly Scheme[] = ['postgresql', 'mysql', 'mongodb']

/** Default of `timeout`: a network round trip is well under a millisecond on a healthy server. */
const DEFAULT_TIMEOUT_MS = 1000
/** SQLite's default matches its busy_timeout: a writer may legitimately wait that long for the lock. */
const SQLITE_TIMEOUT_MS = 5000
/** setTimeout's largest delay. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1

type Scheme = 'local' | 'sqlite' | 'redis' | 'mongodb' | 'postgresql' | 'mysql'

const SCHEMES: Readonly<Record<string, Scheme>> = {
  local: 'local',
  sqlite: 'sqlite',
  redis: 'redis',
  rediss: 'redis',
  mongodb: 'mongodb',
  'mongodb+srv': 'mongodb',
  postgresql: 'postgresql',
  postgres: 'postgresql',
  mysql: 'mysql',
}

/** Options each kind of storage understands (besides url). */
const OPTIONS: Readonly<Record<Scheme, readonly string[]>> = {
  local: ['size'],
  sqlite: ['table', 'poolSize', 'serializer', 'timeout'],
  redis: ['cluster', 'poolSize', 'serializer', 'timeout'],
  mongodb: ['database', 'collection', 'poolSize', 'serializer', 'timeout', 'cleanupInterval'],
  postgresql: ['table', 'poolSize', 'serializer', 'timeout', 'cleanupInterval'],
  mysql: ['table', 'poolSize', 'serializer', 'timeout', 'cleanupInterval'],
}

function urlError(message: string): StorageError {
  return new StorageError('CACHEME_INVALID_STORAGE_URL', message)
}

export class Storage {
  readonly url: string
  readonly scheme: Scheme
  /** Serializer given in the options, for nodes that name none. */
  readonly serializer: Serializer | undefined
  readonly #options: StorageOptions
  /** Everything after `scheme://`. */
  readonly #rest: string
  /** Milliseconds each remote call may take (remote storages). */
  readonly timeout: number
  #local: LocalStore | undefined
  #remote: RemoteStorage | undefined
  #bounded: RemoteStorage | undefined
  readonly #cleanupInterval: number
  #stopCleanup: (() => void) | undefined
  #state: 'new' | 'opening' | 'open' | 'closed' = 'new'

  constructor(options: StorageOptions) {
    if (typeof options !== 'object' || options === null || typeof options.url !== 'string') {
      throw urlError('new Storage({ url, ...options }) needs a url string, e.g. "local://tlfu"')
    }
    const url = options.url
    const match = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(.*)$/s.exec(url)
    const scheme = match === null ? undefined : SCHEMES[(match[1] as string).toLowerCase()]
    if (match === null || scheme === undefined) {
      throw urlError(
        `unsupported storage url ${JSON.stringify(url)}: expected local://lru, local://tlfu, sqlite:///path, ` +
          'redis://, rediss://, mongodb://, postgresql:// or mysql://',
      )
    }
    this.url = url
    this.scheme = scheme
    this.#rest = match[2] as string
    this.#options = options
    for (const key of Object.keys(options)) {
      if (
        key !== 'url' &&
        options[key as keyof StorageOptions] !== undefined &&
        !OPTIONS[scheme].includes(key)
      ) {
        throw new InvalidArgumentError(
          'CACHEME_INVALID_ARGUMENT',
          `option ${key} does not apply to ${scheme} storage (it takes: ${OPTIONS[scheme].join(', ')})`,
        )
      }
    }
    if (options.serializer !== undefined && !isSerializer(options.serializer)) {
      throw new InvalidArgumentError(
        'CACHEME_INVALID_ARGUMENT',
        'serializer must be an object with dumps(value) and loads(buffer) methods',
      )
    }
    const tagProblem = options.serializer === undefined ? undefined : badTag(options.serializer)
    if (tagProblem !== undefined) throw new InvalidArgumentError('CACHEME_INVALID_ARGUMENT', tagProblem)
    this.serializer = options.serializer
    const timeout = options.timeout ?? (scheme === 'sqlite' ? SQLITE_TIMEOUT_MS : DEFAULT_TIMEOUT_MS)
    if (typeof timeout !== 'number' || !(timeout > 0 && timeout <= MAX_TIMEOUT_MS)) {
      throw new InvalidArgumentError(
        'CACHEME_INVALID_ARGUMENT',
        `timeout must be a number of milliseconds from 1 to ${MAX_TIMEOUT_MS}; got ${String(timeout)}`,
      )
    }
    this.timeout = timeout
    const cleanupInterval = options.cleanupInterval ?? DEFAULT_CLEANUP_INTERVAL_MS
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
    if (scheme === 'local') {
      if (this.#rest !== 'lru' && this.#rest !== 'tlfu') {
        throw urlError(`local storage url must be local://lru or local://tlfu; got ${JSON.stringify(url)}`)
      }
      if (options.size === undefined) {
        throw new InvalidArgumentError(
          'CACHEME_INVALID_ARGUMENT',
          `${url} needs a size (maximum number of entries)`,
        )
      }
    }
    if (scheme === 'sqlite' && this.#rest === '') {
      throw urlError(
        'sqlite url needs a path: sqlite:///absolute/path.db, sqlite://relative.db or sqlite://:memory:',
      )
    }
  }

  get isLocal(): boolean {
    return this.scheme === 'local'
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
  async open(name: string = this.url): Promise<void> {
    if (this.#state !== 'new') {
      throw new InvalidArgumentError(
        'CACHEME_INVALID_ARGUMENT',
        `storage ${this.url} was already ${this.#state === 'closed' ? 'closed' : 'registered'}: create a new Storage`,
      )
    }
    this.#state = 'opening'
    try {
      if (this.scheme === 'local') {
        this.#local = new LocalStore(this.#rest as 'lru' | 'tlfu', this.#options.size as number)
      } else {
        const adapter = await OPENERS[this.scheme](this.url, this.#rest, this.#options)
        this.#remote = adapter
        this.#bounded = withTimeout(adapter, `${this.scheme} storage`, this.timeout)
        if (this.#cleanupInterval > 0 && PERIODIC_CLEANUP.includes(this.scheme)) {
          this.#stopCleanup = startCleanup(adapter, name, this.#cleanupInterval)
        }
      }
    } catch (error) {
      this.#state = 'new'
      throw error
    }
    this.#state = 'open'
  }

  /** Deletes up to `limit` expired entries of a remote storage that supports it; returns how many. */
  async cleanupExpired(limit = 1000): Promise<number> {
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

/**
 * How each remote scheme opens its adapter, from the full url, the part after `scheme://` and the
 * options (already checked to be ones the scheme takes). A backend is one entry here plus its file.
 */
const OPENERS: Record<
  Exclude<Scheme, 'local'>,
  (url: string, rest: string, options: StorageOptions) => Promise<RemoteStorage>
> = {
  sqlite: (_url, path, options) =>
    loadSqlite().SqliteStorage.open(path, { table: options.table, poolSize: options.poolSize }),
  redis: (url, _rest, options) =>
    loadDriver('ioredis', () => require('./redis') as typeof import('./redis')).openRedis(url, {
      cluster: options.cluster,
      poolSize: options.poolSize,
    }),
  postgresql: (url, _rest, options) =>
    loadDriver('pg', () => require('./postgresql') as typeof import('./postgresql')).openPostgres(url, {
      table: options.table,
      poolSize: options.poolSize,
    }),
  mysql: (url, _rest, options) =>
    loadDriver('mysql2', () => require('./mysql') as typeof import('./mysql')).openMysql(url, {
      table: options.table,
      poolSize: options.poolSize,
    }),
  mongodb: (url, _rest, options) =>
    loadDriver('mongodb', () => require('./mongodb') as typeof import('./mongodb')).openMongo(url, {
      database: options.database,
      collection: options.collection,
      poolSize: options.poolSize,
    }),
}

/**
 * A server storage's adapter, loaded on first use: its driver is an optional peer dependency, so
 * importing cacheme must not require it.
 */
function loadDriver<M>(driver: string, load: () => M): M {
  try {
    require.resolve(driver)
  } catch (error) {
    throw new StorageError('CACHEME_STORAGE', `this storage needs its driver: npm install ${driver}`, {
      cause: error,
    })
  }
  return load()
}

/** The SQLite adapter, loaded on first use: better-sqlite3 is an optional peer dependency. */
function loadSqlite(): typeof import('./sqlite') {
  try {
    require.resolve('better-sqlite3')
  } catch (error) {
    throw new StorageError(
      'CACHEME_STORAGE',
      'sqlite:// storages need better-sqlite3: npm install better-sqlite3',
      {
        cause: error,
      },
    )
  }
  return require('./sqlite')
}

// The registry. Names are reserved while a storage opens, so two concurrent registrations of one
// name cannot both succeed.
const registry = new Map<string, Storage | 'opening'>()
const closedNames = new Set<string>()

export async function registerStorage(name: string, storage: Storage): Promise<void> {
  if (typeof name !== 'string' || name.length === 0) {
    throw new InvalidArgumentError('CACHEME_INVALID_ARGUMENT', 'storage name must be a non-empty string')
  }
  if (!(storage instanceof Storage)) {
    throw new InvalidArgumentError(
      'CACHEME_INVALID_ARGUMENT',
      'registerStorage needs a `new Storage({ url })`',
    )
  }
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
