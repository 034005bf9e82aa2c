// The two-byte header of every payload cacheme writes to a remote storage: a marker byte and the tag
// of the serializer that wrote it. Decoding bytes with the wrong serializer can succeed and yield
// wrong data (JSON `1` is also valid MessagePack, for one), which would reach the caller; with the
// header, a payload from another serializer (changed without bumping the node's version, or another
// service sharing the key prefix) or bytes cacheme never wrote read as a miss plus a reported error,
// and the next write replaces them.

import { SerializationError } from '../errors'
import type { Serializer } from './serializer'

const MARKER = 0xca
export const HEADER_BYTES = 2

/** The header tag of `serializer`: its own `tag`, else 0 (custom serializers without one). */
export function tagOf(serializer: Serializer): number {
  return serializer.tag ?? 0
}

/** Why `serializer.tag` is unusable, or undefined when it is fine. */
export function badTag(serializer: Serializer): string | undefined {
  const tag = serializer.tag
  if (tag === undefined) return undefined
  if (!Number.isInteger(tag) || tag < 0 || tag > 255)
    return `serializer tag must be an integer from 0 to 255; got ${String(tag)}`
  return undefined
}

/** `body` behind the header for `tag`. */
export function frame(tag: number, body: Buffer): Buffer {
  const payload = Buffer.allocUnsafe(body.length + HEADER_BYTES)
  payload[0] = MARKER
  payload[1] = tag
  body.copy(payload, HEADER_BYTES)
  return payload
}

/** The value of a payload written with `tag` by `serializer`; throws SerializationError on a mismatch. */
export function decodeFramed(serializer: Serializer, tag: number, payload: Buffer): unknown {
  checkHeader(tag, payload)
  return serializer.loadsFrom !== undefined
    ? serializer.loadsFrom(payload, HEADER_BYTES)
    : serializer.loads(payload.subarray(HEADER_BYTES))
}

/** The body of a payload written with `tag`; throws SerializationError naming what does not match. */
export function unframe(tag: number, payload: Buffer): Buffer {
  checkHeader(tag, payload)
  return payload.subarray(HEADER_BYTES)
}

function checkHeader(tag: number, payload: Buffer): void {
  if (payload.length < HEADER_BYTES || payload[0] !== MARKER) {
    throw new SerializationError(
      'CACHEME_SERIALIZATION',
      `payload of ${payload.length} bytes has no cacheme header: not written by cacheme`,
    )
  }
  if (payload[1] !== tag) {
    throw new SerializationError(
      'CACHEME_SERIALIZATION',
      `payload was written by the serializer with tag ${payload[1]}, not by this one (tag ${tag}); ` +
        'bump the node version when changing its serializer',
    )
  }
}
