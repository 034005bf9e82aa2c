// Worker thread owning one SQLite connection, so that statements (and the fsyncs of WAL
// checkpoints) run off the main thread's event loop (sqlite.ts says why that matters).

import { parentPort, workerData } from 'node:worker_threads'
import { SqliteDatabase } from './sqlite-db'
import {
  OP_CLEANUP,
  OP_GET,
  OP_REMOVE,
  OP_SET,
  pack,
  type SqliteBatch,
  type SqliteBatchReply,
  type SqliteHello,
  type SqliteWorkerData,
} from './sqlite-protocol'

const port = parentPort
if (port === null) throw new Error('sqlite-worker.js must run as a worker thread')
const { path, table } = workerData as SqliteWorkerData

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/** Whether an operation writes (a batch with one takes the write lock first, SqliteDatabase.transaction). */
const writes = (op: number) => op !== OP_GET

function runBatch(db: SqliteDatabase, batch: SqliteBatch): SqliteBatchReply {
  const n = batch.ops.length
  const errors = new Array<string | null>(n).fill(null)
  const counts = new Array<number>(n).fill(0)
  const lengths: number[] = []
  const found: Buffer[] = []
  let foundBytes = 0
  let keyAt = 0
  let valueAt = 0
  let byteAt = 0
  db.transaction(() => {
    for (let r = 0; r < n; r++) {
      const keyCount = batch.keyCounts[r] as number
      const keys = batch.keys.slice(keyAt, keyAt + keyCount)
      keyAt += keyCount
      const op = batch.ops[r]
      // Values of a set are views into the blob: no copy.
      let values: Buffer[] = []
      if (op === OP_SET) {
        values = keys.map(() => {
          const length = batch.lengths[valueAt++] as number
          const view = Buffer.from(batch.blob.buffer, batch.blob.byteOffset + byteAt, length)
          byteAt += length
          return view
        })
      }
      try {
        if (op === OP_GET) {
          for (const value of db.getMany(keys)) {
            if (value === undefined) lengths.push(-1)
            else {
              lengths.push(value.length)
              found.push(value)
              foundBytes += value.length
            }
          }
        } else if (op === OP_SET) db.setMany(keys, values, batch.args[r] as number | null)
        else if (op === OP_REMOVE) db.removeMany(keys)
        else if (op === OP_CLEANUP) counts[r] = db.cleanupExpired(batch.args[r] as number)
      } catch (error) {
        errors[r] = message(error)
        // Keep the reply aligned: a failed read answers misses for its keys.
        if (op === OP_GET) for (let k = 0; k < keyCount; k++) lengths.push(-1)
      }
    }
  }, batch.ops.some(writes))
  return { errors, counts, lengths, blob: pack(found, foundBytes) }
}

let db: SqliteDatabase
try {
  db = new SqliteDatabase(path, table)
  port.postMessage({ ready: true } satisfies SqliteHello)
} catch (error) {
  port.postMessage({ ready: false, message: message(error) } satisfies SqliteHello)
  port.close()
}

port.on('message', (batch: SqliteBatch | 'close') => {
  if (batch === 'close') {
    db.close()
    port.close()
    return
  }
  let reply: SqliteBatchReply
  try {
    reply = runBatch(db, batch)
  } catch (error) {
    const n = batch.ops.length
    reply = {
      errors: new Array<string>(n).fill(message(error)),
      counts: [],
      lengths: [],
      blob: new Uint8Array(0),
    }
  }
  port.postMessage(reply, [reply.blob.buffer as ArrayBuffer])
})
