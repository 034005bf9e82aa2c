// set and setAll over every server storage, behind a local tier: the values are written to the
// server and read back with no load once the local tier has forgotten them; a ttl function of the
// value chooses per tier, and 0 leaves the value out of that tier. A missing server fails the run in
// CI (servers.ts).

import test from 'ava'
import { Cache, close, get, getAll, Node, registerStorage, Storage, set, setAll } from '../../lib'
import { freshName, RUN, URLS, withServer } from '../storages/servers'

const backends = [
  { name: 'redis', url: URLS.redis, options: {} },
  { name: 'redis-cluster', url: URLS.redisCluster, options: { cluster: true } },
  { name: 'postgresql', url: URLS.postgresql, options: { table: freshName('set') } },
  { name: 'mysql', url: URLS.mysql, options: { table: freshName('set') } },
  { name: 'mongodb', url: URLS.mongodb, options: { collection: freshName('set') } },
] as const

type Found = { id: number } | null

test.after.always(async () => {
  await close()
})

for (const backend of backends) {
  withServer(backend.name, backend.url, () => {
    const remoteName = `${backend.name}-set-${RUN}`
    const localName = `local-${backend.name}-set-${RUN}`
    const local = new Storage({ url: 'local://tlfu', size: 1_000 })
    const remote = new Storage({ url: backend.url, ...backend.options })
    let loads = 0

    class Lookup extends Node<Found> {
      static meta = {
        version: 'v1',
        caches: [
          new Cache({ storage: localName, ttl: 60_000 }),
          // "Not found" is cached in this process only.
          new Cache({ storage: remoteName, ttl: (value: Found) => (value === null ? 0 : 60_000) }),
        ],
      }
      constructor(readonly id: number) {
        super()
      }
      key() {
        return `${RUN}:set:${this.id}`
      }
      async load(): Promise<Found> {
        loads++
        throw new Error(`${backend.name}: a set value must be read back without a load`)
      }
    }
    const stored = (id: number) => `cacheme:${RUN}:set:${id}:v1`

    test.before(async () => {
      await registerStorage(localName, local)
      await registerStorage(remoteName, remote)
    })

    test.serial(`${backend.name}: set then get answers from the server with no load`, async (t) => {
      await set(new Lookup(1), { id: 1 })
      local.local?.clear()
      t.deepEqual(await get(new Lookup(1)), { id: 1 })
      t.is(loads, 0)
    })

    test.serial(`${backend.name}: setAll then getAll answers from the server with no load`, async (t) => {
      const nodes = [new Lookup(2), new Lookup(3), new Lookup(4)]
      await setAll(nodes, [{ id: 2 }, { id: 3 }, { id: 4 }])
      local.local?.clear()
      t.deepEqual(await getAll(nodes), [{ id: 2 }, { id: 3 }, { id: 4 }])
      t.deepEqual(await get(new Lookup(3)), { id: 3 })
      t.is(loads, 0)
    })

    test.serial(
      `${backend.name}: a ttl of 0 chosen from the value leaves it out of the server`,
      async (t) => {
        await setAll([new Lookup(5), new Lookup(6)], [null, { id: 6 }])
        t.is(await remote.bounded?.get(stored(5)), undefined, 'null is not written to the server')
        t.truthy(await remote.bounded?.get(stored(6)))
        t.is(await get(new Lookup(5)), null, 'the local tier holds it')
        local.local?.clear()
        await t.throwsAsync(get(new Lookup(5)), { message: /without a load/ })
        t.deepEqual(await get(new Lookup(6)), { id: 6 })
        t.is(loads, 1)
      },
    )
  })
}
