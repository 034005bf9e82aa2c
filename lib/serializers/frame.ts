// The two-byte header of every payload cacheme writes to a remote storage: a marker byte and the tag
// of the serializer that wrote it. Decoding bytes with the wrong serializer can succeed and yield
// wrong data (JSON `1` is also valid MessagePack, for one), which would reach the caller; with the
// header, a payload from another serializer (changed without bumping the node's version, or another
// service sharing the key prefix) or bytes cacheme never wrote read as a miss plus a reported error,
// and the next write replaces them.
//
// Two versions of the header, told apart by the marker:
//   0xCA tag body                                  a plain payload
//   0xCB tag written-at(6) ttl(6) body             a stamped payload
// A stamped payload is written by nodes with a stale window (staleWhileRevalidate, staleIfError):
// the storage keeps it for its TTL plus the window, so the reader needs to know when the TTL ended.
// written-at is wall-clock milliseconds since the Unix epoch (processes sharing a storage share no
// other clock) and the TTL is in milliseconds, 0 for none; both 48-bit big-endian integers. Plain
// payloads keep reading as before: the storage's own expiry governs them.

import { SerializationError } from '../errors'
import type { Serializer } from './serializer'

const MARKER = 0xca
const STAMPED = 0xcb
export const HEADER_BYTES = 2
/** Header of a stamped payload: marker, tag, written-at, TTL. */
export const STAMPED_HEADER_BYTES = 14

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

/**
 * `body` behind a stamped header for `tag` (see the top of the file); `body` undefined stands for an
 * undefined value (an empty body).
 */
export function frameStamped(tag: number, body: Buffer | undefined, writtenAt: number, ttl: number): Buffer {
  const length = body === undefined ? 0 : body.length
  const payload = Buffer.allocUnsafe(length + STAMPED_HEADER_BYTES)
  payload[0] = STAMPED
  payload[1] = tag
  payload.writeUIntBE(Math.max(0, Math.floor(writtenAt)), 2, 6)
  payload.writeUIntBE(Math.min(MAX_48, Math.max(0, Math.ceil(ttl))), 8, 6)
  body?.copy(payload, STAMPED_HEADER_BYTES)
  return payload
}

const MAX_48 = 2 ** 48 - 1

/** Whether `payload` has a stamped header (its stamp is read by writtenAtOf and ttlOf). */
export function isStamped(payload: Buffer): boolean {
  return payload[0] === STAMPED && payload.length >= STAMPED_HEADER_BYTES
}

/** When a stamped payload was written (ms since the Unix epoch). */
export function writtenAtOf(payload: Buffer): number {
  return payload.readUIntBE(2, 6)
}

/** The TTL a stamped payload was written with (ms; 0: none). */
export function ttlOf(payload: Buffer): number {
  return payload.readUIntBE(8, 6)
}

/**
 * The value of a payload (either header version) written with `tag` by `serializer`; throws
 * SerializationError on a mismatch. A stamped payload with an empty body is undefined.
 */
export function decodeFramed(serializer: Serializer, tag: number, payload: Buffer): unknown {
  const start = isStamped(payload) ? STAMPED_HEADER_BYTES : HEADER_BYTES
  checkHeader(tag, payload)
  if (start === STAMPED_HEADER_BYTES && payload.length === start) return undefined
  return serializer.loadsFrom !== undefined
    ? serializer.loadsFrom(payload, start)
    : serializer.loads(payload.subarray(start))
}

/** The body of a payload written with `tag`; throws SerializationError naming what does not match. */
export function unframe(tag: number, payload: Buffer): Buffer {
  checkHeader(tag, payload)
  return payload.subarray(isStamped(payload) ? STAMPED_HEADER_BYTES : HEADER_BYTES)
}

function checkHeader(tag: number, payload: Buffer): void {
  if (payload.length < HEADER_BYTES || (payload[0] !== MARKER && !isStamped(payload))) {
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
