// `redis://` and `rediss://` storage over node-redis (`@redis/client`), standalone or Redis Cluster
// (`cluster: true`).
//
// Why node-redis: it queues the commands of one event-loop turn and writes them to the socket in one
// corked write, so concurrent calls pipeline by themselves, and it takes Buffer values without a
// copy per argument; both matter on the hot paths (a get, the write-back after a load).
//
// Expiry is Redis's own (SET … PX), so there is nothing to clean up. Batches: getMany is one MGET and
// setMany one write of SET … PX commands (a single MSET when there is no TTL). A cluster refuses
// multi-key commands across hash slots, so there a batch is split by slot (one MGET/MSET/DEL per
// slot), all issued in the same turn: each node's commands leave in one write, and a batch still
// costs one round trip of wall time.
//
// poolSize: one client multiplexes every command over one connection (one per node in a cluster),
// so one is the default and usually enough. poolSize N opens N independent clients and spreads calls
// round-robin over them, which helps only when large values make calls queue behind each other on
// one socket.

import { createRequire } from 'node:module'
import type { RedisClientOptions, RedisClusterOptions } from '@redis/client'
import { InvalidArgumentError } from '../errors'
import type { RemoteBackend } from './backend'
import type { RemoteEntry, RemoteStorage } from './remote'
import {
  closedError,
  failure,
  integerOption,
  type OptionChecks,
  readOptions,
  redact,
  storageError,
} from './shared'

/**
 * Longest key, in characters. Redis itself takes keys up to 512 MB, but every command hashes and
 * sends its keys whole: a bound keeps a runaway key() from costing every call, and 512 is the bound
 * of the SQL backends, so a key that fits one of these tiers fits the others.
 */
const MAX_KEY_LENGTH = 512

/** Reconnection backoff once a client has been connected: 50 ms more per attempt, at most 1 s. */
const RECONNECT_STEP_MS = 50
const RECONNECT_MAX_MS = 1_000

export interface RedisStorageOptions {
  /** redis: treat the URL's host(s) as seed nodes of a Redis Cluster. */
  readonly cluster?: boolean | undefined
  /** redis: independent clients used round-robin (default 1); see lib/storages/redis.ts. */
  readonly poolSize?: number | undefined
}

const OPTIONS: OptionChecks<RedisStorageOptions> = {
  cluster: (cluster = false) => {
    if (typeof cluster !== 'boolean') {
      throw new InvalidArgumentError(
        'CACHEME_INVALID_ARGUMENT',
        `redis cluster must be a boolean; got ${cluster}`,
      )
    }
    return cluster
  },
  poolSize: integerOption('redis poolSize', 1, 64, 1),
}

/**
 * The commands this adapter sends, as both a client and a cluster answer them once strings are read
 * as Buffers. (The driver's own types are generic over modules, scripts and RESP versions; this is
 * the part used here.)
 */
interface Commands {
  mGet(keys: string[]): Promise<(Buffer | null)[]>
  mSet(entries: [string, Buffer][]): Promise<unknown>
  del(keys: string | string[]): Promise<number>
  info(section: string): Promise<Buffer | string>
  connect(): Promise<unknown>
  close(): Promise<void>
  destroy(): void
  on(event: 'error', listener: (error: unknown) => void): unknown
}

interface Client {
  readonly commands: Commands
  /** A Redis Cluster: multi-key commands go one hash slot at a time. */
  readonly cluster: boolean
  /**
   * Sends one single-key command as raw arguments, replies read as Buffers. GET and SET go this
   * way: the driver's typed command methods parse their options and arguments on every call,
   * which costs more than the round trip's own work on the client.
   */
  readonly send: (key: string, args: (string | Buffer)[]) => Promise<unknown>
}

/** The raw-arguments entry points of the driver, as a client and a cluster offer them. */
interface ClientSend {
  sendCommand(args: (string | Buffer)[], options: object): Promise<unknown>
}
interface ClusterSend {
  sendCommand(
    firstKey: string,
    isReadonly: boolean,
    args: (string | Buffer)[],
    options: object,
  ): Promise<unknown>
}

