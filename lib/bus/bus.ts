// The invalidation bus: tells every other process on a channel which stored keys this process wrote
// to a shared tier, so they drop them from their local tiers. It carries keys, never values.
//
// Outgoing, publish() never throws and never waits: keys go into one bounded, ordered queue and leave
// on the next turn of the event loop, so the keys published in one tick become one message (split
// when larger than the transport's bound). One message is in flight at a time; what accumulates
// meanwhile rides in the next one. A failed send is retried from the queue with a backoff, and at
// once when the transport says a connection came back.
//
// The bus is not durable. Two events make a receiver's local tiers untrustworthy, and both call
// handlers.resync(): its own subscription was lost and restored (it may have missed anything), and a
// sender announcing that it dropped keys (its queue overflowed while its server was unreachable, so
// some invalidations will never arrive). The overflow policy follows from that: once anything is lost
// the queued keys are redundant, so the whole queue is dropped and replaced by that one announcement.

import { randomBytes } from 'node:crypto'
import { CachemeError, InvalidArgumentError, StorageError } from '../errors'
import { report } from '../events'
import { decode, encodeKey, KEYS_OVERHEAD, keysMessage, lostMessage, sentBy } from './message'
import { backoff, type Transport } from './transport'

export interface BusOptions {
  /** `redis://`, `rediss://`, `postgresql://` or `postgres://`. */
  readonly url: string
  /** redis: the URL names seed nodes of a Redis Cluster (sharded pub/sub where the servers support it). */
  readonly cluster?: boolean | undefined
  /** Channel name; by default derived from the key prefix, so apps with different prefixes do not mix. */
  readonly channel?: string | undefined
  /** Keys the publish queue holds while the bus cannot publish (default 10000). */
  readonly queueSize?: number | undefined
}

export interface BusHandlers {
  /** Another process wrote these stored keys: drop them from local tiers. */
  invalidate(keys: readonly string[]): void
  /** The subscription dropped and came back: what was missed is unknown. */
  resync(): void
}

export interface BusStats {
  /** Messages this process published. */
  sent: number
  /** Keys in those messages. */
  keysSent: number
  /** Valid messages received from other processes (this process's own are ignored, not counted). */
  received: number
  /** Keys passed to handlers.invalidate. */
  keysInvalidated: number
  /** handlers.resync() calls: resubscriptions, and senders announcing they dropped keys. */
  resyncs: number
  /** Payloads on the channel that were not valid messages of this bus (ignored). */
  invalid: number
  /** Keys never published: the queue overflowed while the bus was down, or one key exceeded a message. */
  dropped: number
  /** Keys waiting to be published now. */
  queued: number
}

const DEFAULT_QUEUE_SIZE = 10_000
const MAX_QUEUE_SIZE = 10_000_000
/** A send that takes longer is retried: a hung server must not stall the queue forever. */
const SEND_TIMEOUT_MS = 2000
/** How long close() waits for the queue to drain while the transport is up. */
const CLOSE_FLUSH_MS = 1000
const OPTIONS = ['url', 'cluster', 'channel', 'queueSize']

type Scheme = 'redis' | 'postgresql'

const SCHEMES: Readonly<Record<string, Scheme>> = {
  redis: 'redis',
  rediss: 'redis',
  postgresql: 'postgresql',
  postgres: 'postgresql',
}

function optionError(message: string): InvalidArgumentError {
  return new InvalidArgumentError('CACHEME_INVALID_ARGUMENT', `new Bus: ${message}`)
}

/** The transport's module, loaded on first use: its driver is an optional peer dependency. */
function loadTransport(scheme: Scheme, url: string, cluster: boolean, name: string): Transport {
  const driver = scheme === 'redis' ? 'ioredis' : 'pg'
  try {
    require.resolve(driver)
  } catch (error) {
    throw new StorageError('CACHEME_STORAGE', `a ${scheme} bus needs its driver: npm install ${driver}`, {
      cause: error,
    })
  }
  if (scheme === 'redis') {
    const { RedisTransport } = require('./redis') as typeof import('./redis')
    return new RedisTransport(url, cluster, name)
  }
  const { PostgresTransport } = require('./postgresql') as typeof import('./postgresql')
  return new PostgresTransport(url, name)
}

