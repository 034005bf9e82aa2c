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
//
// A third, for nodes with tags (lazy invalidation by tag, tiers/tags.ts), versioned by its second byte
// so that later fields can be added without a new marker:
//   0xCC version(1)=1 tag written-at(6) ttl(6) count(1) [length(2) utf-8]×count body
// written-at and ttl as in 0xCB; then the entry's tags. A reader compares written-at with when each
// tag (and the node class) was last invalidated. An unknown version reads as a miss.
//
// Tag records, stored under reserved keys next to the entries (tiers/tags.ts):
//   0xCD version(1)=1 invalidated-at(6)

import { SerializationError } from '../errors'
import type { Serializer } from './serializer'

const MARKER = 0xca
const STAMPED = 0xcb
const TAGGED = 0xcc
const TAGGED_VERSION = 1
const RECORD = 0xcd
const RECORD_VERSION = 1
const RECORD_BYTES = 8
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

/** What a tagged header says: when the entry was written, its TTL (0: none), its tags, where its body starts. */
export interface TaggedHeader {
  readonly writtenAt: number
  readonly ttl: number
  readonly tags: readonly string[]
  readonly start: number
}

/** `body` (undefined: an undefined value) behind a tagged header (see the top of the file). */
export function frameTagged(
  tag: number,
  body: Buffer | undefined,
  writtenAt: number,
  ttl: number,
  tags: readonly string[],
): Buffer {
  const encoded = tags.map((name) => Buffer.from(name, 'utf8'))
  let length = 15 + (body === undefined ? 0 : body.length)
  for (const name of encoded) length += 2 + name.length
  const payload = Buffer.allocUnsafe(length)
  payload[0] = TAGGED
  payload[1] = TAGGED_VERSION
  payload[2] = tag
  payload.writeUIntBE(Math.max(0, Math.floor(writtenAt)), 3, 6)
  payload.writeUIntBE(Math.min(MAX_48, Math.max(0, Math.ceil(ttl))), 9, 6)
  payload[14] = encoded.length
  let at = 15
  for (const name of encoded) {
    payload.writeUInt16BE(name.length, at)
    name.copy(payload, at + 2)
    at += 2 + name.length
  }
  body?.copy(payload, at)
  return payload
}

/** Whether `payload` starts with a tagged header (of any version: readTagged checks it). */
export function isTagged(payload: Buffer): boolean {
  return payload[0] === TAGGED
}

/**
 * The tagged header of `payload` written with serializer `tag`; throws SerializationError when it is
 * truncated, of an unknown version, or from another serializer.
 */
export function readTagged(tag: number, payload: Buffer): TaggedHeader {
  if (payload.length < 15 || payload[1] !== TAGGED_VERSION) {
    throw new SerializationError(
      'CACHEME_SERIALIZATION',
      `tagged payload of ${payload.length} bytes has an unknown version or is truncated`,
    )
  }
  if (payload[2] !== tag) throw wrongSerializer(payload[2] as number, tag)
  const count = payload[14] as number
  const tags = new Array<string>(count)
  let at = 15
  for (let i = 0; i < count; i++) {
    if (at + 2 > payload.length) throw truncatedTags(payload)
    const length = payload.readUInt16BE(at)
    if (at + 2 + length > payload.length) throw truncatedTags(payload)
    tags[i] = payload.toString('utf8', at + 2, at + 2 + length)
    at += 2 + length
  }
  return { writtenAt: payload.readUIntBE(3, 6), ttl: payload.readUIntBE(9, 6), tags, start: at }
}

function truncatedTags(payload: Buffer): SerializationError {
  return new SerializationError(
    'CACHEME_SERIALIZATION',
    `tagged payload of ${payload.length} bytes ends inside its tags`,
  )
}

/** The value of a tagged payload whose header `header` was read by readTagged. */
export function decodeTagged(serializer: Serializer, payload: Buffer, header: TaggedHeader): unknown {
  if (payload.length === header.start) return undefined
  return serializer.loadsFrom !== undefined
    ? serializer.loadsFrom(payload, header.start)
    : serializer.loads(payload.subarray(header.start))
}

/** A tag record: the tag was invalidated at `at` (ms since the Unix epoch). */
export function frameRecord(at: number): Buffer {
  const payload = Buffer.allocUnsafe(RECORD_BYTES)
  payload[0] = RECORD
  payload[1] = RECORD_VERSION
  payload.writeUIntBE(Math.max(0, Math.floor(at)), 2, 6)
  return payload
}

/** When a tag record says its tag was invalidated, or undefined for bytes that are not a record. */
export function readRecord(payload: Buffer): number | undefined {
  if (payload.length !== RECORD_BYTES || payload[0] !== RECORD || payload[1] !== RECORD_VERSION)
    return undefined
  return payload.readUIntBE(2, 6)
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
  if (payload[1] !== tag) throw wrongSerializer(payload[1] as number, tag)
}

function wrongSerializer(written: number, tag: number): SerializationError {
  return new SerializationError(
    'CACHEME_SERIALIZATION',
    `payload was written by the serializer with tag ${written}, not by this one (tag ${tag}); ` +
      'bump the node version when changing its serializer',
  )
}