// node-redis is an optional peer dependency: required when a storage connects, not when cacheme loads.
function nodeRedis(): typeof import('@redis/client') {
  return require('@redis/client')
}

let keySlotOf: ((key: string) => number) | undefined
/**
 * The hash-slot function node-redis itself routes with, loaded through it so that it resolves even
 * where dependencies are not hoisted.
 */
function keySlot(key: string): number {
  keySlotOf ??= createRequire(require.resolve('@redis/client'))('cluster-key-slot') as (key: string) => number
  return keySlotOf(key)
}

function presentOrUndefined(value: Buffer | null): Buffer | undefined {
  return value ?? undefined
}

function getFailed(error: unknown): never {
  throw failure('redis', 'GET', error)
}

function setFailed(error: unknown): never {
  throw failure('redis', 'SET', error)
}

function ignoreReply(): void {}

/** SET … PX takes a positive integer. */
function px(ttlMs: number): string {
  return String(Math.max(1, Math.ceil(ttlMs)))
}

function setCommand(key: string, value: Buffer, ttl: string | null): (string | Buffer)[] {
  return ttl === null ? ['SET', key, value] : ['SET', key, value, 'PX', ttl]
}

/**
 * Seed nodes and credentials of a cluster URL: `redis[s]://[user:pass@]host:port[,host:port…]`.
 * (node-redis takes one URL per node.)
 */
