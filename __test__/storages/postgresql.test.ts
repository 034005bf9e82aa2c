// `postgresql://`: the conformance suite, round trips per batch, the pool bound, schema-qualified
// tables, concurrent creation of one table, and refusals at open.

import test from 'ava'
import { Client } from 'pg'
import { StorageError } from '../../lib/errors'
import { openPostgres, type PostgresStorage } from '../../lib/storages/postgresql'
import type { RemoteEntry } from '../../lib/storages/remote'
import { conformance, keyPrefix } from './conformance'
import { freshName, RUN, URLS, withServer } from './servers'

const url = URLS.postgresql

/**
 * Runs `work` counting the statements pg clients send, how many distinct clients sent them, and the
 * statement names they carried (undefined for an unnamed statement).
 */
async function countQueries(
  work: () => Promise<unknown>,
): Promise<{ queries: number; clients: number; names: (string | undefined)[] }> {
  const query = Client.prototype.query
  const clients = new Set<Client>()
  const names: (string | undefined)[] = []
  let queries = 0
  Client.prototype.query = function (this: Client, ...args: unknown[]) {
    queries += 1
    clients.add(this)
    const config = args[0]
    names.push(typeof config === 'object' && config !== null ? (config as { name?: string }).name : undefined)
    return (query as (...args: unknown[]) => unknown).apply(this, args)
  } as typeof query
  try {
    await work()
  } finally {
    Client.prototype.query = query
  }
  return { queries, clients: clients.size, names }
}

withServer('postgresql', url, () => {
  conformance({
    name: 'postgresql',
    namespace: 'table',
    open: (table, options = {}) => openPostgres(url, { table, poolSize: options.poolSize }),
  })

  const schema = `cm_${RUN}_schema`
  const opened: PostgresStorage[] = []
  const open = async (table = freshName(), poolSize?: number) => {
    const storage = await openPostgres(url, { table, poolSize })
    opened.push(storage)
    return storage
  }

  test.after.always(async () => {
    await Promise.allSettled(opened.map((storage) => storage.close()))
    const admin = new Client({ connectionString: url })
    await admin.connect()
    try {
      const { rows } = await admin.query<{ name: string }>(
        "SELECT format('%I.%I', schemaname, tablename) AS name FROM pg_tables WHERE tablename LIKE $1",
        [`cm\\_${RUN}\\_%`],
      )
      for (const row of rows) await admin.query(`DROP TABLE IF EXISTS ${row.name}`)
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
    } finally {
      await admin.end()
    }
  })

  test.serial(
    'postgresql: each batch is one statement: getMany, setMany (per 1000 rows), removeMany',
    async (t) => {
      const storage = await open()
      const p = keyPrefix()
      const batch = Array.from({ length: 100 }, (_, i): RemoteEntry => [`${p}${i}`, Buffer.from(`v${i}`)])
      const keys = batch.map((entry) => entry[0])
      t.is((await countQueries(() => storage.setMany(batch, 60_000))).queries, 1)
      t.is((await countQueries(() => storage.getMany(keys))).queries, 1)
      t.is((await countQueries(() => storage.get(keys[0] as string))).queries, 1)
      t.is((await countQueries(() => storage.removeMany(keys))).queries, 1)
      const big = Array.from({ length: 2500 }, (_, i): RemoteEntry => [`${p}big:${i}`, Buffer.from(`v${i}`)])
      t.is((await countQueries(() => storage.setMany(big, null))).queries, 3)
      const read = await countQueries(async () => {
        const values = await storage.getMany(big.map((entry) => entry[0]))
        t.is(values.filter(Boolean).length, 2500)
      })
      t.is(read.queries, 1)
    },
  )

  test.serial(
    'postgresql: single-key statements and getMany are prepared (named) unless preparedStatements is false',
    async (t) => {
      const table = freshName()
      const prepared = await open(table)
      const plain = await openPostgres(url, { table, preparedStatements: false })
      opened.push(plain)
      const key = `${keyPrefix()}k`
      const named = await countQueries(async () => {
        await prepared.set(key, Buffer.from('a'), 60_000)
        t.deepEqual(await prepared.get(key), Buffer.from('a'))
        await prepared.getMany([key])
        await prepared.remove(key)
      })
      t.is(named.names.length, 4)
      t.true(named.names.every((name) => typeof name === 'string' && name.startsWith('cacheme_')))
      t.is(new Set(named.names).size, 4, 'one name per statement text')
      const unnamed = await countQueries(async () => {
        await plain.set(key, Buffer.from('b'), 60_000)
        t.deepEqual(await plain.get(key), Buffer.from('b'))
        t.deepEqual(await prepared.get(key), Buffer.from('b'), 'both storages see one table')
      })
      t.deepEqual(unnamed.names.slice(0, 2), [undefined, undefined])
      await t.throwsAsync(openPostgres(url, { table, preparedStatements: 'yes' as unknown as boolean }), {
        code: 'CACHEME_INVALID_ARGUMENT',
        message: /preparedStatements must be a boolean/,
      })
    },
  )

  test.serial('postgresql: two tables on one server keep their own prepared statements', async (t) => {
    const a = await open()
    const b = await open()
    const key = `${keyPrefix()}same`
    // Many gets per pool so every connection prepares both tables' statements.
    await a.set(key, Buffer.from('a'), 60_000)
    await b.set(key, Buffer.from('b'), 60_000)
    const reads = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? a : b).get(key)))
    t.deepEqual(
      reads,
      reads.map((_, i) => Buffer.from(i % 2 === 0 ? 'a' : 'b')),
    )
  })

  test.serial(
    'postgresql: poolSize bounds the connections; callers beyond it wait and succeed',
    async (t) => {
      const storage = await open(freshName(), 2)
      const p = keyPrefix()
      const sent = await countQueries(() =>
        Promise.all(Array.from({ length: 50 }, (_, i) => storage.set(`${p}${i}`, Buffer.from(`${i}`), null))),
      )
      t.is(sent.queries, 50)
      t.true(sent.clients <= 2, `${sent.clients} connections`)
    },
  )

  test('postgresql: a schema-qualified table is created in that schema', async (t) => {
    const admin = new Client({ connectionString: url })
    await admin.connect()
    try {
      await admin.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`)
      const name = freshName('qualified')
      const storage = await open(`${schema}.${name}`)
      await storage.set('k', Buffer.from('v'), null)
      const { rows } = await admin.query(`SELECT key FROM ${schema}.${name}`)
      t.deepEqual(rows, [{ key: 'k' }])
    } finally {
      await admin.end()
    }
  })

  test('postgresql: five storages creating one new table at once all open', async (t) => {
    const table = freshName('race')
    const storages = await Promise.all(Array.from({ length: 5 }, () => open(table)))
    await storages[0]?.set('k', Buffer.from('v'), null)
    t.deepEqual(await storages[4]?.get('k'), Buffer.from('v'))
  })

  test('postgresql: an unreachable server fails open with a StorageError', async (t) => {
    const error = await t.throwsAsync(openPostgres('postgresql://postgres@127.0.0.1:1/test'), {
      instanceOf: StorageError,
    })
    t.regex(error?.message ?? '', /127\.0\.0\.1:1/)
  })

  test('postgresql: a table in a schema that does not exist fails open with a StorageError', async (t) => {
    await t.throwsAsync(openPostgres(url, { table: `cm_${RUN}_nope.t` }), { instanceOf: StorageError })
  })
})
