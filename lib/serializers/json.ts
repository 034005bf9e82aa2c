import { SerializationError } from '../errors'
import { guard, type Serializer, TAGS } from './serializer'

// JSON.stringify silently drops functions and symbols (and turns a top-level one into `undefined`),
// which would cache something other than what was loaded. The replacer refuses them instead; BigInt
// and cycles already throw.
function strict(_key: string, value: unknown): unknown {
  const type = typeof value
  if (type === 'function' || type === 'symbol') {
    throw new SerializationError('CACHEME_SERIALIZATION', `JSON cannot encode a ${type}`)
  }
  return value
}

/** UTF-8 JSON. Plain objects, arrays, strings, numbers, booleans and null; Dates become strings. */
export class JSONSerializer implements Serializer {
  readonly tag: number = TAGS.json

  dumps(value: unknown): Buffer {
    return guard('JSON encode', () => {
      const text = JSON.stringify(value, strict)
      if (text === undefined)
        throw new SerializationError('CACHEME_SERIALIZATION', 'JSON cannot encode undefined')
      return Buffer.from(text, 'utf8')
    })
  }

  loads(payload: Buffer): unknown {
    return this.loadsFrom(payload, 0)
  }

  loadsFrom(payload: Buffer, start: number): unknown {
    return guard('JSON decode', () => JSON.parse(payload.toString('utf8', start)))
  }
}
