// The framework over every server storage, end to end through registerStorage: local tlfu in
// front of the server, fill-back, invalidate and refresh, each against the real server.

import test from 'ava'
import { Cache, close, get, invalidate, Node, refresh, registerStorage, Storage, stats } from '../../lib'
import { freshName, RUN, URLS, withServer } from './servers'

const backends = [
  { name: 'redis', url: URLS.redis, options: {} },
  { name: 'redis-cluster', url: URLS.redisCluster, options: { cluster: true } },
  { name: 'postgresql', url: URLS.postgresql, options: { table: freshName('fw') } },
  { name: 'mysql', url: URLS.mysql, options: { table: freshName('fw') } },
  { name: 'mongodb', url: URLS.mongodb, options: { collection: freshName('fw') } },
] as const

test.after.always(async () => {
  await close()
})

for (const backend of backends) {
  withServer(backend.name, backend.url, () => {
    const remote = `${backend.name}-${RUN}`
    const local = `local-${backend.name}-${RUN}`
    let loads = 0

    class TwoTier extends Node<{ id: number; at: string }> {
      static meta = {
        version: 'v1',
        caches: [new Cache({ storage: local, ttl: 60_000 }), new Cache({ storage: remote, ttl: 60_000 })],
      }
      constructor(readonly id: number) {
        super()
      }
      key() {
        return `${backend.name}:${RUN}:item:${this.id}`
      }
      async load() {
        loads++
        return { id: this.id, at: `load ${loads}` }
      }
    }

    // Reads only the server tier, under the same stored key: sees what TwoTier wrote there.
    class ServerOnly extends Node<{ id: number; at: string }> {
      static meta = { version: 'v1', caches: [new Cache({ storage: remote, ttl: 60_000 })] }
      constructor(readonly id: number) {
        super()
      }
      key() {
        return `${backend.name}:${RUN}:item:${this.id}`
      }
      async load(): Promise<{ id: number; at: string }> {
        throw new Error('ServerOnly must be answered by the server tier')
      }
    }

    test.serial(`${backend.name}: registerStorage opens the server storage`, async (t) => {
      await registerStorage(local, new Storage({ url: 'local://tlfu', size: 100 }))
      const storage = new Storage({ url: backend.url, ...backend.options })
      await registerStorage(remote, storage)
      t.not(storage.adapter, undefined)
      t.false(storage.closed)
    })

    test.serial(`${backend.name}: a miss loads once and writes the server tier`, async (t) => {
      const values = await Promise.all(Array.from({ length: 50 }, () => get(new TwoTier(1))))
      t.is(loads, 1)
      t.true(values.every((v) => v.id === 1 && v.at === 'load 1'))
      t.deepEqual(await get(new ServerOnly(1)), { id: 1, at: 'load 1' })
      t.is(stats(TwoTier).loadCount, 1)
    })

    test.serial(`${backend.name}: invalidate removes the entry from every tier`, async (t) => {
      await invalidate(new TwoTier(1))
      await t.throwsAsync(get(new ServerOnly(1)), { message: /answered by the server tier/ })
      t.is((await get(new TwoTier(1))).at, 'load 2')
    })

    test.serial(`${backend.name}: refresh loads now and overwrites the server tier`, async (t) => {
      const value = await refresh(new TwoTier(1))
      t.is(value.at, 'load 3')
      t.is((await get(new ServerOnly(1))).at, 'load 3')
      t.is((await get(new TwoTier(1))).at, 'load 3')
    })
  })
}
