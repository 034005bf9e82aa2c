// `postgresql://` storage over a pg Pool (poolSize → the pool's `max` connections, default 10; a
// caller beyond that waits for a free connection, up to 10 s).
//
// One table (postgresql.sql, created when missing). Expiry uses the server's clock: writes store
// `now() + ttl`, reads skip rows whose `expire` has passed, so clients with skewed clocks agree.
// Batches: getMany is one `key = ANY($1)` select; setMany one multi-row `INSERT … ON CONFLICT (key)
// DO UPDATE` per 1000 entries. Expired rows are misses on every read; cleanupExpired deletes them a
// bounded batch at a time.

import { createHash } from 'node:crypto'
import type { DatabaseError, Pool, PoolClient } from 'pg'
import { InvalidArgumentError } from '../errors'
import type { RemoteBackend } from './backend'
import type { RemoteEntry, RemoteStorage } from './remote'
import {
  CLEANUP_BATCH,
  checkCleanupLimit,
  closedError,
  failure,
  lastPerKey,
  messageOf,
  type OptionChecks,
  readOptions,
  redact,
  retrying,
  storageError,
} from './shared'
import {
  DEFAULT_TABLE,
  MAX_KEY_LENGTH,
  parseTableName,
  type SqlServerOptions,
  sqlServerOptions,
  TABLE_BACKEND,
} from './sql-names'

/**
 * postgresql: `table` or `schema.table` (the schema must exist); `poolSize`; `preparedStatements`
 * (default true): the single-key statements are prepared once per connection (named statements).
 * Turn it off behind a pooler in transaction mode that does not track them (PgBouncer before 1.21,
 * or without `max_prepared_statements`).
 */
export type PostgresStorageOptions = SqlServerOptions & { preparedStatements?: boolean }

const OPTIONS: OptionChecks<PostgresStorageOptions> = {
  ...sqlServerOptions('postgresql'),
  preparedStatements: (prepared = true) => {
    if (typeof prepared !== 'boolean') {
      throw new InvalidArgumentError(
        'CACHEME_INVALID_ARGUMENT',
        `postgresql preparedStatements must be a boolean; got ${String(prepared)}`,
      )
    }
    return prepared
  },
}

/** A statement as pg runs it: named ones are parsed and planned once per connection. */
interface Statement {
  readonly text: string
  readonly name: string | undefined
}

/**
 * Named after its text, so two storages on one table share the name only when they share the
 * statement (pg refuses one name for two texts on a connection).
 */
function statement(text: string, prepared: boolean): Statement {
  const name = prepared ? `cacheme_${createHash('sha1').update(text).digest('hex').slice(0, 24)}` : undefined
  return { text, name }
}

/** Rows per multi-row upsert: 2 parameters each, far below PostgreSQL's 65535. */
const WRITE_CHUNK = 1000
/** Attempts for a statement that lost a deadlock (only possible against foreign writers). */
const DEADLOCK_ATTEMPTS = 3

const isDeadlock = (error: unknown) => (error as DatabaseError).code === '40P01'

function quote(table: string): { table: string; index: string } {
  const { schema, name } = parseTableName(table)
  return {
    table: schema === undefined ? `"${name}"` : `"${schema}"."${name}"`,
    index: `"${name}_expire"`,
  }
}

/** The statements of postgresql.sql for `table` (a test keeps the two identical). */
export function postgresSchema(table: string = DEFAULT_TABLE): string[] {
  const q = quote(table)
  return [
    `CREATE TABLE IF NOT EXISTS ${q.table} (
  id BIGSERIAL PRIMARY KEY,
  key VARCHAR(512) NOT NULL UNIQUE,
  value BYTEA NOT NULL,
  expire TIMESTAMPTZ,
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
)`,
    `CREATE INDEX IF NOT EXISTS ${q.index} ON ${q.table} (expire)`,
  ]
}

