// What the bus needs of a pub/sub backend (redis.ts, postgresql.ts). A transport moves opaque text
// messages over one channel and says when its subscription was lost and restored; the bus owns the
// wire format, batching, the outgoing queue and every decision about what a message means.

import { StorageError } from '../errors'

export interface TransportListener {
  /** A payload arrived on the channel: anything at all, the bus validates it. */
  message(payload: string | Buffer): void
  /** The subscription was lost and is active again: messages published in between were missed. */
  resubscribed(): void
  /** A connection used for publishing came back: a good moment to retry what is queued. */
  writable(): void
}

export interface Transport {
  /** The largest message, in bytes, this backend carries; larger batches are split. */
  readonly maxMessageBytes: number
  /**
   * Connects and subscribes to `channel`; resolves once subscribed, rejects when the server cannot
   * be reached. From then on it restores a lost subscription by itself until close().
   */
  open(channel: string, listener: TransportListener): Promise<void>
  /** Publishes one message; rejects (at once, not after a reconnect) when it cannot be sent now. */
  send(message: string): Promise<void>
  /** Releases every socket and timer; safe to call twice. */
  close(): Promise<void>
}

/** Delay before reconnect attempt `attempt` (from 1): doubling from 50 ms up to 2 s. */
export function backoff(attempt: number): number {
  return Math.min(2000, 50 * 2 ** Math.min(attempt - 1, 6))
}

/** The URL without its password, for messages. */
export function redact(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@')
}

/** What open() rejects with when the first subscription cannot be made. */
export function cannotSubscribe(url: string, error: unknown): StorageError {
  const reason = error instanceof Error ? error.message : String(error)
  return new StorageError('CACHEME_STORAGE', `bus: cannot subscribe at ${redact(url)}: ${reason}`, {
    cause: error,
  })
}

export function noop(): void {}

/** One live subscribed connection, as Subscription sees it. */
export interface Subscribed {
  /** Drops the connection (no reconnect of its own: Subscription opens a new one). */
  close(): void
}

/**
 * Keeps one subscription alive. `connect` opens a connection, subscribes, and arranges for `lost` to
 * be called when that connection drops; Subscription then opens a new one after a backoff, for as
 * long as it takes, and calls `restored` once the new one is subscribed. A fresh connection per loss
 * (instead of the driver's own reconnect) is what makes "lost, then subscribed again" observable
 * exactly once per resubscription, and lets a cluster re-resolve which node serves the channel.
 */
export class Subscription {
  readonly #connect: (lost: () => void) => Promise<Subscribed>
  readonly #restored: () => void
  #current: Subscribed | undefined
  #timer: NodeJS.Timeout | undefined
  #attempts = 0
  #closed = false

  constructor(connect: (lost: () => void) => Promise<Subscribed>, restored: () => void) {
    this.#connect = connect
    this.#restored = restored
  }

  /** The first subscription: rejects when it cannot be made (nothing retries then). */
  start(): Promise<void> {
    return this.#subscribe()
  }

  close(): void {
    this.#closed = true
    clearTimeout(this.#timer)
    this.#timer = undefined
    this.#current?.close()
    this.#current = undefined
  }

  async #subscribe(): Promise<void> {
    let handle: Subscribed | undefined
    let droppedEarly = false
    const lost = () => {
      if (handle === undefined) {
        droppedEarly = true
        return
      }
      if (this.#current !== handle) return
      this.#current = undefined
      handle.close()
      this.#retry()
    }
    handle = await this.#connect(lost)
    if (this.#closed) {
      handle.close()
      return
    }
    this.#current = handle
    if (droppedEarly) lost()
  }

  #retry(): void {
    if (this.#closed) return
    this.#attempts += 1
    // Unref'd: a process whose bus is down may still exit.
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      this.#subscribe().then(
        () => {
          if (this.#current === undefined) return
          this.#attempts = 0
          this.#restored()
        },
        () => this.#retry(),
      )
    }, backoff(this.#attempts))
    this.#timer.unref()
  }
}
