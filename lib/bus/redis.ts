// The bus over Redis pub/sub (ioredis), standalone or Redis Cluster.
//
// Two connections: a publisher and a dedicated subscriber (a subscribed connection accepts nothing
// else). The publisher runs without ioredis's offline queue, so a publish while disconnected fails at
// once and the bus keeps the keys in its own bounded queue instead of in an unbounded driver buffer.
// The subscriber never reconnects by itself: Subscription opens a new one after each loss, which is
// how the bus learns that it may have missed messages.
//
// Cluster: a classic PUBLISH is forwarded to every node of the cluster; sharded pub/sub (Redis 7+:
// SPUBLISH/SSUBSCRIBE) keeps a channel's traffic within the shard that owns the channel's hash slot,
// so it is used when the servers know it. The subscriber then connects to that shard's master, found
// in the publisher's slot table, refreshed before every (re)subscription in case the slot moved.

import { createRequire } from 'node:module'
import { Cluster, type ClusterNode, Redis, type RedisOptions } from 'ioredis'
import { InvalidArgumentError } from '../errors'
import {
  cannotSubscribe,
  noop,
  redact,
  type Subscribed,
  Subscription,
  type Transport,
  type TransportListener,
} from './transport'

// The hash-slot function ioredis routes with, loaded through ioredis so that it resolves even where
// dependencies are not hoisted.
const keySlot = createRequire(require.resolve('ioredis'))('cluster-key-slot') as (key: string) => number

/** A message bound well below Redis's 512 MB so that one batch never stalls the subscribers' sockets. */
const MAX_MESSAGE_BYTES = 64 * 1024
const CONNECT_TIMEOUT_MS = 5000

/**
 * The publisher's connection: a command in flight when the connection drops fails then (instead of
 * being resent after the reconnect), so the bus alone decides what is retried, in order.
 */
const PUBLISHER: RedisOptions = { maxRetriesPerRequest: 0, connectTimeout: CONNECT_TIMEOUT_MS }

/** The subscriber's connection: one attempt, no driver-side resubscription (see the top of the file). */
const SUBSCRIBER: RedisOptions = {
  lazyConnect: true,
  retryStrategy: () => null,
  autoResubscribe: false,
  connectTimeout: CONNECT_TIMEOUT_MS,
}

/**
 * Seed nodes and credentials of a cluster URL, `redis[s]://[user:pass@]host:port[,host:port…]`
 * (ioredis parses standalone URLs itself; a cluster takes a node list).
 */
