// Messages between a `sqlite://` storage (sqlite.ts) and the worker thread owning its connection
// (sqlite-worker.ts). All requests made in one tick travel as one columnar batch — flat arrays plus
// one byte blob, transferred rather than copied — because cloning thousands of small objects and
// ArrayBuffers per message cost more main-thread time than the SQL itself. The worker runs a batch
// in one transaction and answers batches in order, so replies need no ids.

export const OP_GET = 0
export const OP_SET = 1
export const OP_REMOVE = 2
export const OP_CLEANUP = 3

export interface SqliteBatch {
  /** Operation of each request. */
  readonly ops: number[]
  /** Keys of each request, all requests' keys concatenated (cleanup has none). */
  readonly keyCounts: number[]
  readonly keys: string[]
  /** Per request: set → ttl in ms or null; cleanup → limit; others → null. */
  readonly args: (number | null)[]
  /** Byte length of each value written by the set requests, in key order, within `blob`. */
  readonly lengths: number[]
  readonly blob: Uint8Array
}

export interface SqliteBatchReply {
  /** Per request: null, or the message of the error that failed it. */
  readonly errors: (string | null)[]
  /** Per request: the cleanup count (0 for other operations). */
  readonly counts: number[]
  /** For every key read by the get requests, in order: byte length in `blob`, or -1 for a miss. */
  readonly lengths: number[]
  readonly blob: Uint8Array
}

/** First message from the worker: the database opened, or why it did not. */
export type SqliteHello = { readonly ready: true } | { readonly ready: false; readonly message: string }

export interface SqliteWorkerData {
  readonly path: string
  readonly table: string
}

/** Concatenates `parts` into one transferable buffer. */
export function pack(parts: readonly Uint8Array[], total: number): Uint8Array {
  const blob = new Uint8Array(total)
  let offset = 0
  for (const part of parts) {
    blob.set(part, offset)
    offset += part.length
  }
  return blob
}
