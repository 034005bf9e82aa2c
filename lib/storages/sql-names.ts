// Names that end up inside SQL text or a MongoDB namespace: table, collection and database names.
// Keys and values are always bound parameters, but an identifier cannot be, so it is checked against
// a strict pattern before any statement is built and then quoted as well. Also the limits the shipped
// schemas share. Driver-free: every SQL and MongoDB backend, SQLite included, reads these.

import { InvalidArgumentError } from '../errors'
import { integerOption, type OptionChecks } from './shared'

/** Table (SQL) or collection (MongoDB) used when the options name none. */
export const DEFAULT_TABLE = 'cacheme_data'

/** `key VARCHAR(512)` in every shipped schema (MySQL's VARBINARY(2048) holds 512 characters). */
export const MAX_KEY_LENGTH = 512

/**
 * What the backends storing the shipped schema's rows share (postgresql, mysql, mongodb): its key
 * limit, and expired rows that stay until a periodic cleanup pass deletes them.
 */
export const TABLE_BACKEND = { kind: 'remote', cleanup: 'periodic', maxKeyLength: MAX_KEY_LENGTH } as const

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/

// PostgreSQL truncates identifiers past 63 bytes and MySQL refuses them past 64; the derived index
// name `<table>_expire` adds 7 characters, so a name part stops at 56.
const MAX_IDENTIFIER_LENGTH = 56

/** A validated, possibly schema-qualified name. */
export interface QualifiedName {
  readonly schema: string | undefined
  readonly name: string
}

type NameKind = 'table' | 'collection' | 'database'

function isPart(part: string): boolean {
  return part.length <= MAX_IDENTIFIER_LENGTH && IDENTIFIER.test(part)
}

function nameError(kind: NameKind, name: unknown): InvalidArgumentError {
  const qualified = kind === 'table' ? ', optionally qualified as schema.table' : ''
  return new InvalidArgumentError(
    'CACHEME_INVALID_ARGUMENT',
    `${kind} name must match [A-Za-z_][A-Za-z0-9_]* (at most ${MAX_IDENTIFIER_LENGTH} characters)${qualified}; ` +
      `got ${JSON.stringify(name)}`,
  )
}

/** Checks a table name, `table` or `schema.table`; throws InvalidArgumentError otherwise. */
export function parseTableName(table: unknown): QualifiedName {
  const parts = typeof table === 'string' ? table.split('.') : []
  if (parts.length === 0 || parts.length > 2 || !parts.every(isPart)) throw nameError('table', table)
  const [first, second] = parts as [string, string | undefined]
  return second === undefined ? { schema: undefined, name: first } : { schema: first, name: second }
}

/** Checks an unqualified name (a MongoDB collection or database); throws InvalidArgumentError otherwise. */
export function checkName(kind: 'collection' | 'database', name: unknown): string {
  if (typeof name !== 'string' || !isPart(name)) throw nameError(kind, name)
  return name
}

/**
 * Checks a SQLite table name: one identifier (SQLite has no schemas to qualify it with, and no
 * identifier length limit to respect).
 */
export function checkSqliteTable(table: unknown): string {
  if (typeof table !== 'string' || !IDENTIFIER.test(table)) {
    throw new InvalidArgumentError(
      'CACHEME_INVALID_ARGUMENT',
      `table must match [A-Za-z_][A-Za-z0-9_]*; got ${JSON.stringify(table)}`,
    )
  }
  return table
}

/** The options of a SQL server backend (PostgreSQL, MySQL): a table name and a pool size. */
export interface SqlServerOptions {
  /** `table`, or `schema.table` / `database.table` (default `cacheme_data`). */
  readonly table?: string | undefined
  /** Pool connections (default 10). */
  readonly poolSize?: number | undefined
}

/** The checks of SqlServerOptions; `backend` names the backend in errors. */
export function sqlServerOptions(backend: string): OptionChecks<SqlServerOptions> {
  return {
    table: (table = DEFAULT_TABLE) => {
      parseTableName(table)
      return table
    },
    poolSize: integerOption(`${backend} poolSize`, 1, 1000, 10),
  }
}
