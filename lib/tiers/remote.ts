// A tier on a remote storage: bytes from the tier's serializer behind the two-byte header naming it
// (serializers/frame.ts), so bytes from another serializer or from outside cacheme read as a miss,
// never as data. An undefined value is stored as an empty payload.
//
// Reads never fail: a storage error or a payload that does not decode is counted, reported and read
// as a miss. Writes fail only when the caller asked for them (refresh, invalidate).

import { SerializationError } from '../errors'
import { decodeFramed, frame, tagOf } from '../serializers/frame'
import type { Serializer } from '../serializers/serializer'
import type { RemoteEntry, RemoteStorage } from '../storages/remote'
import { absorb, type ErrorCounts } from './absorb'
import { MISS, type Tier } from './tier'

const EMPTY = Buffer.alloc(0)

export class RemoteTier implements Tier {
  readonly shared = true
  readonly codec: Serializer
  readonly maxKeyLength: number
  /** The serializer's header tag. */
  readonly #tag: number

  constructor(
    readonly index: number,
    readonly name: string,
    readonly ttl: number | null,
    readonly storage: RemoteStorage,
    readonly serializer: Serializer,
    readonly counts: ErrorCounts,
  ) {
    this.codec = serializer
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
    if (value === undefined) return EMPTY
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
    return frame(this.#tag, payload)
  }

  write(key: string, prepared: unknown, strict: boolean): Promise<void> {
    const write = this.storage.set(key, prepared as Buffer, this.ttl)
    if (strict) return write
    return write.catch((error: unknown) => absorb(this.counts, this.name, 'write', key, error))
  }

  writeMany(keys: readonly string[], prepared: readonly unknown[]): Promise<void> {
    const entries = keys.map((key, i): RemoteEntry => [key, prepared[i] as Buffer])
    return this.storage
      .setMany(entries, this.ttl)
      .catch((error: unknown) => absorb(this.counts, this.name, 'write', keys[0] as string, error))
  }

  remove(key: string): Promise<void> {
    return this.storage.remove(key)
  }

  forget(): void {}

  forgetAll(): void {}

  /** The decoded value, or MISS (a payload that does not decode is absorbed as a miss). */
  #decode(key: string, payload: Buffer | undefined): unknown {
    if (payload === undefined) return MISS
    if (payload.length === 0) return undefined
    try {
      return decodeFramed(this.serializer, this.#tag, payload)
    } catch (error) {
      absorb(this.counts, this.name, 'decode', key, error)
      return MISS
    }
  }
}
