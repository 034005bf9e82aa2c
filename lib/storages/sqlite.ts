// `sqlite:///path/to/file` storage: better-sqlite3 in WAL mode behind the RemoteStorage interface.
//
// better-sqlite3 is synchronous, so on the main thread every statement stalls the event loop, and a
// burst of writes stalls it for every tick of the burst. So by default each connection lives in a
// worker thread (sqlite-worker.ts), the requests of one tick travel to it as one message, and the
// worker commits them in one transaction (the event-loop stall it saves is measured by `npm run
// bench:framework`). `poolSize: 0` opts into running on the main thread, for small, light workloads.
//
// poolSize: the number of worker threads, each owning one connection. SQLite has one writer at a
// time, so every write goes to the first connection; reads are spread round-robin over all of them
// (WAL lets readers proceed alongside the writer). Default 1; an in-memory database (`sqlite://:memory:`)
// needs exactly 1 (0 also works), as each connection would see its own database.
//
// This module loads no driver: the worker threads do, and the main thread only with poolSize 0.

import { join } from 'node:path'
import { Worker } from 'node:worker_threads'
import { InvalidArgumentError } from '../errors'
import type { RemoteBackend } from './backend'
import type { RemoteEntry, RemoteStorage } from './remote'
import {
  type CheckedOptions,
  CLEANUP_BATCH,
  checkCleanupLimit,
  closedError,
  integerOption,
  type OptionChecks,
  readOptions,
  storageError,
  urlError,
} from './shared'
import { checkSqliteTable, DEFAULT_TABLE, MAX_KEY_LENGTH } from './sql-names'
import type { SqliteDatabase } from './sqlite-db'
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

export interface SqliteOptions {
  /** sqlite: table name (default `cacheme_data`), `[A-Za-z_][A-Za-z0-9_]*`. */
  readonly table?: string | undefined
  /** sqlite: worker threads, each with its own connection (default 1); 0 runs on the main thread. */
  readonly poolSize?: number | undefined
}

const OPTIONS: OptionChecks<SqliteOptions> = {
  table: (table = DEFAULT_TABLE) => checkSqliteTable(table),
  poolSize: integerOption('sqlite poolSize', 0, 64, 1),
}

/** The operations one connection offers, whichever thread it runs on. */
interface Connection {
  getMany(keys: readonly string[]): Promise<(Buffer | undefined)[]>
  setMany(keys: readonly string[], values: readonly Buffer[], ttlMs: number | null): Promise<void>
  removeMany(keys: readonly string[]): Promise<void>
  cleanup(limit: number): Promise<number>
  close(): Promise<void>
}

const sqliteError = (message: string, cause?: unknown) => storageError('sqlite', message, cause)

/** A connection on the main thread: each call runs synchronously, then resolves. */
class InlineConnection implements Connection {
  readonly #db: SqliteDatabase

  constructor(path: string, table: string) {
    try {
      // Required here, not imported: only poolSize 0 needs better-sqlite3 on this thread.
      const { SqliteDatabase } = require('./sqlite-db') as typeof import('./sqlite-db')
      this.#db = new SqliteDatabase(path, table)
    } catch (error) {
      throw sqliteError(`cannot open ${JSON.stringify(path)}: ${(error as Error).message}`, error)
    }
  }

  async getMany(keys: readonly string[]) {
    return this.#db.getMany(keys)
  }

  async setMany(keys: readonly string[], values: readonly Buffer[], ttlMs: number | null) {
    this.#db.setMany(keys, values, ttlMs)
  }

  async removeMany(keys: readonly string[]) {
    this.#db.removeMany(keys)
  }

  async cleanup(limit: number) {
    return this.#db.cleanupExpired(limit)
  }

  async close() {
    this.#db.close()
  }
}

/** A request waiting for its batch's reply. */
interface Pending {
  readonly op: number
  readonly keyCount: number
  resolve(value: unknown): void
  reject(error: Error): void
}

/** A connection owned by a worker thread; the requests of one tick go as one batch. */
class WorkerConnection implements Connection {
  readonly #worker: Worker
  /** Batches sent and not answered yet, oldest first (the worker answers in order). */
  readonly #inFlight: Pending[][] = []
  #queue: Pending[] = []
  #ops: number[] = []
  #keyCounts: number[] = []
  #keys: string[] = []
  #args: (number | null)[] = []
  #lengths: number[] = []
  #values: Uint8Array[] = []
  #bytes = 0
  #failure: Error | undefined
  /** Set by close(): the worker stays ref'ed until it has exited, whatever replies come in. */
  #closing = false

  private constructor(worker: Worker) {
    this.#worker = worker
  }

