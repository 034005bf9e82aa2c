// The bus over PostgreSQL LISTEN/NOTIFY (pg).
//
// A dedicated client LISTENs (a pooled connection could be handed to someone else and lose the
// registration); publishing is `SELECT pg_notify($1, $2)` on a pool of one connection, so messages
// leave in the order they were sent and a broken connection is replaced by the pool. The listening
// client never reconnects by itself: Subscription opens a new one after each loss (connection
// dropped, backend terminated, server restarted), which is how the bus learns it may have missed
// notifications.
//
// Limits: a NOTIFY payload must be shorter than 8000 bytes, and a channel is an identifier of at most
// 63 bytes; a longer channel name is replaced by a hash of it, the same in every process.

import { createHash } from 'node:crypto'
import { Client, type Notification, Pool } from 'pg'
import {
  cannotSubscribe,
  noop,
  type Subscribed,
  Subscription,
  type Transport,
  type TransportListener,
} from './transport'

const MAX_PAYLOAD_BYTES = 7999
const MAX_IDENTIFIER_BYTES = 63
const CONNECT_TIMEOUT_MS = 5000

/** The channel as PostgreSQL names it: itself when it fits an identifier, else a stable hash. */
export function postgresChannel(channel: string): string {
  if (Buffer.byteLength(channel) <= MAX_IDENTIFIER_BYTES && !channel.includes('\0')) return channel
  return `cacheme_bus_${createHash('sha256').update(channel).digest('hex').slice(0, 40)}`
}

export class PostgresTransport implements Transport {
  readonly maxMessageBytes = MAX_PAYLOAD_BYTES
  readonly #url: string
  #pool: Pool | undefined
  #subscription: Subscription | undefined
  #channel = ''
  #listener: TransportListener | undefined

  readonly #name: string

  /** `name` is the connections' application_name (pg_stat_activity): `name` and `name-listen`. */
  constructor(url: string, name: string) {
    this.#url = url
    this.#name = name
  }

  async open(channel: string, listener: TransportListener): Promise<void> {
    this.#channel = postgresChannel(channel)
    this.#listener = listener
    const pool = new Pool({
      connectionString: this.#url,
      max: 1,
      application_name: this.#name,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      allowExitOnIdle: true,
    })
    // A pooled connection that dies while idle is replaced on the next query; only say nothing here.
    pool.on('error', noop)
    this.#pool = pool
    this.#subscription = new Subscription(
      (lost) => this.#listen(lost),
      () => this.#listener?.resubscribed(),
    )
    try {
      await this.#subscription.start()
    } catch (error) {
      await this.close()
      throw cannotSubscribe(this.#url, error)
    }
  }

  send(message: string): Promise<void> {
    const pool = this.#pool
    if (pool === undefined) return Promise.reject(new Error('bus transport is closed'))
    return pool.query('SELECT pg_notify($1, $2)', [this.#channel, message]).then(noop)
  }

  async close(): Promise<void> {
    this.#listener = undefined
    this.#subscription?.close()
    this.#subscription = undefined
    const pool = this.#pool
    this.#pool = undefined
    await pool?.end().catch(noop)
  }

  async #listen(lost: () => void): Promise<Subscribed> {
    const client = new Client({
      connectionString: this.#url,
      application_name: `${this.#name}-listen`,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      keepAlive: true,
    })
    client.on('error', noop)
    client.on('notification', (notification: Notification) => {
      if (notification.channel === this.#channel) this.#listener?.message(notification.payload ?? '')
    })
    try {
      await client.connect()
      await client.query(`LISTEN "${this.#channel.replaceAll('"', '""')}"`)
    } catch (error) {
      client.end().catch(noop)
      throw error
    }
    client.once('end', lost)
    return { close: () => void client.end().catch(noop) }
  }
}