export class PostgresStorage implements RemoteStorage {
  readonly maxKeyLength = MAX_KEY_LENGTH
  readonly #pool: Pool
  readonly #sql: {
    get: Statement
    getMany: Statement
    remove: Statement
    removeMany: Statement
    cleanup: string
    /** The one-row upsert of set, built once. */
    set: Statement
    upsert: (rows: number) => string
  }
  #closed = false

  private constructor(pool: Pool, table: string, prepared: boolean) {
    this.#pool = pool
    const t = quote(table).table
    const live = '(expire IS NULL OR expire > now())'
    const expire = "now() + $1::double precision * interval '1 millisecond'"
    const upsert = (rows: number) => {
      const values = Array.from(
        { length: rows },
        (_, i) => `($${2 * i + 2}, $${2 * i + 3}, ${expire}, now())`,
      )
      return `INSERT INTO ${t} (key, value, expire, updated_at) VALUES ${values.join(', ')}
ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, expire = EXCLUDED.expire, updated_at = EXCLUDED.updated_at`
    }
    this.#sql = {
      get: statement(`SELECT value FROM ${t} WHERE key = $1 AND ${live}`, prepared),
      getMany: statement(`SELECT key, value FROM ${t} WHERE key = ANY($1::varchar[]) AND ${live}`, prepared),
      remove: statement(`DELETE FROM ${t} WHERE key = $1`, prepared),
      removeMany: statement(`DELETE FROM ${t} WHERE key = ANY($1::varchar[])`, prepared),
      // SKIP LOCKED: concurrent cleanups share the work instead of queueing on each other's rows.
      cleanup: `DELETE FROM ${t} WHERE id IN (SELECT id FROM ${t} WHERE expire <= now() LIMIT $1 FOR UPDATE SKIP LOCKED)`,
      set: statement(upsert(1), prepared),
      upsert,
    }
  }

  /** Connects, then creates the table and its index when missing. */
  static async open(url: string, options: PostgresStorageOptions = {}): Promise<PostgresStorage> {
    const { table, poolSize, preparedStatements } = readOptions(OPTIONS, options, url)
    // pg is an optional peer dependency: required when a storage opens, not when cacheme loads.
    const pg = require('pg') as typeof import('pg')
    const pool = new pg.Pool({ connectionString: url, max: poolSize, connectionTimeoutMillis: 10_000 })
    // An idle connection that dies emits 'error' on the pool, which would otherwise crash the
    // process; the pool drops that connection and the next query opens a fresh one.
    pool.on('error', () => {})
    let client: PoolClient | undefined
    try {
      client = await pool.connect()
      // Two processes creating one table at once can collide inside CREATE … IF NOT EXISTS:
      // serialize them on an advisory lock named after the table.
      await client.query('BEGIN')
      await client.query("SELECT pg_advisory_xact_lock(hashtext('cacheme:' || $1))", [table])
      for (const statement of postgresSchema(table)) await client.query(statement)
      await client.query('COMMIT')
      client.release()
    } catch (error) {
      client?.release(true)
      await pool.end().catch(() => {})
      const message = `cannot open ${redact(url)} table ${table}: ${messageOf(error)}`
      throw storageError('postgresql', message, error)
    }
    return new PostgresStorage(pool, table, preparedStatements)
  }

  async get(key: string): Promise<Buffer | undefined> {
    const rows = await this.#query<{ value: Buffer }>('GET', this.#sql.get, [key])
    return rows[0]?.value
  }

  async getMany(keys: readonly string[]): Promise<(Buffer | undefined)[]> {
    if (keys.length === 0) return []
    const rows = await this.#query<{ key: string; value: Buffer }>('batch GET', this.#sql.getMany, [keys])
    const found = new Map<string, Buffer>()
    for (const row of rows) found.set(row.key, row.value)
    return keys.map((key) => found.get(key))
  }

  async set(key: string, value: Buffer, ttlMs: number | null): Promise<void> {
    await this.#query('SET', this.#sql.set, [ttlMs, key, value])
  }

  async setMany(entries: readonly RemoteEntry[], ttlMs: number | null): Promise<void> {
    const rows = lastPerKey(entries)
    for (let start = 0; start < rows.length; start += WRITE_CHUNK) {
      const chunk = rows.slice(start, start + WRITE_CHUNK)
      const upsert = { text: this.#sql.upsert(chunk.length), name: undefined }
      await this.#query('batch SET', upsert, [ttlMs, ...chunk.flat()])
    }
  }

  async remove(key: string): Promise<void> {
    await this.#query('DELETE', this.#sql.remove, [key])
  }

  async removeMany(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return
    await this.#query('batch DELETE', this.#sql.removeMany, [keys])
  }

  /** Deletes up to `limit` expired rows; returns how many. */
  async cleanupExpired(limit = CLEANUP_BATCH): Promise<number> {
    checkCleanupLimit(limit)
    if (this.#closed) throw closedError('postgresql')
    try {
      return (await this.#pool.query(this.#sql.cleanup, [limit])).rowCount ?? 0
    } catch (error) {
      throw failure('postgresql', 'cleanup', error)
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await this.#pool.end()
  }

  async #query<R extends object>(what: string, { text, name }: Statement, values: unknown[]): Promise<R[]> {
    if (this.#closed) throw closedError('postgresql')
    try {
      const query = { text, name, values }
      const result = await retrying(DEADLOCK_ATTEMPTS, isDeadlock, () => this.#pool.query<R>(query))
      return result.rows
    } catch (error) {
      throw failure('postgresql', what, error)
    }
  }
}

/** Opens a `postgresql://` storage (see PostgresStorage). */
export function openPostgres(url: string, options: PostgresStorageOptions = {}): Promise<PostgresStorage> {
  return PostgresStorage.open(url, options)
}

/** `postgresql://` (or `postgres://`) over a pg pool. */
export const postgresqlBackend: RemoteBackend<PostgresStorageOptions> = {
  ...TABLE_BACKEND,
  name: 'postgresql',
  schemes: ['postgresql', 'postgres'],
  options: OPTIONS,
  driver: { package: 'pg', install: 'npm install pg' },
  open: (url, _rest, options) => PostgresStorage.open(url, options),
}
