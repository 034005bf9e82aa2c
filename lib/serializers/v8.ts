import { deserialize, serialize } from 'node:v8'
import { guard, type Serializer, TAGS } from './serializer'

/**
 * Node's structured clone (node:v8), the counterpart of Python's pickle: Map, Set, Date, BigInt,
 * RegExp, typed arrays and cycles round-trip. Node-only payloads; class instances come back as plain
 * objects and functions are refused.
 */
export class V8Serializer implements Serializer {
  readonly tag: number = TAGS.v8

  dumps(value: unknown): Buffer {
    return guard('V8 encode', () => serialize(value))
  }

  loads(payload: Buffer): unknown {
    return guard('V8 decode', () => deserialize(payload))
  }
}
