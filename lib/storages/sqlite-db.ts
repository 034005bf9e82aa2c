// One SQLite connection doing cacheme's storage work synchronously (better-sqlite3). It runs inside
// the worker thread of a `sqlite://` storage (sqlite-worker.ts), or on the main thread when
// `poolSize: 0` asks for that.

import Database from 'better-sqlite3'
import { CLEANUP_BATCH, PerSize, repeated } from './shared'
import { checkSqliteTable, DEFAULT_TABLE } from './sql-names'

// SQLite allows 32766 bound parameters per statement; stay well below with round chunk sizes so a
// handful of prepared statements covers every batch.
const READ_CHUNK = 500
const WRITE_CHUNK = 200 // four parameters per row
const CLEANUP_INTERVAL_MS = 30_000
/** Prepared statements kept per kind; past this, a kind's are dropped and prepared again. */
const STATEMENTS_KEPT = 64

/** The statements of sqlite.sql for `table` (a test keeps the two identical). */
export function schema(table: string): string[] {
  checkSqliteTable(table)
  return [
    `CREATE TABLE IF NOT EXISTS ${table} (
  id INTEGER PRIMARY KEY,
  key VARCHAR(512) NOT NULL UNIQUE,
  value BLOB NOT NULL,
  expire INTEGER,
  updated_at INTEGER NOT NULL
)`,
    `CREATE INDEX IF NOT EXISTS ${table}_expire ON ${table} (expire)`,
  ]
}

export class SqliteDatabase {
  readonly #db: Database.Database
  readonly #reads: PerSize<Database.Statement<unknown[], { key: string; value: Buffer }>>
  readonly #writes: PerSize<Database.Statement<unknown[]>>
  readonly #deletes: PerSize<Database.Statement<unknown[]>>
  readonly #cleanup: Database.Statement<[number, number]>
  #lastCleanup = Date.now()

  constructor(path: string, table: string = DEFAULT_TABLE) {
    checkSqliteTable(table)
    this.#db = new Database(path)
    // WAL: readers never block the writer; NORMAL sync is crash-safe in WAL mode and skips an fsync
    // per commit, the right trade for a cache.
    this.#db.pragma('journal_mode = WAL')
    this.#db.pragma('synchronous = NORMAL')
    this.#db.pragma('busy_timeout = 5000')
    for (const statement of schema(table)) this.#db.exec(statement)
    this.#cleanup = this.#db.prepare(
      `DELETE FROM ${table} WHERE id IN (SELECT id FROM ${table} WHERE expire <= ? LIMIT ?)`,
    )
    // One prepared statement per batch size; the chunk sizes above keep them few.
    const prepare = (sql: string) => this.#db.prepare(sql)
    this.#reads = new PerSize(
      (n) =>
        prepare(
          `SELECT key, value FROM ${table} WHERE (expire IS NULL OR expire > ?) AND key IN (${repeated(n, '?')})`,
        ) as Database.Statement<unknown[], { key: string; value: Buffer }>,
      STATEMENTS_KEPT,
    )
    this.#writes = new PerSize(
      (n) =>
        prepare(
          `INSERT INTO ${table} (key, value, expire, updated_at) VALUES ${repeated(n, '(?, ?, ?, ?)')}
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, expire = excluded.expire, updated_at = excluded.updated_at`,
        ),
      STATEMENTS_KEPT,
    )
    this.#deletes = new PerSize(
      (n) => prepare(`DELETE FROM ${table} WHERE key IN (${repeated(n, '?')})`),
      STATEMENTS_KEPT,
    )
  }

  /** Values in key order, undefined for missing or expired rows. */
  getMany(keys: readonly string[]): (Buffer | undefined)[] {
    const now = Date.now()
    const found = new Map<string, Buffer>()
    for (let start = 0; start < keys.length; start += READ_CHUNK) {
      const chunk = keys.slice(start, start + READ_CHUNK)
      for (const row of this.#reads.sized(chunk.length).all(now, ...chunk)) found.set(row.key, row.value)
    }
    return keys.map((key) => found.get(key))
  }

  /** Multi-row upsert; a later entry for the same key wins. */
  setMany(keys: readonly string[], values: readonly Uint8Array[], ttlMs: number | null): void {
    const now = Date.now()
    const expire = ttlMs === null ? null : now + ttlMs
    const run = () => {
      for (let start = 0; start < keys.length; start += WRITE_CHUNK) {
        const end = Math.min(start + WRITE_CHUNK, keys.length)
        const params: unknown[] = []
        for (let i = start; i < end; i++) params.push(keys[i], values[i], expire, now)
        this.#writes.sized(end - start).run(...params)
      }
    }
    if (keys.length > WRITE_CHUNK) this.#db.transaction(run)()
    else run()
    this.#maybeCleanup(now)
  }

  removeMany(keys: readonly string[]): void {
    for (let start = 0; start < keys.length; start += READ_CHUNK) {
      const chunk = keys.slice(start, start + READ_CHUNK)
      this.#deletes.sized(chunk.length).run(...chunk)
    }
  }

  /** Deletes up to `limit` expired rows; returns how many. */
  cleanupExpired(limit: number = CLEANUP_BATCH): number {
    this.#lastCleanup = Date.now()
    return this.#cleanup.run(this.#lastCleanup, limit).changes
  }

  /**
   * Runs `work` in one transaction (a batch of requests from the main thread). One that `writes`
   * takes the write lock at BEGIN (IMMEDIATE), waiting for it up to busy_timeout: a transaction that
   * read first could not wait when it came to write, because another connection's commit in between
   * leaves its snapshot too old to write on (SQLite answers SQLITE_BUSY at once).
   */
  transaction<R>(work: () => R, writes: boolean): R {
    const transaction = this.#db.transaction(work)
    return writes ? transaction.immediate() : transaction()
  }

  close(): void {
    this.#db.close()
  }

  // Expired rows are already misses; this only reclaims their space, a bounded batch at a time,
  // piggybacking on writes so an idle database costs nothing.
  #maybeCleanup(now: number): void {
    if (now - this.#lastCleanup >= CLEANUP_INTERVAL_MS) this.cleanupExpired(CLEANUP_BATCH)
  }
}