function clusterSeeds(url: string): { nodes: ClusterNode[]; options: RedisOptions } {
  const parts = /^(rediss?:\/\/(?:[^@/]*@)?)([^/?#]+)(.*)$/i.exec(url)
  if (parts === null) {
    throw new InvalidArgumentError('CACHEME_INVALID_ARGUMENT', `bus url is not a redis url: ${redact(url)}`)
  }
  const hosts = (parts[2] as string).split(',')
  const nodes = hosts.map((host): ClusterNode => {
    const { hostname, port } = new URL(`redis://${host}`)
    return { host: hostname.replace(/^\[|\]$/g, ''), port: Number(port || 6379) }
  })
  const first = new URL(`${parts[1]}${hosts[0]}${parts[3]}`)
  const options: RedisOptions = { connectTimeout: CONNECT_TIMEOUT_MS }
  if (first.username !== '') options.username = decodeURIComponent(first.username)
  if (first.password !== '') options.password = decodeURIComponent(first.password)
  if (first.protocol === 'rediss:') options.tls = {}
  return { nodes, options }
}

function refreshSlots(cluster: Cluster): Promise<void> {
  // A failed refresh keeps the previous table, which is still the best guess.
  return new Promise((resolve) => cluster.refreshSlotsCache(() => resolve()))
}

export class RedisTransport implements Transport {
  readonly maxMessageBytes = MAX_MESSAGE_BYTES
  readonly #url: string
  /** Cluster seeds and credentials; undefined for a standalone server. */
  readonly #seeds: { nodes: ClusterNode[]; options: RedisOptions } | undefined
  #publisher: Redis | Cluster | undefined
  #subscription: Subscription | undefined
  #sharded = false
  #channel = ''
  #listener: TransportListener | undefined

  readonly #name: string

  /** `name` names the connections (CLIENT LIST shows `name` and `name-sub`). */
  constructor(url: string, cluster: boolean, name: string) {
    this.#url = url
    this.#name = name
    this.#seeds = cluster ? clusterSeeds(url) : undefined
  }

  async open(channel: string, listener: TransportListener): Promise<void> {
    this.#channel = channel
    this.#listener = listener
    const seeds = this.#seeds
    const publisher = seeds
      ? new Cluster(seeds.nodes, {
          lazyConnect: true,
          enableOfflineQueue: false,
          redisOptions: { ...seeds.options, ...PUBLISHER, connectionName: this.#name },
        })
      : new Redis(this.#url, {
          ...PUBLISHER,
          lazyConnect: true,
          enableOfflineQueue: false,
          connectionName: this.#name,
        })
    this.#publisher = publisher
    publisher.on('error', noop)
    publisher.on('ready', () => this.#listener?.writable())
    try {
      await publisher.connect()
      if (publisher instanceof Cluster) {
        const info = (await publisher.call('COMMAND', 'INFO', 'SSUBSCRIBE')) as unknown[]
        this.#sharded = Array.isArray(info) && Array.isArray(info[0])
      } else if (/cluster_enabled:1/.test(await publisher.info('cluster'))) {
        throw new Error('the server is a Redis Cluster node: pass cluster: true')
      }
      this.#subscription = new Subscription(
        (lost) => this.#subscribe(lost),
        () => this.#listener?.resubscribed(),
      )
      await this.#subscription.start()
    } catch (error) {
      await this.close()
      throw cannotSubscribe(this.#url, error)
    }
  }

  /** Whether this transport uses sharded pub/sub (a cluster whose servers support it). */
  get sharded(): boolean {
    return this.#sharded
  }

  send(message: string): Promise<void> {
    const publisher = this.#publisher
    if (publisher === undefined) return Promise.reject(new Error('bus transport is closed'))
    const reply = this.#sharded
      ? publisher.spublish(this.#channel, message)
      : publisher.publish(this.#channel, message)
    return reply.then(noop)
  }

  async close(): Promise<void> {
    this.#listener = undefined
    this.#subscription?.close()
    this.#subscription = undefined
    const publisher = this.#publisher
    this.#publisher = undefined
    // QUIT waits for replies still due; a client that lost its server just drops the socket.
    await publisher?.quit().catch(() => publisher.disconnect())
  }

  async #subscribe(lost: () => void): Promise<Subscribed> {
    const client = await this.#subscriberClient()
    client.on('error', noop)
    client.on(this.#sharded ? 'smessageBuffer' : 'messageBuffer', (_channel: Buffer, payload: Buffer) => {
      this.#listener?.message(payload)
    })
    try {
      await client.connect()
      if (this.#sharded) await client.ssubscribe(this.#channel)
      else await client.subscribe(this.#channel)
    } catch (error) {
      client.disconnect()
      throw error
    }
    client.once('close', lost)
    return { close: () => client.disconnect() }
  }

  /** A new, unconnected subscriber client for the node that should carry the subscription. */
  async #subscriberClient(): Promise<Redis> {
    const publisher = this.#publisher
    const connectionName = `${this.#name}-sub`
    if (!(publisher instanceof Cluster)) return new Redis(this.#url, { ...SUBSCRIBER, connectionName })
    await refreshSlots(publisher)
    // Sharded: the master of the channel's slot. Classic: any node hears every PUBLISH.
    const owner = this.#sharded
      ? publisher.slots[keySlot(this.#channel)]?.[0]
      : publisher.nodes('master').map((node) => `${node.options.host}:${node.options.port}`)[0]
    if (owner === undefined) throw new Error(`no cluster node serves channel ${this.#channel}`)
    const at = owner.lastIndexOf(':')
    return new Redis({
      ...this.#seeds?.options,
      ...SUBSCRIBER,
      connectionName,
      host: owner.slice(0, at),
      port: Number(owner.slice(at + 1)),
    })
  }
}
