// `mysql://` storage (MySQL or MariaDB) over a mysql2 pool (poolSize → `connectionLimit`, default 10;
// callers beyond that queue for a free connection).
//
// One table (mysql.sql, created when missing). The key column is VARBINARY rather than VARCHAR: every
// MySQL/MariaDB text collation either folds case or ignores trailing spaces (PAD SPACE), and either
// would make two distinct keys one row. 2048 bytes hold any 512-character key in UTF-8. Expiry uses the
// server's UTC clock, so clients with skewed clocks agree.
//
// Statements are server-side prepared (execute), so keys and values travel as bound parameters. Each
// connection keeps one prepared statement per distinct SQL text, so batch sizes are padded to a power
// of two (repeating the last key or row, which changes nothing): a handful of statements per
// connection instead of one per batch size, far from max_prepared_stmt_count. Each text is built
// once per size and kept (PerSize), and the single-key calls (get, set, remove) send the one-key
// text directly: a request pays no SQL building, and mysql2 finds its prepared statement by a
// string whose hash is already known.

import type { Pool, ResultSetHeader, RowDataPacket } from 'mysql2/promise'
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
  PerSize,
  readOptions,
  redact,
  repeated,
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

/** mysql: `table` or `database.table` in the URL's database; `poolSize`. */
export type MysqlStorageOptions = SqlServerOptions

const OPTIONS: OptionChecks<MysqlStorageOptions> = sqlServerOptions('mysql')

/** Keys per `IN (…)` read and rows per multi-row upsert (3 parameters each). */
const READ_CHUNK = 1024
const WRITE_CHUNK = 512
/** Attempts for a statement that lost a deadlock (ER_LOCK_DEADLOCK), as InnoDB asks callers to retry. */
const DEADLOCK_ATTEMPTS = 3

const isDeadlock = (error: unknown) => (error as { errno?: number }).errno === 1213

function quote(table: string): { table: string; name: string } {
  const { schema, name } = parseTableName(table)
  return { table: schema === undefined ? `\`${name}\`` : `\`${schema}\`.\`${name}\``, name }
}

/** The statement of mysql.sql for `table` (a test keeps the two identical). */
export function mysqlSchema(table: string = DEFAULT_TABLE): string[] {
  const q = quote(table)
  return [
    `CREATE TABLE IF NOT EXISTS ${q.table} (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  \`key\` VARBINARY(2048) NOT NULL,
  value LONGBLOB NOT NULL,
  expire DATETIME(3) NULL,
  updated_at DATETIME(3) NOT NULL,
  UNIQUE KEY \`${q.name}_key\` (\`key\`),
  KEY \`${q.name}_expire\` (expire)
) ENGINE = InnoDB`,
  ]
}

/** The next power of two ≥ n. */
function padded(n: number): number {
  return 2 ** Math.ceil(Math.log2(n))
}

/** TTL as whole microseconds for `INTERVAL ? MICROSECOND`; NULL keeps the row forever. */
function micros(ttlMs: number | null): number | null {
  return ttlMs === null ? null : Math.max(1, Math.round(ttlMs * 1000))
}

export class MysqlStorage implements RemoteStorage {
  readonly maxKeyLength = MAX_KEY_LENGTH
  readonly #pool: Pool
  readonly #table: string
  readonly #select: PerSize<string>
  readonly #upsert: PerSize<string>
  readonly #delete: PerSize<string>
  #closed = false

