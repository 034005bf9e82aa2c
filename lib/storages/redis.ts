// `redis://` and `rediss://` storage over ioredis, standalone or Redis Cluster (`cluster: true`).
//
// Expiry is Redis's own (SET … PX), so there is nothing to clean up. Batches: getMany is one MGET and
// setMany one pipeline (a single MSET when there is no TTL). A cluster refuses multi-key commands
// across hash slots and ioredis sends a pipeline to one node only, so there a batch is split by slot
// (one MGET/MSET/DEL per slot) and the slots by the node serving them: one pipeline per node, all
// sent at once, so a batch still costs one round trip of wall time.
//
// poolSize: ioredis multiplexes every command over one connection (one per node in a cluster) and
// pipelines them, so one client is the default and usually enough. poolSize N opens N independent
// clients and spreads calls round-robin over them, which helps only when large values make calls
// queue behind each other on one socket.

import { createRequire } from 'node:module'
import type { Cluster, ClusterNode, Redis, RedisOptions } from 'ioredis'
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

type Client = Redis | Cluster

// ioredis is an optional peer dependency: required when a storage connects, not when cacheme loads.
function ioredis(): typeof import('ioredis') {
  return require('ioredis')
}

let keySlotOf: ((key: string) => number) | undefined
/**
 * The hash-slot function ioredis itself routes with, loaded through ioredis so that it resolves even
 * where dependencies are not hoisted.
 */
function keySlot(key: string): number {
  keySlotOf ??= createRequire(require.resolve('ioredis'))('cluster-key-slot') as (key: string) => number
  return keySlotOf(key)
}