  static async open(path: string, table: string): Promise<WorkerConnection> {
    const workerData: SqliteWorkerData = { path, table }
    const worker = new Worker(join(__dirname, 'sqlite-worker.js'), { workerData })
    // Listeners are removed one by one: Worker keeps internal listeners of its own.
    let onMessage: (hello: SqliteHello) => void = () => {}
    let onError: (error: Error) => void = () => {}
    let onExit: (code: number) => void = () => {}
    const hello = await new Promise<SqliteHello>((resolve) => {
      onMessage = resolve
      onError = (error) => resolve({ ready: false, message: error.message })
      onExit = (code) => resolve({ ready: false, message: `worker exited with code ${code}` })
      worker.once('message', onMessage).once('error', onError).once('exit', onExit)
    })
    worker.off('message', onMessage).off('error', onError).off('exit', onExit)
    if (!hello.ready) {
      await worker.terminate()
      throw sqliteError(`cannot open ${JSON.stringify(path)}: ${hello.message}`)
    }
    const connection = new WorkerConnection(worker)
    worker.on('message', (reply: SqliteBatchReply) => connection.#settle(reply))
    worker.on('error', (error) => connection.#fail(sqliteError(`worker failed: ${error.message}`, error)))
    worker.on('exit', () => connection.#fail(closedError('sqlite')))
    // An idle worker must not keep the process alive; it is ref'ed while requests are pending.
    worker.unref()
    return connection
  }

  getMany(keys: readonly string[]): Promise<(Buffer | undefined)[]> {
    return this.#request(OP_GET, keys, null) as Promise<(Buffer | undefined)[]>
  }

  setMany(keys: readonly string[], values: readonly Buffer[], ttlMs: number | null): Promise<void> {
    for (const value of values) {
      this.#lengths.push(value.length)
      this.#values.push(value)
      this.#bytes += value.length
    }
    return this.#request(OP_SET, keys, ttlMs) as Promise<void>
  }

  removeMany(keys: readonly string[]): Promise<void> {
    return this.#request(OP_REMOVE, keys, null) as Promise<void>
  }

  cleanup(limit: number): Promise<number> {
    return this.#request(OP_CLEANUP, [], limit) as Promise<number>
  }

  async close(): Promise<void> {
    if (this.#failure !== undefined) return
    const exited = new Promise<void>((resolve) => this.#worker.once('exit', () => resolve()))
    if (!this.#closing) {
      this.#closing = true
      this.#flush()
      // Without this, the reply to the last batch would unref the worker (#settle) and the process
      // could exit with close() still waiting for the worker to.
      this.#worker.ref()
      this.#worker.postMessage('close')
    }
    await exited
  }

  #request(op: number, keys: readonly string[], arg: number | null): Promise<unknown> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure)
    if (this.#closing) return closed()
    if (this.#queue.length === 0) {
      if (this.#inFlight.length === 0) this.#worker.ref()
      queueMicrotask(() => this.#flush())
    }
    this.#ops.push(op)
    this.#keyCounts.push(keys.length)
    for (const key of keys) this.#keys.push(key)
    this.#args.push(arg)
    return new Promise((resolve, reject) => {
      this.#queue.push({ op, keyCount: keys.length, resolve, reject })
    })
  }

  #flush(): void {
    if (this.#queue.length === 0) return
    // One blob for every value of the batch, transferred: cloning a Buffer would copy its whole
    // backing store (often an 8 KiB pool shared with other values).
    const batch: SqliteBatch = {
      ops: this.#ops,
      keyCounts: this.#keyCounts,
      keys: this.#keys,
      args: this.#args,
      lengths: this.#lengths,
      blob: pack(this.#values, this.#bytes),
    }
    this.#inFlight.push(this.#queue)
    this.#queue = []
    this.#ops = []
    this.#keyCounts = []
    this.#keys = []
    this.#args = []
    this.#lengths = []
    this.#values = []
    this.#bytes = 0
    this.#worker.postMessage(batch, [batch.blob.buffer as ArrayBuffer])
  }

  #settle(reply: SqliteBatchReply): void {
    const batch = this.#inFlight.shift()
    if (batch === undefined) return
    if (this.#inFlight.length === 0 && this.#queue.length === 0 && !this.#closing) this.#worker.unref()
    const blob = reply.blob
    let lengthAt = 0
    let byteAt = 0
    for (let r = 0; r < batch.length; r++) {
      const pending = batch[r] as Pending
      const error = reply.errors[r]
      if (pending.op === OP_GET) {
        // Values are views into the reply's blob: no copy.
        const values = new Array<Buffer | undefined>(pending.keyCount)
        for (let k = 0; k < pending.keyCount; k++) {
          const length = reply.lengths[lengthAt++] ?? -1
          if (length < 0) continue
          values[k] = Buffer.from(blob.buffer, blob.byteOffset + byteAt, length)
          byteAt += length
        }
        if (error == null) pending.resolve(values)
      } else if (error == null)
        pending.resolve(pending.op === OP_CLEANUP ? (reply.counts[r] ?? 0) : undefined)
      if (error != null) pending.reject(sqliteError(error))
    }
  }

  #fail(error: Error): void {
    if (this.#failure === undefined) this.#failure = error
    for (const batch of this.#inFlight) for (const pending of batch) pending.reject(error)
    for (const pending of this.#queue) pending.reject(error)
    this.#inFlight.length = 0
    this.#queue = []
  }
}

/** Answers every call of a closed storage with CACHEME_CLOSED. */
const CLOSED: Connection = {
  getMany: closed,
  setMany: closed,
  removeMany: closed,
  cleanup: closed,
  close: () => Promise.resolve(),
}

function closed(): Promise<never> {
  return Promise.reject(closedError('sqlite'))
}

export class SqliteStorage implements RemoteStorage {
  readonly maxKeyLength = MAX_KEY_LENGTH
  readonly #connections: readonly Connection[]
  #next = 0
  #closed = false

  private constructor(connections: readonly Connection[]) {
    this.#connections = connections
  }

  /** Opens (creating if needed) the database at `path` and its table. */
  static async open(path: string, options: SqliteOptions = {}): Promise<SqliteStorage> {
    const { table, poolSize }: CheckedOptions<SqliteOptions> = readOptions(OPTIONS, options, path)
    if (path === ':memory:' && poolSize > 1) {
      throw new InvalidArgumentError(
        'CACHEME_INVALID_ARGUMENT',
        'sqlite://:memory: needs poolSize 0 or 1: each connection would open its own empty database',
      )
    }
    if (poolSize === 0) return new SqliteStorage([new InlineConnection(path, table)])
    // Open the first connection alone: it creates the file, the WAL and the table.
    const first = await WorkerConnection.open(path, table)
    const rest = await Promise.all(
      Array.from({ length: poolSize - 1 }, () => WorkerConnection.open(path, table)),
    ).catch(async (error: unknown) => {
      await first.close()
      throw error
    })
    return new SqliteStorage([first, ...rest])
  }

  get(key: string): Promise<Buffer | undefined> {
    return this.#reader()
      .getMany([key])
      .then((values) => values[0])
  }

  getMany(keys: readonly string[]): Promise<(Buffer | undefined)[]> {
    return this.#reader().getMany(keys)
  }

  set(key: string, value: Buffer, ttlMs: number | null): Promise<void> {
    return this.#writer().setMany([key], [value], ttlMs)
  }

  setMany(entries: readonly RemoteEntry[], ttlMs: number | null): Promise<void> {
    return this.#writer().setMany(
      entries.map((entry) => entry[0]),
      entries.map((entry) => entry[1]),
      ttlMs,
    )
  }

  remove(key: string): Promise<void> {
    return this.#writer().removeMany([key])
  }

  removeMany(keys: readonly string[]): Promise<void> {
    return this.#writer().removeMany(keys)
  }

  /** Deletes up to `limit` expired rows now (writes also do this every 30 s); returns how many. */
  async cleanupExpired(limit: number = CLEANUP_BATCH): Promise<number> {
    checkCleanupLimit(limit)
    return await this.#writer().cleanup(limit)
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await Promise.all(this.#connections.map((connection) => connection.close()))
  }

  #writer(): Connection {
    if (this.#closed) return CLOSED
    return this.#connections[0] as Connection
  }

  #reader(): Connection {
    if (this.#closed) return CLOSED
    const connections = this.#connections
    if (connections.length === 1) return connections[0] as Connection
    this.#next = (this.#next + 1) % connections.length
    return connections[this.#next] as Connection
  }
}

/** `sqlite:///absolute/path.db`, `sqlite://relative.db`, `sqlite://:memory:`. */
export const sqliteBackend: RemoteBackend<SqliteOptions> = {
  kind: 'remote',
  name: 'sqlite',
  schemes: ['sqlite'],
  options: OPTIONS,
  checkUrl(path) {
    if (path === '') {
      throw urlError(
        'sqlite url needs a path: sqlite:///absolute/path.db, sqlite://relative.db or sqlite://:memory:',
      )
    }
  },
  driver: { package: 'better-sqlite3', install: 'npm install better-sqlite3' },
  // The writer deletes expired rows itself, a bounded batch every 30 s (sqlite-db.ts).
  cleanup: 'none',
  maxKeyLength: MAX_KEY_LENGTH,
  // As long as busy_timeout: a writer may legitimately wait that long for the file lock.
  defaultTimeout: 5000,
  open: (_url, path, options) => SqliteStorage.open(path, options),
}