function clusterConfig(
  url: string,
): Pick<RedisClusterOptions, 'rootNodes' | 'defaults'> & { readonly tls: boolean } {
  const match = /^(rediss?):\/\/(?:([^@/]*)@)?([^/?#]+)(\/[^?#]*)?(?:[?#].*)?$/i.exec(url)
  if (match === null)
    throw new InvalidArgumentError('CACHEME_INVALID_ARGUMENT', `bad redis url ${redact(url)}`)
  const [, scheme, auth, hosts, path] = match as unknown as [
    string,
    string,
    string | undefined,
    string,
    string?,
  ]
  if (path !== undefined && path !== '' && path !== '/' && path !== '/0') {
    throw new InvalidArgumentError(
      'CACHEME_INVALID_ARGUMENT',
      'redis cluster has database 0 only; drop the /db path',
    )
  }
  const rootNodes = hosts.split(',').map((host) => ({ url: `${scheme}://${host}` }))
  const defaults: NonNullable<RedisClusterOptions['defaults']> = {}
  if (auth !== undefined) {
    const [user = '', password] = auth.split(':', 2) as [string, string?]
    if (user !== '') defaults.username = decodeURIComponent(user)
    if (password !== undefined) defaults.password = decodeURIComponent(password)
  }
  return { rootNodes, defaults, tls: scheme.toLowerCase() === 'rediss' }
}

/**
 * Reconnects with a short backoff once connected; before that, the first failure ends the attempt
 * (open() reports it instead of retrying forever).
 */
function reconnectAfter(connected: () => boolean) {
  return (retries: number, cause: Error): number | Error =>
    connected() ? Math.min(RECONNECT_MAX_MS, (retries + 1) * RECONNECT_STEP_MS) : cause
}

async function connect(url: string, cluster: boolean): Promise<Client> {
  let connected = false
  let lastError: unknown
  const driver = nodeRedis()
  const buffers = { [driver.RESP_TYPES.BLOB_STRING]: Buffer } as const
  let commands: Commands
  if (cluster) {
    const { rootNodes, defaults, tls } = clusterConfig(url)
    const reconnectStrategy = reconnectAfter(() => connected)
    const options: RedisClusterOptions = {
      rootNodes,
      defaults: {
        ...defaults,
        disableOfflineQueue: true,
        // Nodes found through the seeds are reached the way the seeds are.
        socket: tls ? { tls: true, reconnectStrategy } : { reconnectStrategy },
      },
    }
    commands = driver.createCluster(options).withTypeMapping(buffers) as unknown as Commands
  } else {
    // No offline queue: while the client reconnects, a command fails at once (the tier reads as a
    // miss) instead of waiting out the storage timeout, and no write queued during an outage lands
    // after a later invalidate once the server is back.
    const options: RedisClientOptions = {
      url,
      disableOfflineQueue: true,
      socket: { reconnectStrategy: reconnectAfter(() => connected) },
    }
    commands = driver.createClient(options).withTypeMapping(buffers) as unknown as Commands
  }
  // Without a listener the driver throws every connection error; failed commands reject on their own.
  commands.on('error', (error: unknown) => {
    lastError = error
  })
  try {
    await commands.connect()
    connected = true
    // A cluster node answers standalone commands until a batch crosses slots: refuse it up front.
    if (!cluster) {
      const info = String(await commands.info('cluster'))
      if (/cluster_enabled:1/.test(info))
        throw new Error('the server is a Redis Cluster node: pass cluster: true')
    }
    const asBuffers = { typeMapping: buffers }
    const send = cluster
      ? (key: string, args: (string | Buffer)[]) =>
          (commands as unknown as ClusterSend).sendCommand(key, false, args, asBuffers)
      : (_key: string, args: (string | Buffer)[]) =>
          (commands as unknown as ClientSend).sendCommand(args, asBuffers)
    return { commands, cluster, send }
  } catch (error) {
    discard(commands)
    const first = error instanceof Error ? error.message : String(error)
    const last = lastError instanceof Error ? lastError.message : undefined
    const reason = last === undefined || last === first ? first : `${first} (${last})`
    throw storageError('redis', `cannot connect to ${redact(url)}: ${reason}`, error)
  }
}

/** Drops a client's sockets; one that failed to connect is closed already. */
function discard(commands: Commands): void {
  try {
    commands.destroy()
  } catch {}
}

/** Indexes of `keys` grouped by hash slot (one multi-key command each in a cluster). */
function groupBySlot(keys: readonly string[]): number[][] {
  const bySlot = new Map<number, number[]>()
  keys.forEach((key, index) => {
    const slot = keySlot(key)
    const indexes = bySlot.get(slot)
    if (indexes === undefined) bySlot.set(slot, [index])
    else indexes.push(index)
  })
  return [...bySlot.values()]
}

export class RedisStorage implements RemoteStorage {
  readonly maxKeyLength = MAX_KEY_LENGTH
  readonly #clients: readonly Client[]
  #next = 0
  #closed = false

  private constructor(clients: readonly Client[]) {
    this.#clients = clients
  }

  /** Connects every client and checks the server matches the `cluster` option. */
  static async open(url: string, options: RedisStorageOptions = {}): Promise<RedisStorage> {
    const { cluster, poolSize } = readOptions(OPTIONS, options, url)
    const opened = await Promise.allSettled(Array.from({ length: poolSize }, () => connect(url, cluster)))
    const clients = opened.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []))
    const failed = opened.find((result): result is PromiseRejectedResult => result.status === 'rejected')
    if (failed !== undefined) {
      for (const client of clients) discard(client.commands)
      throw failed.reason
    }
    return new RedisStorage(clients)
  }

  // Not async: one derived promise instead of an async frame awaiting the driver's, on every get.
  get(key: string): Promise<Buffer | undefined> {
    if (this.#closed) return Promise.reject(closedError('redis'))
    return (this.#client().send(key, ['GET', key]) as Promise<Buffer | null>).then(
      presentOrUndefined,
      getFailed,
    )
  }

  async getMany(keys: readonly string[]): Promise<(Buffer | undefined)[]> {
    if (keys.length === 0) return []
    const { commands, cluster } = this.#client()
    try {
      if (!cluster) {
        // MGET's reply array is ours: mark its misses in place rather than copying it.
        const values: (Buffer | null | undefined)[] = await commands.mGet(keys as string[])
        for (let i = 0; i < values.length; i++) if (values[i] === null) values[i] = undefined
        return values as (Buffer | undefined)[]
      }
      const values = new Array<Buffer | undefined>(keys.length).fill(undefined)
      await Promise.all(
        groupBySlot(keys).map(async (indexes) => {
          const reply = await commands.mGet(indexes.map((i) => keys[i] as string))
          indexes.forEach((index, position) => {
            values[index] = reply[position] ?? undefined
          })
        }),
      )
      return values
    } catch (error) {
      throw failure('redis', 'MGET', error)
    }
  }

  // Not async, like get.
  set(key: string, value: Buffer, ttlMs: number | null): Promise<void> {
    if (this.#closed) return Promise.reject(closedError('redis'))
    const ttl = ttlMs === null ? null : px(ttlMs)
    return this.#client()
      .send(key, setCommand(key, value, ttl))
      .then(ignoreReply, setFailed)
  }

  async setMany(entries: readonly RemoteEntry[], ttlMs: number | null): Promise<void> {
    if (entries.length === 0) return
    const { commands, cluster, send } = this.#client()
    // Entries of one slot (or of a standalone server): one MSET without a TTL, else one SET … PX each.
    // Every command is issued in this turn, so the driver writes them together.
    const write = (slotEntries: RemoteEntry[]): Promise<unknown> => {
      if (ttlMs === null) return commands.mSet(slotEntries as [string, Buffer][])
      const ttl = px(ttlMs)
      return Promise.all(slotEntries.map(([key, value]) => send(key, setCommand(key, value, ttl))))
    }
    try {
      if (!cluster) {
        await write(entries as RemoteEntry[])
        return
      }
      const keys = entries.map((entry) => entry[0])
      await Promise.all(
        groupBySlot(keys).map((indexes) => write(indexes.map((i) => entries[i] as RemoteEntry))),
      )
    } catch (error) {
      throw failure('redis', 'batch SET', error)
    }
  }

  async remove(key: string): Promise<void> {
    const { commands } = this.#client()
    try {
      await commands.del(key)
    } catch (error) {
      throw failure('redis', 'DEL', error)
    }
  }

  async removeMany(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return
    const { commands, cluster } = this.#client()
    try {
      if (!cluster) {
        await commands.del(keys as string[])
        return
      }
      await Promise.all(
        groupBySlot(keys).map((indexes) => commands.del(indexes.map((i) => keys[i] as string))),
      )
    } catch (error) {
      throw failure('redis', 'DEL', error)
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await Promise.all(
      this.#clients.map(async ({ commands }) => {
        // close() waits for replies still due; a client that lost its server just drops the socket.
        await commands.close().catch(() => discard(commands))
      }),
    )
  }

  #client(): Client {
    if (this.#closed) throw closedError('redis')
    const clients = this.#clients
    if (clients.length === 1) return clients[0] as Client
    this.#next = (this.#next + 1) % clients.length
    return clients[this.#next] as Client
  }
}

/** Opens a `redis://` or `rediss://` storage (see RedisStorage). */
export function openRedis(url: string, options: RedisStorageOptions = {}): Promise<RedisStorage> {
  return RedisStorage.open(url, options)
}

/** `redis://` and `rediss://`, standalone or (`cluster: true`) Redis Cluster. */
export const redisBackend: RemoteBackend<RedisStorageOptions> = {
  kind: 'remote',
  name: 'redis',
  schemes: ['redis', 'rediss'],
  options: OPTIONS,
  driver: { package: '@redis/client', install: 'npm install @redis/client' },
  // Entries expire in Redis itself (SET … PX).
  cleanup: 'none',
  maxKeyLength: MAX_KEY_LENGTH,
  open: (url, _rest, options) => RedisStorage.open(url, options),
}