function isCluster(client: Client): client is Cluster {
  return client.isCluster
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

/** PX takes a positive integer. */
function px(ttlMs: number): number {
  return Math.max(1, Math.ceil(ttlMs))
}

/**
 * Seed nodes and shared options of a cluster URL: `redis[s]://[user:pass@]host:port[,host:port…]`.
 * (ioredis parses standalone URLs itself, but a cluster takes a node list.)
 */
function clusterConfig(url: string): { nodes: ClusterNode[]; redisOptions: RedisOptions } {
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
  const nodes = hosts.split(',').map((host): ClusterNode => {
    const parsed = new URL(`redis://${host}`)
    return { host: parsed.hostname.replace(/^\[|\]$/g, ''), port: Number(parsed.port || 6379) }
  })
  const redisOptions: RedisOptions = {}
  if (auth !== undefined) {
    const [user = '', password] = auth.split(':', 2) as [string, string?]
    if (user !== '') redisOptions.username = decodeURIComponent(user)
    if (password !== undefined) redisOptions.password = decodeURIComponent(password)
  }
  if (scheme.toLowerCase() === 'rediss') redisOptions.tls = {}
  return { nodes, redisOptions }
}

async function connect(url: string, cluster: boolean): Promise<Client> {
  let lastError: unknown
  let client: Client
  const driver = ioredis()
  if (cluster) {
    const { nodes, redisOptions } = clusterConfig(url)
    client = new driver.Cluster(nodes, { lazyConnect: true, redisOptions })
  } else {
    // No offline queue: while ioredis reconnects, a command fails at once (the tier reads as a miss)
    // instead of waiting out the storage timeout, and no write queued during an outage lands after
    // a later invalidate once the server is back.
    client = new driver.Redis(url, { lazyConnect: true, enableOfflineQueue: false })
  }
  // Without a listener ioredis prints every connection error; failed commands reject on their own.
  client.on('error', (error: unknown) => {
    lastError = error
  })
  try {
    await client.connect()
    // A cluster node answers standalone commands until a batch crosses slots: refuse it up front.
    const info = await client.info('cluster')
    const clusterEnabled = /cluster_enabled:1/.test(info)
    if (clusterEnabled && !cluster) throw new Error('the server is a Redis Cluster node: pass cluster: true')
    if (!clusterEnabled && cluster)
      throw new Error('cluster: true, but the server is not a Redis Cluster node')
    // ioredis connects to each node on first use: reach every master now, so that a dead one fails
    // open and the first batch pays no connection setup.
    if (isCluster(client)) await Promise.all(client.nodes('master').map((node) => node.ping()))
    return client
  } catch (error) {
    client.disconnect()
    const first = error instanceof Error ? error.message : String(error)
    // A cluster's "Failed to refresh slots cache" keeps the node's own answer in lastNodeError.
    const nodeError = (lastError as { lastNodeError?: unknown } | undefined)?.lastNodeError ?? lastError
    const last = nodeError instanceof Error ? nodeError.message : undefined
    const reason = last === undefined || last === first ? first : `${first} (${last})`
    throw storageError('redis', `cannot connect to ${redact(url)}: ${reason}`, error)
  }
}

/**
 * Indexes of `keys` grouped as a cluster pipeline needs them: by the nodes serving the slot (one
 * pipeline each), then by slot (one multi-key command each).
 */
function groupForCluster(cluster: Cluster, keys: readonly string[]): number[][][] {
  const byNode = new Map<string, Map<number, number[]>>()
  keys.forEach((key, index) => {
    const slot = keySlot(key)
    // Unknown owner (slots not loaded): a group of its own; ioredis then routes the pipeline itself.
    const node = cluster.slots[slot]?.join(';') ?? `slot ${slot}`
    let slots = byNode.get(node)
    if (slots === undefined) {
      slots = new Map()
      byNode.set(node, slots)
    }
    const indexes = slots.get(slot)
    if (indexes === undefined) slots.set(slot, [index])
    else indexes.push(index)
  })
  return [...byNode.values()].map((slots) => [...slots.values()])
}

/** Runs a pipeline, throwing the first command error. */
async function run(pipeline: ReturnType<Client['pipeline']>): Promise<unknown[]> {
  const results = (await pipeline.exec()) ?? []
  return results.map(([error, value]) => {
    if (error) throw error
    return value
  })
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
      for (const client of clients) client.disconnect()
      throw failed.reason
    }
    return new RedisStorage(clients)
  }

  // Not async: one derived promise instead of an async frame awaiting the driver's, on every get.
  get(key: string): Promise<Buffer | undefined> {
    if (this.#closed) return Promise.reject(closedError('redis'))
    return this.#client().getBuffer(key).then(presentOrUndefined, getFailed)
  }

  async getMany(keys: readonly string[]): Promise<(Buffer | undefined)[]> {
    if (keys.length === 0) return []
    const client = this.#client()
    try {
      if (!isCluster(client)) {
        // MGET's reply array is ours: mark its misses in place rather than copying it.
        const values: (Buffer | null | undefined)[] = await client.mgetBuffer(...keys)
        for (let i = 0; i < values.length; i++) if (values[i] === null) values[i] = undefined
        return values as (Buffer | undefined)[]
      }
      const values = new Array<Buffer | undefined>(keys.length).fill(undefined)
      await Promise.all(
        groupForCluster(client, keys).map(async (slots) => {
          const pipeline = client.pipeline()
          for (const indexes of slots) pipeline.mgetBuffer(...indexes.map((i) => keys[i] as string))
          const replies = (await run(pipeline)) as (Buffer | null)[][]
          slots.forEach((indexes, group) => {
            const reply = replies[group] as (Buffer | null)[]
            indexes.forEach((index, position) => {
              values[index] = reply[position] ?? undefined
            })
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
    const client = this.#client()
    const reply = ttlMs === null ? client.set(key, value) : client.set(key, value, 'PX', px(ttlMs))
    return reply.then(ignoreReply, setFailed)
  }

  async setMany(entries: readonly RemoteEntry[], ttlMs: number | null): Promise<void> {
    if (entries.length === 0) return
    const client = this.#client()
    // Entries of one slot, in order: MSET pairs without a TTL, else one SET … PX each.
    const write = (pipeline: ReturnType<Client['pipeline']>, slotEntries: readonly RemoteEntry[]) => {
      if (ttlMs === null) pipeline.mset(...slotEntries.flat())
      else for (const [key, value] of slotEntries) pipeline.set(key, value, 'PX', px(ttlMs))
    }
    try {
      if (!isCluster(client)) {
        if (ttlMs === null) await client.mset(...entries.flat())
        else {
          const pipeline = client.pipeline()
          write(pipeline, entries)
          await run(pipeline)
        }
        return
      }
      const keys = entries.map((entry) => entry[0])
      await Promise.all(
        groupForCluster(client, keys).map(async (slots) => {
          const pipeline = client.pipeline()
          for (const indexes of slots)
            write(
              pipeline,
              indexes.map((i) => entries[i] as RemoteEntry),
            )
          await run(pipeline)
        }),
      )
    } catch (error) {
      throw failure('redis', 'batch SET', error)
    }
  }

  async remove(key: string): Promise<void> {
    const client = this.#client()
    try {
      await client.del(key)
    } catch (error) {
      throw failure('redis', 'DEL', error)
    }
  }

  async removeMany(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return
    const client = this.#client()
    try {
      if (!isCluster(client)) {
        await client.del(...keys)
        return
      }
      await Promise.all(
        groupForCluster(client, keys).map(async (slots) => {
          const pipeline = client.pipeline()
          for (const indexes of slots) pipeline.del(...indexes.map((i) => keys[i] as string))
          await run(pipeline)
        }),
      )
    } catch (error) {
      throw failure('redis', 'DEL', error)
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await Promise.all(
      this.#clients.map(async (client) => {
        // QUIT waits for replies still due; a client that lost its server just drops the socket.
        await client.quit().catch(() => client.disconnect())
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
  driver: { package: 'ioredis', install: 'npm install ioredis' },
  // Entries expire in Redis itself (SET … PX).
  cleanup: 'none',
  maxKeyLength: MAX_KEY_LENGTH,
  open: (url, _rest, options) => RedisStorage.open(url, options),
}