function withDeadline(sent: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`publish did not complete within ${ms} ms`)), ms)
  })
  return Promise.race([sent, expired]).finally(() => clearTimeout(timer))
}

export class Bus {
  readonly #url: string
  readonly #scheme: Scheme
  readonly #cluster: boolean
  readonly #channelOption: string | undefined
  readonly #queueSize: number
  /** Random per instance: a message carrying it is this process's own. */
  readonly #id = randomBytes(8).toString('hex')
  #state: 'new' | 'opening' | 'open' | 'closed' = 'new'
  #transport: Transport | undefined
  #handlers: BusHandlers | undefined
  #channel: string | undefined
  /** Keys to publish, in order, each already encoded for a message body (message.ts). */
  #queue: string[] = []
  /** Keys were dropped: the next message announces it, so receivers resync. */
  #lost = false
  /** Keys of the message in flight (they count against queueSize until sent). */
  #inFlight = 0
  #sending = false
  #tick: NodeJS.Immediate | undefined
  #retry: NodeJS.Timeout | undefined
  #failures = 0
  /** Resolves close()'s wait for the queue to drain. */
  #idle: (() => void) | undefined
  readonly #stats = {
    sent: 0,
    keysSent: 0,
    received: 0,
    keysInvalidated: 0,
    resyncs: 0,
    invalid: 0,
    dropped: 0,
  }

  constructor(options: BusOptions) {
    if (typeof options !== 'object' || options === null || typeof options.url !== 'string') {
      throw optionError('needs { url }, e.g. new Bus({ url: "redis://127.0.0.1:6379" })')
    }
    for (const key of Object.keys(options)) {
      if (!OPTIONS.includes(key)) throw optionError(`unknown option ${JSON.stringify(key)}`)
    }
    const match = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(options.url)
    const scheme = match === null ? undefined : SCHEMES[(match[1] as string).toLowerCase()]
    if (scheme === undefined) {
      throw optionError(
        `url must be redis://, rediss://, postgresql:// or postgres://; got ${JSON.stringify(options.url.split('@').pop())}`,
      )
    }
    const cluster = options.cluster ?? false
    if (typeof cluster !== 'boolean') throw optionError(`cluster must be a boolean; got ${String(cluster)}`)
    if (cluster && scheme !== 'redis') throw optionError('cluster is a redis option')
    const channel = options.channel
    if (
      channel !== undefined &&
      (typeof channel !== 'string' || channel.length === 0 || channel.length > 1024)
    ) {
      throw optionError('channel must be a non-empty string of at most 1024 characters')
    }
    const queueSize = options.queueSize ?? DEFAULT_QUEUE_SIZE
    if (!Number.isInteger(queueSize) || queueSize < 1 || queueSize > MAX_QUEUE_SIZE) {
      throw optionError(`queueSize must be an integer from 1 to ${MAX_QUEUE_SIZE}; got ${String(queueSize)}`)
    }
    this.#url = options.url
    this.#scheme = scheme
    this.#cluster = cluster
    this.#channelOption = channel
    this.#queueSize = queueSize
  }

  /**
   * Random per instance, in every message it sends (so it can ignore its own) and in its connection
   * names: `cacheme-bus-{id}` (Redis CLIENT LIST, PostgreSQL application_name), `-sub` / `-listen`
   * for the subscribing one.
   */
  get id(): string {
    return this.#id
  }

  /** 'new', 'opening', 'open' or 'closed'. */
  get state(): 'new' | 'opening' | 'open' | 'closed' {
    return this.#state
  }

  /** The channel in use, once open() was called. */
  get channel(): string | undefined {
    return this.#channel
  }

  /** Connects and subscribes; resolves once subscribed. `defaultChannel` is used when no channel was given. */
  async open(handlers: BusHandlers, defaultChannel: string): Promise<void> {
    if (typeof handlers?.invalidate !== 'function' || typeof handlers.resync !== 'function') {
      throw new InvalidArgumentError(
        'CACHEME_INVALID_ARGUMENT',
        'Bus.open needs { invalidate, resync } handlers',
      )
    }
    const channel = this.#channelOption ?? defaultChannel
    if (typeof channel !== 'string' || channel.length === 0) {
      throw new InvalidArgumentError('CACHEME_INVALID_ARGUMENT', 'Bus.open needs a non-empty default channel')
    }
    if (this.#state === 'closed') throw new StorageError('CACHEME_CLOSED', 'bus is closed')
    if (this.#state !== 'new')
      throw new InvalidArgumentError('CACHEME_INVALID_ARGUMENT', 'bus is already open')
    this.#state = 'opening'
    this.#handlers = handlers
    this.#channel = channel
    const transport = loadTransport(this.#scheme, this.#url, this.#cluster, `cacheme-bus-${this.#id}`)
    try {
      await transport.open(channel, {
        message: (payload) => this.#receive(payload),
        resubscribed: () => {
          this.#resync()
          this.#retryNow()
        },
        writable: () => this.#retryNow(),
      })
    } catch (error) {
      if (this.#state === 'opening') this.#state = 'new'
      throw error
    }
    // close() may have run while the transport opened.
    if ((this.#state as Bus['state']) === 'closed') {
      await transport.close()
      throw new StorageError('CACHEME_CLOSED', 'bus was closed while it opened')
    }
    this.#transport = transport
    this.#state = 'open'
    this.#schedule()
  }

  /**
   * Queues stored keys for publishing. Never throws, never waits; see the top of this file for
   * batching, retries and what happens when the queue is full.
   */
  publish(keys: readonly string[]): void {
    if (this.#state === 'closed' || !Array.isArray(keys) || keys.length === 0) return
    if (this.#queue.length + this.#inFlight + keys.length > this.#queueSize) {
      this.#drop(this.#queue.length + keys.length, `publish queue full (${this.#queueSize} keys)`)
      return
    }
    for (const key of keys) if (typeof key === 'string' && key.length > 0) this.#queue.push(encodeKey(key))
    this.#schedule()
  }

  stats(): BusStats {
    return { ...this.#stats, queued: this.#queue.length + this.#inFlight }
  }

  /** Publishes what is queued if it can within a second, then releases every socket and timer. */
  async close(): Promise<void> {
    if (this.#state === 'closed') return
    if (this.#state === 'open' && this.#retry === undefined && (this.#sending || this.#pending())) {
      this.#pump()
      await new Promise<void>((resolve) => {
        this.#idle = resolve
        setTimeout(resolve, CLOSE_FLUSH_MS).unref()
      })
    }
    this.#state = 'closed'
    if (this.#tick !== undefined) clearImmediate(this.#tick)
    clearTimeout(this.#retry)
    this.#tick = undefined
    this.#retry = undefined
    this.#queue = []
    const transport = this.#transport
    this.#transport = undefined
    await transport?.close()
  }

  #pending(): boolean {
    return this.#lost || this.#queue.length > 0
  }

  #schedule(): void {
    if (this.#tick === undefined && this.#state === 'open') {
      this.#tick = setImmediate(() => {
        this.#tick = undefined
        this.#pump()
      })
    }
  }

  #retryNow(): void {
    if (this.#retry === undefined) return
    clearTimeout(this.#retry)
    this.#retry = undefined
    this.#pump()
  }

  /** Sends the next message unless one is in flight, a retry is pending or nothing is queued. */
  #pump(): void {
    const transport = this.#transport
    if (this.#sending || this.#retry !== undefined || transport === undefined || this.#state !== 'open')
      return
    if (!this.#pending()) {
      this.#idle?.()
      return
    }
    let message: string
    let chunk: string[] = []
    if (this.#lost) {
      this.#lost = false
      message = lostMessage(this.#id)
    } else {
      chunk = this.#takeChunk(transport.maxMessageBytes)
      if (chunk.length === 0) {
        // A key too long for any message was dropped: announce the loss instead.
        this.#pump()
        return
      }
      message = keysMessage(this.#id, chunk)
    }
    this.#sending = true
    this.#inFlight = chunk.length
    withDeadline(transport.send(message), SEND_TIMEOUT_MS).then(
      () => {
        this.#sending = false
        this.#inFlight = 0
        this.#failures = 0
        this.#stats.sent += 1
        this.#stats.keysSent += chunk.length
        this.#pump()
      },
      () => {
        this.#sending = false
        this.#inFlight = 0
        // Back to the front, in order, unless a loss since made these keys redundant.
        if (chunk.length === 0) this.#lost = true
        else if (!this.#lost) this.#queue.unshift(...chunk)
        else this.#stats.dropped += chunk.length
        this.#failures += 1
        if (this.#state !== 'open') {
          this.#idle?.()
          return
        }
        // Unref'd: a process whose bus is down may still exit.
        this.#retry = setTimeout(() => {
          this.#retry = undefined
          this.#pump()
        }, backoff(this.#failures))
        this.#retry.unref()
        // close() stops waiting: nothing will drain while the server is unreachable.
        this.#idle?.()
      },
    )
  }

  /** Removes and returns the longest prefix of the queue that fits one message of `maxBytes`. */
  #takeChunk(maxBytes: number): string[] {
    const queue = this.#queue
    let bytes = KEYS_OVERHEAD
    let count = 0
    while (count < queue.length) {
      const cost = (queue[count] as string).length + (count === 0 ? 0 : 1)
      if (bytes + cost > maxBytes) break
      bytes += cost
      count += 1
    }
    if (count === 0 && queue.length > 0) {
      queue.shift()
      this.#drop(1, `a key longer than one message (${maxBytes} bytes)`)
      return []
    }
    return queue.splice(0, count)
  }

  /** Drops the queue (see the top of the file) and counts `count` keys as lost. */
  #drop(count: number, why: string): void {
    this.#queue = []
    this.#stats.dropped += count
    if (this.#state === 'closed') return
    const first = !this.#lost
    this.#lost = true
    this.#schedule()
    if (first)
      this.#report(new StorageError('CACHEME_BUS_DROPPED', `bus dropped keys: ${why}; receivers will resync`))
  }

  #receive(payload: string | Buffer): void {
    const transport = this.#transport
    if (this.#state !== 'open' || transport === undefined || sentBy(payload, this.#id)) return
    const message = decode(payload, transport.maxMessageBytes)
    if (message === undefined) {
      this.#stats.invalid += 1
      return
    }
    this.#stats.received += 1
    if (message.keys === undefined) {
      this.#resync()
      return
    }
    this.#stats.keysInvalidated += message.keys.length
    try {
      this.#handlers?.invalidate(message.keys)
    } catch (error) {
      this.#report(error)
    }
  }

  #resync(): void {
    this.#stats.resyncs += 1
    try {
      this.#handlers?.resync()
    } catch (error) {
      this.#report(error)
    }
  }

  #report(error: unknown): void {
    const wrapped =
      error instanceof CachemeError
        ? error
        : new StorageError(
            'CACHEME_STORAGE',
            `bus handler failed: ${(error as Error)?.message ?? String(error)}`,
            {
              cause: error,
            },
          )
    report({ kind: 'bus', node: '', storage: 'bus', key: this.#channel ?? '', error: wrapped })
  }
}