  private constructor(pool: Pool, table: string) {
    this.#pool = pool
    const t = quote(table).table
    this.#table = t
    this.#select = new PerSize(
      (size) => `SELECT \`key\`, value FROM ${t}
WHERE \`key\` IN (${repeated(size, '?')}) AND (expire IS NULL OR expire > UTC_TIMESTAMP(3))`,
    )
    this.#upsert = new PerSize(
      (size) => `INSERT INTO ${t} (\`key\`, value, expire, updated_at)
VALUES ${repeated(size, '(?, ?, UTC_TIMESTAMP(3) + INTERVAL ? MICROSECOND, UTC_TIMESTAMP(3))')}
ON DUPLICATE KEY UPDATE value = VALUES(value), expire = VALUES(expire), updated_at = VALUES(updated_at)`,
    )
    this.#delete = new PerSize((size) => `DELETE FROM ${t} WHERE \`key\` IN (${repeated(size, '?')})`)
  }

  /** Connects, then creates the table when missing. */
  static async open(url: string, options: MysqlStorageOptions = {}): Promise<MysqlStorage> {
    const { table, poolSize } = readOptions(OPTIONS, options, url)
    const { schema } = parseTableName(table)
    let database: string
    try {
      database = decodeURIComponent(new URL(url).pathname.slice(1))
    } catch (error) {
      throw new InvalidArgumentError('CACHEME_INVALID_ARGUMENT', `bad mysql url ${redact(url)}`, {
        cause: error,
      })
    }
    if (database === '' && schema === undefined) {
      throw new InvalidArgumentError(
        'CACHEME_INVALID_ARGUMENT',
        `mysql url ${redact(url)} names no database: use mysql://host/database or table: 'database.table'`,
      )
    }
    // mysql2 is an optional peer dependency: required when a storage opens, not when cacheme loads.
    const mysql = require('mysql2/promise') as typeof import('mysql2/promise')
    const pool = mysql.createPool({
      uri: url,
      connectionLimit: poolSize,
      waitForConnections: true,
      queueLimit: 0,
    })
    try {
      for (const statement of mysqlSchema(table)) await pool.query(statement)
    } catch (error) {
      await pool.end().catch(() => {})
      const message = `cannot open ${redact(url)} table ${table}: ${messageOf(error)}`
      throw storageError('mysql', message, error)
    }
    return new MysqlStorage(pool, table)
  }

  async get(key: string): Promise<Buffer | undefined> {
    // getMany's one-key statement: at most one row, the key's own.
    const rows = await this.#execute<RowDataPacket[]>('GET', this.#select.sized(1), [key])
    return rows[0]?.value as Buffer | undefined
  }

  async getMany(keys: readonly string[]): Promise<(Buffer | undefined)[]> {
    const found = new Map<string, Buffer>()
    for (let start = 0; start < keys.length; start += READ_CHUNK) {
      const chunk = keys.slice(start, start + READ_CHUNK)
      const size = padded(chunk.length)
      const last = chunk[chunk.length - 1] as string
      while (chunk.length < size) chunk.push(last)
      const rows = await this.#execute<RowDataPacket[]>('GET', this.#select.sized(size), chunk)
      for (const row of rows) found.set((row.key as Buffer).toString('utf8'), row.value as Buffer)
    }
    return keys.map((key) => found.get(key))
  }

  async set(key: string, value: Buffer, ttlMs: number | null): Promise<void> {
    await this.#execute('SET', this.#upsert.sized(1), [key, value, micros(ttlMs)])
  }

  async setMany(entries: readonly RemoteEntry[], ttlMs: number | null): Promise<void> {
    const rows = lastPerKey(entries)
    const ttl = micros(ttlMs)
    for (let start = 0; start < rows.length; start += WRITE_CHUNK) {
      const chunk = rows.slice(start, start + WRITE_CHUNK)
      const size = padded(chunk.length)
      const params: unknown[] = []
      for (let i = 0; i < size; i++) {
        const [key, value] = chunk[Math.min(i, chunk.length - 1)] as RemoteEntry
        params.push(key, value, ttl)
      }
      await this.#execute('SET', this.#upsert.sized(size), params)
    }
  }

  async remove(key: string): Promise<void> {
    await this.#execute('DELETE', this.#delete.sized(1), [key])
  }

  async removeMany(keys: readonly string[]): Promise<void> {
    for (let start = 0; start < keys.length; start += READ_CHUNK) {
      const chunk = keys.slice(start, start + READ_CHUNK)
      const size = padded(chunk.length)
      const last = chunk[chunk.length - 1] as string
      while (chunk.length < size) chunk.push(last)
      await this.#execute('DELETE', this.#delete.sized(size), chunk)
    }
  }

  /** Deletes up to `limit` expired rows; returns how many. */
  async cleanupExpired(limit = CLEANUP_BATCH): Promise<number> {
    checkCleanupLimit(limit)
    // `limit` is a checked integer, written into the text: LIMIT ? is not portable across servers.
    const result = await this.#execute<ResultSetHeader>(
      'cleanup',
      `DELETE FROM ${this.#table} WHERE expire <= UTC_TIMESTAMP(3) LIMIT ${limit}`,
      [],
    )
    return result.affectedRows
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await this.#pool.end()
  }

  async #execute<R extends RowDataPacket[] | ResultSetHeader>(
    what: string,
    sql: string,
    params: unknown[],
  ): Promise<R> {
    if (this.#closed) throw closedError('mysql')
    try {
      const [result] = await retrying(DEADLOCK_ATTEMPTS, isDeadlock, () =>
        this.#pool.execute<R>(sql, params as never),
      )
      return result
    } catch (error) {
      throw failure('mysql', what, error)
    }
  }
}

/** Opens a `mysql://` storage (see MysqlStorage). */
export function openMysql(url: string, options: MysqlStorageOptions = {}): Promise<MysqlStorage> {
  return MysqlStorage.open(url, options)
}

/** `mysql://`: MySQL or MariaDB over a mysql2 pool. */
export const mysqlBackend: RemoteBackend<MysqlStorageOptions> = {
  ...TABLE_BACKEND,
  name: 'mysql',
  schemes: ['mysql'],
  options: OPTIONS,
  driver: { package: 'mysql2', install: 'npm install mysql2' },
  open: (url, _rest, options) => MysqlStorage.open(url, options),
}
