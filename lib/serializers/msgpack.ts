import { C1, type Options, Packr } from 'msgpackr'
import { SerializationError } from '../errors'
import { codecError, guard, type Serializer, TAGS } from './serializer'

/**
 * MessagePack through msgpackr: compact and fast, and Dates round-trip. The default for remote
 * storages. Plain MessagePack (no msgpackr "records"), so other languages can read the payloads;
 * Maps come back as plain objects (use V8Serializer for Map/Set/BigInt beyond 64 bits). Functions
 * are refused rather than silently written as nil.
 */
export class MsgPackSerializer implements Serializer {
  readonly tag: number = TAGS.msgpack
  readonly #packr: Packr

  constructor(options: Options = {}) {
    this.#packr = new Packr({
      useRecords: false,
      writeFunction: () => {
        throw new SerializationError('CACHEME_SERIALIZATION', 'MessagePack cannot encode a function')
      },
      ...options,
    })
  }

  dumps(value: unknown): Buffer {
    return guard('MessagePack encode', () => this.#packr.pack(value))
  }

  loads(payload: Buffer): unknown {
    return this.loadsFrom(payload, 0)
  }

  loadsFrom(payload: Buffer, start: number): unknown {
    let value: unknown
    // Not through guard(): this runs once per value read, and the closure would be its allocation.
    try {
      value = this.#packr.unpack(payload, start === 0 ? undefined : { start })
    } catch (error) {
      throw codecError('MessagePack decode', error)
    }
    // msgpackr answers the never-used byte 0xC1 with a marker object instead of failing.
    if (value === C1)
      throw new SerializationError('CACHEME_SERIALIZATION', 'payload is the never-used byte 0xC1')
    return value
  }
}
