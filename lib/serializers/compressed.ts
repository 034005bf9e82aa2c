// The Compressed… serializers: an inner serializer followed by zlib deflate at level 3 (the
// original's choice: most of the gain of higher levels for a fraction of the CPU).

import { deflateSync, inflateSync } from 'node:zlib'
import { JSONSerializer } from './json'
import { MsgPackSerializer } from './msgpack'
import { guard, type Serializer, TAGS } from './serializer'
import { V8Serializer } from './v8'

const LEVEL = 3

class Compressed implements Serializer {
  readonly tag: number
  readonly #inner: Serializer

  constructor(inner: Serializer & { readonly tag: number }) {
    this.#inner = inner
    this.tag = TAGS.compressed + inner.tag
  }

  dumps(value: unknown): Buffer {
    const raw = this.#inner.dumps(value)
    return guard('deflate', () => deflateSync(raw, { level: LEVEL }))
  }

  loads(payload: Buffer): unknown {
    return this.#inner.loads(guard('inflate', () => inflateSync(payload)))
  }
}

export class CompressedJSONSerializer extends Compressed {
  constructor() {
    super(new JSONSerializer())
  }
}

export class CompressedMsgPackSerializer extends Compressed {
  constructor() {
    super(new MsgPackSerializer())
  }
}

export class CompressedV8Serializer extends Compressed {
  constructor() {
    super(new V8Serializer())
  }
}
