// A tier on a remote storage: bytes from the tier's serializer behind the two-byte header naming it
// (serializers/frame.ts), so bytes from another serializer or from outside cacheme read as a miss,
// never as data. An undefined value is stored as an empty payload.
//
// A node with a stale window (freshness.ts) writes stamped payloads (when written, with which TTL)
// that the storage keeps for the TTL plus the node's grace; a read of one past its TTL is a Stale
// entry, or a miss past the grace (or for a node without a window, whose TTL is the whole story).
// Plain payloads read as fresh: the storage's own expiry governs them.
//
// Reads never fail: a storage error or a payload that does not decode is counted, reported and read
// as a miss. Writes fail only when the caller asked for them (refresh, invalidate).

import { SerializationError } from '../errors'
import { Stale } from '../freshness'
import { decodeFramed, frame, frameStamped, isStamped, tagOf, ttlOf, writtenAtOf } from '../serializers/frame'
import type { Serializer } from '../serializers/serializer'
import type { RemoteEntry, RemoteStorage } from '../storages/remote'
import { absorb, type ErrorCounts } from './absorb'
import { MISS, type Tier } from './tier'

const EMPTY = Buffer.alloc(0)

export class RemoteTier implements Tier {
  readonly shared = true
  readonly codec: object
  readonly maxKeyLength: number
  /** The serializer's header tag. */
  readonly #tag: number
  /** Milliseconds past its TTL an entry is kept and read as stale; 0: plain payloads, no staleness. */
  readonly #grace: number
  /** What the storage is told: the TTL plus the grace. */
  readonly #keep: number | null

  constructor(
    readonly index: number,
    readonly name: string,
    readonly ttl: number | null,
    readonly storage: RemoteStorage,
    readonly serializer: Serializer,
    readonly counts: ErrorCounts,
    grace = 0,
  ) {
    this.#grace = grace
    this.#keep = ttl === null ? null : ttl + grace
    // A stamped payload carries this tier's TTL, so it is prepared for this tier alone.
    this.codec = grace > 0 ? this : serializer
    this.maxKeyLength = storage.maxKeyLength
    this.#tag = tagOf(serializer)
  }

  read(key: string): Promise<unknown> {
    // One derived promise per round trip, no async frame: this is every remote read's cost.
    return this.storage.get(key).then(
      (payload) => this.#decode(key, payload),
      (error: unknown) => {
        absorb(this.counts, this.name, 'read', key, error)
        return MISS
      },
    )
  }

  async readMany(keys: readonly string[]): Promise<unknown[]> {
    let payloads: (Buffer | undefined)[]
    try {
      payloads = await this.storage.getMany(keys)
    } catch (error) {
      absorb(this.counts, this.name, 'read', keys[0] as string, error)
      return keys.map(() => MISS)
    }
    return keys.map((key, i) => this.#decode(key, payloads[i]))
  }

  prepare(value: unknown): Buffer {
    if (value === undefined)
      return this.#grace > 0 ? frameStamped(this.#tag, undefined, Date.now(), this.ttl ?? 0) : EMPTY
    const payload = this.serializer.dumps(value)
    if (!Buffer.isBuffer(payload)) {
      throw new SerializationError(
        'CACHEME_SERIALIZATION',
        `serializer of ${this.name} did not return a Buffer`,
      )
    }
    if (payload.length === 0) {
      throw new SerializationError(
        'CACHEME_SERIALIZATION',
        `serializer of ${this.name} returned an empty payload`,
      )
    }
    if (this.#grace > 0) return frameStamped(this.#tag, payload, Date.now(), this.ttl ?? 0)
    return frame(this.#tag, payload)
  }

  write(key: string, prepared: unknown, strict: boolean): Promise<void> {
    const write = this.storage.set(key, prepared as Buffer, this.#keep)
    if (strict) return write
    return write.catch((error: unknown) => absorb(this.counts, this.name, 'write', key, error))
  }

  writeMany(keys: readonly string[], prepared: readonly unknown[]): Promise<void> {
    const entries = keys.map((key, i): RemoteEntry => [key, prepared[i] as Buffer])
    return this.storage
      .setMany(entries, this.#keep)
      .catch((error: unknown) => absorb(this.counts, this.name, 'write', keys[0] as string, error))
  }

  remove(key: string): Promise<void> {
    return this.storage.remove(key)
  }

  forget(): void {}

  forgetAll(): void {}

  /**
   * The decoded value, a Stale entry, or MISS (a payload that does not decode is absorbed as a miss;
   * a stamped one past its TTL plus this tier's grace is a miss without being decoded).
   */
  #decode(key: string, payload: Buffer | undefined): unknown {
    if (payload === undefined) return MISS
    if (payload.length === 0) return undefined
    let age = 0
    if (isStamped(payload)) {
      const ttl = ttlOf(payload)
      if (ttl > 0) age = Date.now() - writtenAtOf(payload) - ttl
      if (age > 0 && age >= this.#grace) return MISS
    }
    try {
      const value = decodeFramed(this.serializer, this.#tag, payload)
      return age > 0 ? new Stale(value, age) : value
    } catch (error) {
      absorb(this.counts, this.name, 'decode', key, error)
      return MISS
    }
  }
}
