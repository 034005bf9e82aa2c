// The bus's wire format: one text line per message, the same on every transport.
//
//   cmb1 <sender> <body>
//   sender = 16 lowercase hex digits, random per Bus instance (a process ignores its own messages)
//   body   = a JSON array of one or more stored keys, e.g. ["cacheme:user:1:v1","cacheme:user:2:v1"]
//          | "!"  (the sender dropped keys it could not publish: receivers resync)
//
// Why text and JSON: PostgreSQL NOTIFY carries text only (no NUL bytes, checked against the server
// encoding), and keys are arbitrary strings. JSON escapes every control character, JSON.parse is
// native and fast, and with characters above U+007E escaped as \uXXXX a message is printable ASCII
// whatever the database encoding, so its size in bytes is its length in characters and a split never
// lands inside a character. The `cmb1` prefix names the format and its version: anything else on the
// channel (another program, a future version) is recognised as not ours before any parsing.

const MAGIC = 'cmb1 '
const SENDER_LENGTH = 16
/** Bytes before the body: magic, sender, one space. */
export const HEADER_BYTES = MAGIC.length + SENDER_LENGTH + 1
const LOST_BODY = '!'
/** Printable ASCII only: what encode produces, so anything else is not ours. */
const PRINTABLE = /^[\x20-\x7e]*$/
const SENDER = /^[0-9a-f]{16}$/

export type Message =
  | { readonly sender: string; readonly keys: readonly string[] }
  | { readonly sender: string; readonly keys: undefined }

function escapeWide(char: string): string {
  return `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`
}

/**
 * One key as it appears in a message body: a JSON string, printable ASCII. Lone surrogates come out
 * of JSON.stringify already escaped, so the key round-trips exactly.
 */
export function encodeKey(key: string): string {
  return JSON.stringify(key).replace(/[\u007f-\uffff]/g, escapeWide)
}

/** A message carrying keys already passed through encodeKey. */
export function keysMessage(sender: string, encodedKeys: readonly string[]): string {
  return `${MAGIC}${sender} [${encodedKeys.join(',')}]`
}

/** The message saying `sender` lost invalidations, so every receiver must resync. */
export function lostMessage(sender: string): string {
  return `${MAGIC}${sender} ${LOST_BODY}`
}

/**
 * Whether `payload` was sent by `sender`, from its header alone: a process sees each of its own
 * messages come back, and skipping them before decoding spares the parse of every key it wrote.
 */
export function sentBy(payload: string | Buffer, sender: string): boolean {
  const header =
    typeof payload === 'string' ? payload.slice(0, HEADER_BYTES) : payload.toString('latin1', 0, HEADER_BYTES)
  return header === `${MAGIC}${sender} `
}

/** Bytes a keys message needs beyond its keys: header, brackets. Each key costs its length plus a comma. */
export const KEYS_OVERHEAD = HEADER_BYTES + 2

/**
 * The message in `payload`, or undefined when it is not a valid message of this format and version
 * or is longer than `maxBytes`.
 */
export function decode(payload: string | Buffer, maxBytes: number): Message | undefined {
  if (payload.length > maxBytes || payload.length < HEADER_BYTES + 1) return undefined
  // latin1 maps each byte to one character, so non-ASCII bytes survive as characters PRINTABLE refuses.
  const text = typeof payload === 'string' ? payload : payload.toString('latin1')
  if (!text.startsWith(MAGIC) || text.charCodeAt(HEADER_BYTES - 1) !== 0x20) return undefined
  const sender = text.slice(MAGIC.length, MAGIC.length + SENDER_LENGTH)
  if (!SENDER.test(sender)) return undefined
  const body = text.slice(HEADER_BYTES)
  if (body === LOST_BODY) return { sender, keys: undefined }
  if (body.charCodeAt(0) !== 0x5b || !PRINTABLE.test(body)) return undefined
  let keys: unknown
  try {
    keys = JSON.parse(body)
  } catch {
    return undefined
  }
  if (!Array.isArray(keys) || keys.length === 0) return undefined
  for (const key of keys) if (typeof key !== 'string' || key.length === 0) return undefined
  return { sender, keys: keys as string[] }
}
