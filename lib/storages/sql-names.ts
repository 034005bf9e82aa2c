// Names that end up inside SQL text or a MongoDB namespace: table, collection and database names.
// Keys and values are always bound parameters, but an identifier cannot be, so it is checked against
// a strict pattern before any statement is built and then quoted as well.
//
// (sqlite-db.ts has its own copy of the pattern, unqualified only: importing it from there would load
// better-sqlite3 for every other backend, since that module opens the driver at import time.)

import { InvalidArgumentError } from '../errors'

/** Table (SQL) or collection (MongoDB) used when the options name none. */
export const DEFAULT_TABLE = 'cacheme_data'

/** `key VARCHAR(512)` in every shipped schema; the same bound is enforced for Redis. */
export const MAX_KEY_LENGTH = 512

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
