// A tier on a remote storage: bytes from the tier's serializer behind the two-byte header naming it
// (serializers/frame.ts), so bytes from another serializer or from outside cacheme read as a miss,
// never as data. An undefined value is stored as an empty payload.
//
// A node with a stale window (freshness.ts) writes stamped payloads (when written, with which TTL)
// that the storage keeps for the TTL plus the node's grace; a read of one past its TTL is a Stale
// entry, or a miss past the grace (or for a node without a window, whose TTL is the whole story).
// Plain payloads read as fresh: the storage's own expiry governs them.
//
// A node with tags writes tagged payloads (0xCC: the stamp's time, the TTL and the entry's tags); a
// read of one, or of an older payload of a class that became tagged, asks the class's TagGuard
// (tags.ts) and is a miss when a tag or the class was invalidated after it was written.
//
// Reads never fail: a storage error or a payload that does not decode is counted, reported and read
// as a miss. Writes fail only when the caller asked for them (refresh, invalidate).

import { type TtlFunction, ttlFromValue } from '../cache'
import { SerializationError } from '../errors'
import { Stale, type Stamp } from '../freshness'
import {
  decodeFramed,
  decodeTagged,
  frame,
  frameStamped,
  frameTagged,
  isStamped,
  isTagged,
  readTagged,
  type TaggedHeader,
  tagOf,
  ttlOf,
  writtenAtOf,
} from '../serializers/frame'
import type { Serializer } from '../serializers/serializer'
import type { RemoteEntry, RemoteStorage } from '../storages/remote'
import { absorb, type ErrorCounts } from './absorb'
import type { TagGuard } from './tags'
import { MISS, type Tier } from './tier'

const EMPTY = Buffer.alloc(0)
const NO_TAGS: readonly string[] = Object.freeze([])

export class RemoteTier implements Tier {
  readonly shared = true
  readonly codec: object
  readonly maxKeyLength: number
  /** The serializer's header tag. */
  readonly #tag: number
  /** Milliseconds past its TTL an entry is kept and read as stale; 0: plain payloads, no staleness. */
  readonly #grace: number
  /** The TTL when it does not depend on the value. */
  readonly #ttl: number | null

  constructor(
    readonly index: number,
    readonly name: string,
    readonly ttl: number | null | TtlFunction,
    readonly storage: RemoteStorage,
    readonly serializer: Serializer,
    readonly counts: ErrorCounts,
    grace = 0,
    /** The tag check of a tagged node class; undefined for others. */
    readonly guard?: TagGuard,
  ) {
    this.#grace = grace
    this.#ttl = typeof ttl === 'function' ? null : ttl
    // A stamped or tagged payload carries this tier's TTL, so it is prepared for this tier alone.
    this.codec = grace > 0 || guard !== undefined ? this : serializer
    this.maxKeyLength = storage.maxKeyLength
    this.#tag = tagOf(serializer)
  }

  ttlOf(value: unknown): number | null {
    const ttl = this.ttl
    return typeof ttl === 'function' ? ttlFromValue(ttl, value, `tier ${this.name}`) : this.#ttl
  }

  /** What the storage is told for an entry of `ttl`: the TTL plus the grace. */
  #keep(ttl: number | null): number | null {
    return ttl === null ? null : ttl + this.#grace
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
    const values = keys.map((key, i) => this.#decode(key, payloads[i]))
    return this.guard === undefined ? values : Promise.all(values)
  }

  prepare(value: unknown, ttl: number | null, stamp: Stamp | undefined): Buffer {
    if (this.guard !== undefined) {
      const body = value === undefined ? undefined : this.#dump(value)
      return frameTagged(this.#tag, body, stamp?.at ?? Date.now(), ttl ?? 0, stamp?.tags ?? NO_TAGS)
    }
    if (value === undefined)
      return this.#grace > 0 ? frameStamped(this.#tag, undefined, Date.now(), ttl ?? 0) : EMPTY
    const payload = this.#dump(value)
    if (this.#grace > 0) return frameStamped(this.#tag, payload, Date.now(), ttl ?? 0)
    return frame(this.#tag, payload)
  }

  #dump(value: unknown): Buffer {
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
    return payload
  }

  write(key: string, prepared: unknown, strict: boolean, ttl: number | null): Promise<void> {
    const write = this.storage.set(key, prepared as Buffer, this.#keep(ttl))
    if (strict) return write
    return write.catch((error: unknown) => absorb(this.counts, this.name, 'write', key, error))
  }

  writeMany(
    keys: readonly string[],
    prepared: readonly unknown[],
    ttl: number | null,
    strict: boolean,
  ): Promise<void> {
    const entries = keys.map((key, i): RemoteEntry => [key, prepared[i] as Buffer])
    const write = this.storage.setMany(entries, this.#keep(ttl))
    if (strict) return write
    return write.catch((error: unknown) => absorb(this.counts, this.name, 'write', keys[0] as string, error))
  }

  remove(key: string): Promise<void> {
    return this.storage.remove(key)
  }

  forget(): void {}

  forgetAll(): void {}

  /**
   * The decoded value, a Stale entry, or MISS (a payload that does not decode is absorbed as a miss;
   * a stamped one past its TTL plus this tier's grace is a miss without being decoded). For a tagged
   * class, possibly a promise of one of those, when its tag records must be read first.
   */
  #decode(key: string, payload: Buffer | undefined): unknown {
    if (payload === undefined) return MISS
    if (isTagged(payload)) return this.#decodeTagged(key, payload)
    const guard = this.guard
    if (guard === undefined) return this.#decodePlain(key, payload)
    // A payload from before the class had tags: it carries no tags, and a write time only if stamped.
    const valid = guard.checkWaiting(isStamped(payload) ? writtenAtOf(payload) : 0, NO_TAGS)
    const decode = (ok: boolean) => (ok ? this.#decodePlain(key, payload) : MISS)
    return typeof valid === 'boolean' ? decode(valid) : valid.then(decode)
  }

  /** #decode for a plain or stamped payload (an empty one is an undefined value). */
  #decodePlain(key: string, payload: Buffer): unknown {
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

  /** A tagged payload: past its TTL plus grace, or invalidated, a miss; else its value (or Stale). */
  #decodeTagged(key: string, payload: Buffer): unknown {
    let header: TaggedHeader
    try {
      header = readTagged(this.#tag, payload)
    } catch (error) {
      absorb(this.counts, this.name, 'decode', key, error)
      return MISS
    }
    const age = header.ttl > 0 ? Date.now() - header.writtenAt - header.ttl : 0
    if (age > 0 && age >= this.#grace) return MISS
    const decode = (valid: boolean) => {
      if (!valid) return MISS
      try {
        const value = decodeTagged(this.serializer, payload, header)
        return age > 0 ? new Stale(value, age) : value
      } catch (error) {
        absorb(this.counts, this.name, 'decode', key, error)
        return MISS
      }
    }
    const guard = this.guard
    if (guard === undefined) return decode(true)
    const valid = guard.checkWaiting(header.writtenAt, header.tags)
    return typeof valid === 'boolean' ? decode(valid) : valid.then(decode)
  }
}
