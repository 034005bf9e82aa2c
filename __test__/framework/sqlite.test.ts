// The SQLite adapter on its own: the RemoteStorage contract, batches, expiry, cleanup, options.

import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import test from 'ava'
import Database from 'better-sqlite3'
import { InvalidArgumentError, Storage, StorageError } from '../../lib'
import { SqliteStorage } from '../../lib/storages/sqlite'
import { schema } from '../../lib/storages/sqlite-db'
import { sleep, tempDir } from './helpers'

const dir = tempDir()
test.after.always(() => dir.remove())

const bytes = (text: string) => Buffer.from(text)

// Every connection layout answers the same contract.
for (const [label, file, poolSize] of [
  ['worker thread', 'worker.db', 1],
  ['two worker threads', 'pool.db', 2],
  ['main thread (poolSize 0)', 'inline.db', 0],
  ['in memory', ':memory:', 1],
] as const) {
  test(`${label}: get/set/getMany/setMany/remove/removeMany`, async (t) => {
    const path = file === ':memory:' ? file : dir.file(file)
    const storage = await SqliteStorage.open(path, { poolSize })
    try {
      t.is(storage.maxKeyLength, 512)
      t.is(await storage.get('a'), undefined)
      await storage.set('a', bytes('one'), null)
      t.is((await storage.get('a'))?.toString(), 'one')
      await storage.set('a', bytes('uno'), 60_000)
      t.is((await storage.get('a'))?.toString(), 'uno', 'set replaces')
      await storage.setMany(
        [
          ['b', bytes('two')],
          ['c', bytes('three')],
          ['b', bytes('dos')],
        ],
        null,
      )
      const values = await storage.getMany(['c', 'missing', 'a', 'b'])
      t.deepEqual(
        values.map((v) => v?.toString()),
        ['three', undefined, 'uno', 'dos'],
      )
      await storage.remove('a')
      await storage.removeMany?.(['b', 'nothing'])
      t.deepEqual(
        (await storage.getMany(['a', 'b', 'c'])).map((v) => v?.toString()),
        [undefined, undefined, 'three'],
      )
      t.deepEqual(await storage.getMany([]), [])
      await storage.setMany([], null)
    } finally {
      await storage.close()
    }
  })
}

test('batches larger than one statement (over 500 keys, 200 rows) round-trip in order', async (t) => {
  const storage = await SqliteStorage.open(dir.file('large.db'))
  try {
    const keys = Array.from({ length: 1234 }, (_, i) => `key:${i}`)
    await storage.setMany(
      keys.map((key) => [key, bytes(key.repeat(3))] as const),
      null,
    )
    const values = await storage.getMany([...keys].reverse())
    t.deepEqual(
      values.map((v) => v?.toString()),
      [...keys].reverse().map((key) => key.repeat(3)),
    )
    const many = await Promise.all(keys.slice(0, 300).map((key) => storage.get(key)))
    t.is(many[299]?.toString(), 'key:299'.repeat(3), 'concurrent single reads share batches correctly')
  } finally {
    await storage.close()
  }
})

test('expired rows are misses on every read path and cleanupExpired deletes them in bounded batches', async (t) => {
  const storage = await SqliteStorage.open(dir.file('expiry.db'))
  try {
    await storage.setMany(
      Array.from({ length: 5 }, (_, i) => [`e${i}`, bytes('x')] as const),
      // Long enough that the read below comes before expiry even on a busy machine.
      500,
    )
    await storage.set('forever', bytes('y'), null)
    t.is((await storage.get('e1'))?.toString(), 'x')
    await sleep(600)
    t.is(await storage.get('e1'), undefined)
    t.deepEqual(await storage.getMany(['e0', 'forever']), [undefined, bytes('y')])
    t.is(await storage.cleanupExpired(3), 3)
    t.is(await storage.cleanupExpired(3), 2)
    t.is(await storage.cleanupExpired(3), 0)
  } finally {
    await storage.close()
  }
  const db = new Database(dir.file('expiry.db'), { readonly: true })
  t.is((db.prepare('SELECT count(*) AS n FROM cacheme_data').get() as { n: number }).n, 1)
  db.close()
})

test('the table is created with the schema of sqlite.sql, in WAL mode, under the table option', async (t) => {
  const storage = await SqliteStorage.open(dir.file('schema.db'), { table: 'my_cache' })
  await storage.close()
  const db = new Database(dir.file('schema.db'), { readonly: true })
  t.is(db.pragma('journal_mode', { simple: true }), 'wal')
  const columns = (db.prepare('PRAGMA table_info(my_cache)').all() as { name: string }[]).map((c) => c.name)
  t.deepEqual(columns, ['id', 'key', 'value', 'expire', 'updated_at'])
  const indexes = (db.prepare('PRAGMA index_list(my_cache)').all() as { name: string }[]).map((i) => i.name)
  t.true(indexes.includes('my_cache_expire'))
  db.close()
  // The shipped script and the statements the adapter runs are the same.
  const script = readFileSync(join(__dirname, '..', '..', '..', 'sqlite.sql'), 'utf8')
  const statements = script
    .split('\n')
    .filter((line) => !line.startsWith('--'))
    .join('\n')
    .split(';')
    .map((statement) => statement.trim())
    .filter((statement) => statement.length > 0)
  t.deepEqual(statements, schema('cacheme_data'))
})

test('bad table names, pool sizes and paths are refused with typed errors', async (t) => {
  for (const table of ['bad-name', '1abc', 'x; DROP TABLE y', '']) {
    const error = await t.throwsAsync(SqliteStorage.open(dir.file('bad.db'), { table }), {
      instanceOf: InvalidArgumentError,
    })
    t.is(error?.code, 'CACHEME_INVALID_ARGUMENT')
  }
  await t.throwsAsync(SqliteStorage.open(dir.file('bad.db'), { poolSize: -1 }), {
    instanceOf: InvalidArgumentError,
  })
  await t.throwsAsync(SqliteStorage.open(':memory:', { poolSize: 2 }), { instanceOf: InvalidArgumentError })
  const error = await t.throwsAsync(SqliteStorage.open(join(dir.path, 'no', 'such', 'dir.db')), {
    instanceOf: StorageError,
  })
  t.is(error?.code, 'CACHEME_STORAGE')
})

test('a closed adapter rejects calls with CACHEME_CLOSED', async (t) => {
  for (const poolSize of [0, 1]) {
    const storage = await SqliteStorage.open(dir.file(`closed${poolSize}.db`), { poolSize })
    await storage.close()
    const error = await t.throwsAsync(storage.get('a'), { instanceOf: StorageError })
    t.is(error?.code, 'CACHEME_CLOSED')
    await t.throwsAsync(storage.set('a', bytes('x'), null), { instanceOf: StorageError })
  }
})

test('Storage exposes the adapter after registration, and options reach it', async (t) => {
  const storage = new Storage({ url: `sqlite://${dir.file('opts.db')}`, table: 'opts', poolSize: 0 })
  t.is(storage.adapter, undefined)
  await storage.open()
  t.true(storage.adapter instanceof SqliteStorage)
  await storage.close()
  const db = new Database(dir.file('opts.db'), { readonly: true })
  t.truthy(db.prepare("SELECT name FROM sqlite_master WHERE name = 'opts'").get())
  db.close()
})
