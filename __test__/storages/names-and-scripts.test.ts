// Table/collection name validation, and the shipped schema scripts (postgresql.sql, mysql.sql,
// mongo.js) staying identical to what the adapters create. No server needed.

import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { runInNewContext } from 'node:vm'
import test from 'ava'
import { InvalidArgumentError } from '../../lib/errors'
import { MONGO_INDEXES } from '../../lib/storages/mongodb'
import { mysqlSchema } from '../../lib/storages/mysql'
import { postgresSchema } from '../../lib/storages/postgresql'
import { checkName, parseTableName } from '../../lib/storages/sql-names'

// dist/__test__/storages → the repository root.
const root = join(__dirname, '..', '..', '..')

/** A script's statements without comments, as the adapters write them. */
function statements(file: string): string[] {
  return readFileSync(join(root, file), 'utf8')
    .split('\n')
    .filter((line) => !line.startsWith('--'))
    .join('\n')
    .split(';')
    .map((statement) => statement.trim())
    .filter((statement) => statement !== '')
}

test('table names: identifiers and schema.table are accepted and split', (t) => {
  t.deepEqual(parseTableName('cacheme_data'), { schema: undefined, name: 'cacheme_data' })
  t.deepEqual(parseTableName('_T1'), { schema: undefined, name: '_T1' })
  t.deepEqual(parseTableName('app.cache_2'), { schema: 'app', name: 'cache_2' })
  t.deepEqual(parseTableName('x'.repeat(56)), { schema: undefined, name: 'x'.repeat(56) })
})

test('table names: anything else is refused with InvalidArgumentError', (t) => {
  for (const bad of [
    '',
    '1a',
    'a-b',
    'a b',
    'a;b',
    '"a"',
    '`a`',
    'a.b.c',
    '.a',
    'a.',
    'é',
    'x'.repeat(57),
    42,
    null,
  ]) {
    const error = t.throws(() => parseTableName(bad), { instanceOf: InvalidArgumentError }, String(bad))
    t.is(error?.code, 'CACHEME_INVALID_ARGUMENT')
  }
})

test('collection and database names: one identifier, no dots', (t) => {
  t.is(checkName('collection', 'cacheme_data'), 'cacheme_data')
  for (const bad of ['a.b', 'a$b', 'a/b', '', 'a b', undefined]) {
    t.throws(() => checkName('database', bad), { instanceOf: InvalidArgumentError }, String(bad))
  }
})

test('postgresql.sql holds exactly the statements the adapter runs', (t) => {
  t.deepEqual(statements('postgresql.sql'), postgresSchema())
})

test('mysql.sql holds exactly the statement the adapter runs', (t) => {
  t.deepEqual(statements('mysql.sql'), mysqlSchema())
})

test('mongo.js creates exactly the indexes the adapter creates', (t) => {
  const commands: unknown[] = []
  runInNewContext(readFileSync(join(root, 'mongo.js'), 'utf8'), {
    db: { runCommand: (command: unknown) => commands.push(command) },
  })
  t.deepEqual(JSON.parse(JSON.stringify(commands)), [
    { createIndexes: 'cacheme_data', indexes: JSON.parse(JSON.stringify(MONGO_INDEXES)) },
  ])
})

test('schemas quote qualified names part by part', (t) => {
  t.regex(postgresSchema('app.cache')[0] as string, /^CREATE TABLE IF NOT EXISTS "app"\."cache" \(/)
  t.is(postgresSchema('app.cache')[1], 'CREATE INDEX IF NOT EXISTS "cache_expire" ON "app"."cache" (expire)')
  t.regex(mysqlSchema('app.cache')[0] as string, /^CREATE TABLE IF NOT EXISTS `app`\.`cache` \(/)
})
