// `redis://` with `cluster: true` against the 6-node test cluster (3 masters): the conformance
// suite, batches split by hash slot, one pipeline per node, and seed lists.

import test from 'ava'
import { Cluster } from 'ioredis'
import { StorageError } from '../../lib/errors'
import { openRedis, type RedisStorage } from '../../lib/storages/redis'
import type { RemoteEntry } from '../../lib/storages/remote'
import { conformance, keyPrefix, keySlot } from './conformance'
import { countSent, deleteRunKeys } from './redis-helpers'
import { URLS, withServer } from './servers'

const url = URLS.redisCluster
const seed = new URL(url)

withServer('redis cluster', url, () => {
  conformance({
    name: 'redis cluster',
    nativeExpiry: true,
    open: (_table, options = {}) => openRedis(url, { ...options, cluster: true }),
  })

  const raw = new Cluster([{ host: seed.hostname, port: Number(seed.port || 6379) }], { lazyConnect: true })
  const opened: RedisStorage[] = []
  const open = async () => {
    const storage = await openRedis(url, { cluster: true })
    opened.push(storage)
    return storage
  }

  test.before(async () => {
    await raw.connect()
  })

  test.after.always(async () => {
    await Promise.allSettled(opened.map((storage) => storage.close()))
    await deleteRunKeys(raw).catch(() => {})
    raw.disconnect()
  })

  /** The master serving each key's slot. */
  const owners = (keys: readonly string[]) => keys.map((key) => raw.slots[keySlot(key)]?.[0])

  test.serial('redis cluster: a batch costs one MGET/MSET/DEL per slot, in one write per node', async (t) => {
    const storage = await open()
    const p = keyPrefix()
    const batch = Array.from({ length: 100 }, (_, i): RemoteEntry => [`${p}${i}`, Buffer.from(`v${i}`)])
    const keys = batch.map((entry) => entry[0])
    const slots = new Set(keys.map(keySlot)).size
    const nodes = new Set(owners(keys)).size
    t.is(nodes, 3, 'the keys reach every master')
    const names = ['get', 'mget', 'set', 'mset', 'del']

    const read = await countSent(names, () => storage.getMany(keys))
    t.deepEqual(read.commands, new Array(slots).fill('mget'))
    t.is(read.writes, nodes)

    const withoutTtl = await countSent(names, () => storage.setMany(batch, null))
    t.deepEqual(withoutTtl.commands, new Array(slots).fill('mset'))
    t.is(withoutTtl.writes, nodes)

    const withTtl = await countSent(names, () => storage.setMany(batch, 60_000))
    t.deepEqual(withTtl.commands, new Array(100).fill('set'))
    t.is(withTtl.writes, nodes)

    const removed = await countSent(names, () => storage.removeMany(keys))
    t.deepEqual(removed.commands, new Array(slots).fill('del'))
    t.is(removed.writes, nodes)
  })

  test('redis cluster: a getMany over keys in several slots (hash tags) on different masters is correct', async (t) => {
    const storage = await open()
    const p = keyPrefix()
    // Several keys per slot via hash tags, so each per-slot MGET carries more than one key.
    const keys = ['a', 'b', 'c', 'd', 'e', 'f'].flatMap((tag) => [1, 2, 3].map((i) => `${p}{${tag}}:${i}`))
    t.true(new Set(keys.map(keySlot)).size >= 3, 'at least three slots')
    t.true(new Set(owners(keys)).size >= 2, 'at least two masters')
    const stored = keys.filter((_, i) => i % 3 !== 1)
    await storage.setMany(
      stored.map((key): RemoteEntry => [key, Buffer.from(key)]),
      60_000,
    )
    const values = await storage.getMany([...keys].reverse())
    t.deepEqual(
      values,
      [...keys].reverse().map((key) => (stored.includes(key) ? Buffer.from(key) : undefined)),
    )
    await storage.removeMany(stored)
    t.true((await storage.getMany(keys)).every((value) => value === undefined))
  })

  test('redis cluster: a seed list skips a dead seed', async (t) => {
    const storage = await openRedis(`redis://127.0.0.1:1,${seed.host}`, { cluster: true })
    opened.push(storage)
    const key = `${keyPrefix()}seeded`
    await storage.set(key, Buffer.from('ok'), 60_000)
    t.deepEqual(await storage.get(key), Buffer.from('ok'))
  })

  test('redis cluster: a cluster node opened without cluster: true is refused at open', async (t) => {
    const error = await t.throwsAsync(openRedis(url), { instanceOf: StorageError })
    t.regex(error?.message ?? '', /cluster: true/)
  })

  test('redis cluster: a /db path is refused (a cluster has database 0 only)', async (t) => {
    const error = await t.throwsAsync(openRedis(`${url}/3`, { cluster: true }))
    t.is((error as StorageError | undefined)?.code, 'CACHEME_INVALID_ARGUMENT')
  })
})
