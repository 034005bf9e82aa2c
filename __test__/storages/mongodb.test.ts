// `mongodb://` (FerretDB in the test setup): the conformance suite, round trips per batch seen through
// the driver's command monitoring, the pool bound, database selection, and refusals at open.

import test from 'ava'
import { type CommandStartedEvent, MongoClient } from 'mongodb'
import { InvalidArgumentError, StorageError } from '../../lib/errors'
import { type MongoStorage, openMongo } from '../../lib/storages/mongodb'
import type { RemoteEntry } from '../../lib/storages/remote'
import { conformance, keyPrefix } from './conformance'
import { freshName, RUN, URLS, withServer } from './servers'

const url = URLS.mongodb
const database = `cm_${RUN}_db`

/** The URL with driver options added to its query. */
function withQuery(query: string): string {
  return `${url}${url.includes('?') ? '&' : '?'}${query}`
}

/**
 * Runs `work` collecting the commands the driver sends (command monitoring, enabled per storage by
 * `monitorCommands=true` in its URL; every MongoClient's events pass through this emit).
 */
async function countCommands(work: () => Promise<unknown>) {
  const emit = MongoClient.prototype.emit
  const commands: string[] = []
  const connections = new Set<string>()
  MongoClient.prototype.emit = function (this: MongoClient, ...args: unknown[]) {
    if (args[0] === 'commandStarted') {
      const event = args[1] as CommandStartedEvent
      commands.push(event.commandName)
      connections.add(`${event.address}#${event.connectionId}`)
    }
    return (emit as (...args: unknown[]) => boolean).apply(this, args)
  } as typeof emit
  try {
    await work()
  } finally {
    MongoClient.prototype.emit = emit
  }
  return { commands, connections: connections.size }
}

/** Whether the server is FerretDB 1.x (buildInfo names its version). */
async function isFerretdbV1(): Promise<boolean> {
  const client = new MongoClient(url)
  try {
    await client.connect()
    const build = await client.db('admin').command({ buildInfo: 1 })
    return /^v?1\./.test(String(build.ferretdbVersion ?? ''))
  } finally {
    await client.close()
  }
}

withServer('mongodb', url, () => {
  conformance({
    name: 'mongodb',
    namespace: 'collection',
    open: (collection, options = {}) => openMongo(url, { database, collection, poolSize: options.poolSize }),
  })

  const opened: MongoStorage[] = []
  const open = async (options: { collection?: string; poolSize?: number; database?: string } = {}) => {
    const storage = await openMongo(withQuery('monitorCommands=true'), {
      database,
      collection: freshName(),
      ...options,
    })
    opened.push(storage)
    return storage
  }

  test.after.always(async () => {
    await Promise.allSettled(opened.map((storage) => storage.close()))
    const admin = new MongoClient(url)
    try {
      await admin.connect()
      await admin.db(database).dropDatabase()
      await admin.db(`${database}2`).dropDatabase()
    } finally {
      await admin.close()
    }
  })

  test.serial(
    'mongodb: a batch is one find ($in), one delete ($in), one update per write chunk (1000; 40 on FerretDB 1.x)',
    async (t) => {
      const storage = await open()
      // FerretDB 1.x takes upserts in chunks of 40 (see lib/storages/mongodb.ts); MongoDB in 1000s.
      const writeChunk = (await isFerretdbV1()) ? 40 : 1000
      const updates = (n: number) => new Array<string>(Math.ceil(n / writeChunk)).fill('update')
      const p = keyPrefix()
      const batch = Array.from({ length: 100 }, (_, i): RemoteEntry => [`${p}${i}`, Buffer.from(`v${i}`)])
      const keys = batch.map((entry) => entry[0])
      t.deepEqual((await countCommands(() => storage.setMany(batch, 60_000))).commands, updates(100))
      t.deepEqual((await countCommands(() => storage.getMany(keys))).commands, ['find'])
      t.deepEqual((await countCommands(() => storage.get(keys[0] as string))).commands, ['find'])
      t.deepEqual((await countCommands(() => storage.removeMany(keys))).commands, ['delete'])
      // Reads go in chunks of 1000 keys: 1500 keys (mostly misses) are two finds, neither followed by getMore.
      const asked = [...keys, ...Array.from({ length: 1400 }, (_, i) => `${p}missing:${i}`)]
      await storage.setMany(batch, null)
      const read = await countCommands(async () => {
        t.is((await storage.getMany(asked)).filter(Boolean).length, 100)
      })
      t.deepEqual(read.commands, ['find', 'find'])
    },
  )

  test.serial('mongodb: poolSize bounds the connections; callers beyond it wait and succeed', async (t) => {
    const storage = await open({ poolSize: 2 })
    const p = keyPrefix()
    const sent = await countCommands(() =>
      Promise.all(Array.from({ length: 50 }, (_, i) => storage.set(`${p}${i}`, Buffer.from(`${i}`), null))),
    )
    t.is(sent.commands.length, 50)
    t.true(sent.connections <= 2, `${sent.connections} connections`)
  })

  test('mongodb: the database option picks the database; the indexes are created there', async (t) => {
    const collection = freshName('db')
    const storage = await open({ database: `${database}2`, collection })
    await storage.set('k', Buffer.from('v'), null)
    const admin = new MongoClient(url)
    try {
      await admin.connect()
      const indexes = await admin.db(`${database}2`).collection(collection).indexes()
      const byName = new Map(indexes.map((index) => [index.name, index]))
      t.deepEqual(byName.get('key_1')?.key, { key: 1 })
      t.true(byName.get('key_1')?.unique)
      t.deepEqual(byName.get('expire_1')?.key, { expire: 1 })
      t.is(await admin.db(`${database}2`).collection(collection).countDocuments({ key: 'k' }), 1)
    } finally {
      await admin.close()
    }
  })

  test('mongodb: an invalid database name is refused', async (t) => {
    const error = await t.throwsAsync(openMongo(url, { database: 'bad/name' }), {
      instanceOf: InvalidArgumentError,
    })
    t.is(error?.code, 'CACHEME_INVALID_ARGUMENT')
  })

  test('mongodb: an unreachable server fails open with a StorageError', async (t) => {
    await t.throwsAsync(openMongo('mongodb://127.0.0.1:1/test?serverSelectionTimeoutMS=300'), {
      instanceOf: StorageError,
    })
  })
})
