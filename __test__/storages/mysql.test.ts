// `mysql://` (MariaDB in the test setup): the conformance suite, round trips per batch, the bounded
// set of prepared statements, the pool bound, and refusals at open.

import test from 'ava'
import { Connection } from 'mysql2'
import { createConnection } from 'mysql2/promise'
import { InvalidArgumentError, StorageError } from '../../lib/errors'
import { type MysqlStorage, openMysql } from '../../lib/storages/mysql'
import type { RemoteEntry } from '../../lib/storages/remote'
import { conformance, keyPrefix } from './conformance'
import { freshName, RUN, URLS, withServer } from './servers'

const url = URLS.mysql

/** Runs `work` counting the statements mysql2 connections execute, their distinct texts and connections. */
async function countExecutes(work: () => Promise<unknown>) {
  const execute = Connection.prototype.execute
  const texts = new Set<string>()
  const connections = new Set<Connection>()
  let statements = 0
  Connection.prototype.execute = function (this: Connection, ...args: unknown[]) {
    statements += 1
    texts.add(String(args[0]))
    connections.add(this)
    return (execute as (...args: unknown[]) => unknown).apply(this, args)
  } as typeof execute
  try {
    await work()
  } finally {
    Connection.prototype.execute = execute
  }
  return { statements, texts: texts.size, connections: connections.size }
}

withServer('mysql', url, () => {
  conformance({
    name: 'mysql',
    namespace: 'table',
    open: (table, options = {}) => openMysql(url, { table, poolSize: options.poolSize }),
  })

  const opened: MysqlStorage[] = []
  const open = async (table = freshName(), poolSize?: number) => {
    const storage = await openMysql(url, { table, poolSize })
    opened.push(storage)
    return storage
  }

  test.after.always(async () => {
    await Promise.allSettled(opened.map((storage) => storage.close()))
    const admin = await createConnection(url)
    try {
      const [rows] = await admin.query<import('mysql2').RowDataPacket[]>(
        'SELECT table_schema AS s, table_name AS t FROM information_schema.tables WHERE table_name LIKE ?',
        [`cm\\_${RUN}\\_%`],
      )
      for (const row of rows) await admin.query(`DROP TABLE IF EXISTS \`${row.s}\`.\`${row.t}\``)
    } finally {
      await admin.end()
    }
  })

  test.serial(
    'mysql: each batch is one statement: getMany, setMany (per 512 rows), removeMany',
    async (t) => {
      const storage = await open()
      const p = keyPrefix()
      const batch = Array.from({ length: 100 }, (_, i): RemoteEntry => [`${p}${i}`, Buffer.from(`v${i}`)])
      const keys = batch.map((entry) => entry[0])
      t.is((await countExecutes(() => storage.setMany(batch, 60_000))).statements, 1)
      t.is((await countExecutes(() => storage.getMany(keys))).statements, 1)
      t.is((await countExecutes(() => storage.get(keys[0] as string))).statements, 1)
      t.is((await countExecutes(() => storage.removeMany(keys))).statements, 1)
      const big = Array.from({ length: 1500 }, (_, i): RemoteEntry => [`${p}big:${i}`, Buffer.from(`v${i}`)])
      t.is((await countExecutes(() => storage.setMany(big, null))).statements, 3)
      const read = await countExecutes(async () => {
        t.is((await storage.getMany(big.map((entry) => entry[0]))).filter(Boolean).length, 1500)
      })
      t.is(read.statements, 2)
    },
  )

  test.serial('mysql: batch sizes 1…100 share eight statement texts (padded to powers of two)', async (t) => {
    const storage = await open()
    const p = keyPrefix()
    const keys = Array.from({ length: 100 }, (_, i) => `${p}${i}`)
    await storage.setMany(
      keys.slice(0, 50).map((key): RemoteEntry => [key, Buffer.from(key)]),
      null,
    )
    const reads = await countExecutes(async () => {
      for (let n = 1; n <= 100; n++) {
        const values = await storage.getMany(keys.slice(0, n))
        t.deepEqual(
          values,
          keys.slice(0, n).map((key, i) => (i < 50 ? Buffer.from(key) : undefined)),
        )
      }
    })
    t.is(reads.statements, 100)
    t.is(reads.texts, 8)
    const writes = await countExecutes(async () => {
      for (let n = 1; n <= 100; n++) {
        await storage.setMany(
          keys.slice(0, n).map((key): RemoteEntry => [key, Buffer.from(`${n}`)]),
          60_000,
        )
      }
    })
    t.is(writes.texts, 8)
    t.deepEqual(await storage.getMany(keys), new Array(100).fill(Buffer.from('100')))
  })

  test.serial('mysql: poolSize bounds the connections; callers beyond it wait and succeed', async (t) => {
    const storage = await open(freshName(), 2)
    const p = keyPrefix()
    const sent = await countExecutes(() =>
      Promise.all(Array.from({ length: 50 }, (_, i) => storage.set(`${p}${i}`, Buffer.from(`${i}`), null))),
    )
    t.is(sent.statements, 50)
    t.true(sent.connections <= 2, `${sent.connections} connections`)
  })

  test('mysql: a table qualified with the database name works', async (t) => {
    const database = new URL(url).pathname.slice(1)
    const storage = await open(`${database}.${freshName('qualified')}`)
    await storage.set('k', Buffer.from('v'), null)
    t.deepEqual(await storage.get('k'), Buffer.from('v'))
  })

  test('mysql: a URL without a database and an unqualified table is refused', async (t) => {
    const bare = new URL(url)
    bare.pathname = ''
    const error = await t.throwsAsync(openMysql(bare.toString()), { instanceOf: InvalidArgumentError })
    t.regex(error?.message ?? '', /database/)
  })

  test('mysql: an unreachable server fails open with a StorageError', async (t) => {
    await t.throwsAsync(openMysql('mysql://root@127.0.0.1:1/test'), { instanceOf: StorageError })
  })
})
