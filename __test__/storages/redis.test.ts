// `redis://` against a standalone server: the conformance suite, native expiry, round trips per
// batch, the pool, and refusals at open.

import test from 'ava'
import { Redis } from 'ioredis'
import { StorageError } from '../../lib/errors'
import { withTimeout } from '../../lib/storages/deadline'
import { openRedis, type RedisStorage } from '../../lib/storages/redis'
import type { RemoteEntry } from '../../lib/storages/remote'
import { conformance, keyPrefix } from './conformance'
import { countSent, deleteRunKeys } from './redis-helpers'
import { URLS, withServer } from './servers'

const url = URLS.redis

withServer('redis', url, () => {
  conformance({ name: 'redis', nativeExpiry: true, open: (_table, options = {}) => openRedis(url, options) })

  const raw = new Redis(url, { lazyConnect: true })
  const opened: RedisStorage[] = []
  const open = async (options: { poolSize?: number } = {}) => {
    const storage = await openRedis(url, options)
    opened.push(storage)
    return storage
  }

  test.after.always(async () => {
    await Promise.allSettled(opened.map((storage) => storage.close()))
    await deleteRunKeys(raw)
    raw.disconnect()
  })

  const entries = (p: string, n: number) =>
    Array.from({ length: n }, (_, i): RemoteEntry => [`${p}${i}`, Buffer.from(`v${i}`)])

  test.serial(
    'redis: getMany of 100 keys is one MGET; setMany one write of SET … PX commands (one MSET without TTL); removeMany one DEL',
    async (t) => {
      const storage = await open()
      const p = keyPrefix()
      const batch = entries(p, 100)
      const keys = batch.map((entry) => entry[0])
      const names = ['get', 'mget', 'set', 'mset', 'del']

      const withTtl = await countSent(names, () => storage.setMany(batch, 60_000))
      t.is(withTtl.writes, 1)
      t.deepEqual(withTtl.commands, new Array(100).fill('set'))

      const withoutTtl = await countSent(names, () => storage.setMany(batch, null))
      t.is(withoutTtl.writes, 1)
      t.deepEqual(withoutTtl.commands, ['mset'])

      const read = await countSent(names, async () =>
        t.is((await storage.getMany(keys)).filter(Boolean).length, 100),
      )
      t.deepEqual(read.commands, ['mget'])
      t.is(read.writes, 1)

      const removed = await countSent(names, () => storage.removeMany(keys))
      t.deepEqual(removed.commands, ['del'])
    },
  )

  test.serial(
    'redis: a burst issued in one synchronous stretch longer than the timeout is answered, not timed out',
    async (t) => {
      const storage = await open()
      const bounded = withTimeout(storage, 'redis storage', 'burst', 500)
      const p = keyPrefix()
      await storage.set(`${p}hot`, Buffer.from('v'), null)
      const keys = Array.from({ length: 2_000 }, (_, i) => (i % 2 === 0 ? `${p}hot` : `${p}absent${i}`))
      const calls = keys.map((key) => bounded.get(key))
      // The process is busy well past the timeout before node-redis can write the first command.
      const until = performance.now() + 1_200
      while (performance.now() < until) {}
      const answers = await Promise.all(calls)
      t.is(answers.filter((value) => value?.toString() === 'v').length, 1_000)
      t.is(answers.filter((value) => value === undefined).length, 1_000)
      t.is(await bounded.get(`${p}absent`), undefined, 'and the storage is not refused afterwards')
    },
  )

  test.serial('redis: poolSize 3 spreads calls round-robin over three connections', async (t) => {
    const storage = await open({ poolSize: 3 })
    const key = `${keyPrefix()}pooled`
    const sent = await countSent(['get'], () =>
      Promise.all(Array.from({ length: 6 }, () => storage.get(key))),
    )
    t.is(sent.commands.length, 6)
    t.is(sent.connections, 3)
  })

  test('redis: TTLs are native: SET … PX leaves the expiry to the server', async (t) => {
    const storage = await open()
    const p = keyPrefix()
    await storage.set(`${p}one`, Buffer.from('x'), 5000)
    await storage.setMany([[`${p}many`, Buffer.from('y')]], 5000)
    await storage.set(`${p}forever`, Buffer.from('z'), null)
    for (const key of [`${p}one`, `${p}many`]) {
      const ttl = await raw.pttl(key)
      t.true(ttl > 0 && ttl <= 5000, `${key}: PTTL ${ttl}`)
    }
    t.is(await raw.pttl(`${p}forever`), -1)
  })

  test('redis: cluster: true against a standalone server is refused at open', async (t) => {
    const error = await t.throwsAsync(openRedis(url, { cluster: true }), { instanceOf: StorageError })
    t.regex(error?.message ?? '', /cluster/i)
  })

  test('redis: an unreachable server fails open with a StorageError naming the URL', async (t) => {
    const error = await t.throwsAsync(openRedis('redis://127.0.0.1:1'), { instanceOf: StorageError })
    t.regex(error?.message ?? '', /127\.0\.0\.1:1/)
  })

  test('redis: a bad poolSize is refused', async (t) => {
    for (const poolSize of [0, -1, 1.5, 65]) {
      const error = await t.throwsAsync(openRedis(url, { poolSize }))
      t.is((error as StorageError | undefined)?.code, 'CACHEME_INVALID_ARGUMENT')
    }
  })
})
