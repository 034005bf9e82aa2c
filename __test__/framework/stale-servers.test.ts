// staleIfError and staleWhileRevalidate over the server storages (Redis, PostgreSQL): stamped
// payloads survive the TTL in the server for the node's grace and answer when the source fails.
// A missing server fails the run in CI (servers.ts).

import test from 'ava'
import {
  Cache,
  type CacheErrorEvent,
  close,
  get,
  Node,
  onError,
  registerStorage,
  Storage,
  stats,
} from '../../lib'
import { freshName, RUN, URLS, withServer } from '../storages/servers'
import { sleep } from './helpers'

const TTL = 200
const SWR = 1000

const backends = [
  { name: 'redis', url: URLS.redis, options: {} },
  { name: 'postgresql', url: URLS.postgresql, options: { table: freshName('stale') } },
] as const

const events: CacheErrorEvent[] = []

test.before(() => {
  onError((event) => events.push(event))
})

test.after.always(async () => {
  await close()
})

for (const backend of backends) {
  withServer(backend.name, backend.url, () => {
    const storage = `${backend.name}-stale-${RUN}`
    let fail = false
    let loads = 0

    class Remote extends Node<{ id: number; load: number }> {
      static meta = {
        version: 'v1',
        caches: [new Cache({ storage, ttl: TTL })],
        staleWhileRevalidate: SWR,
        staleIfError: 60_000,
      }
      constructor(readonly id: number) {
        super()
      }
      key() {
        return `${RUN}:stale:${this.id}`
      }
      async load() {
        loads++
        if (fail) throw new Error(`${backend.name} source down`)
        return { id: this.id, load: loads }
      }
    }

    test.before(async () => {
      await registerStorage(storage, new Storage({ url: backend.url, ...backend.options }))
    })

    test.serial(
      `${backend.name}: staleIfError answers the stored entry past its TTL when the load fails`,
      async (t) => {
        t.deepEqual(await get(new Remote(1)), { id: 1, load: 1 })
        await sleep(TTL + SWR + 200) // past the TTL and staleWhileRevalidate: the read waits for the load
        fail = true
        t.deepEqual(await get(new Remote(1)), { id: 1, load: 1 })
        t.is(loads, 2)
        t.is(stats(Remote).staleIfErrorCount, 1)
        t.true(
          events.some(
            (event) =>
              event.kind === 'load' && event.node === 'Remote' && event.key.includes(`${RUN}:stale:1:`),
          ),
        )
        await t.throwsAsync(get(new Remote(2)), { message: `${backend.name} source down` })
      },
    )

    test.serial(
      `${backend.name}: within staleWhileRevalidate the entry answers and reloads once`,
      async (t) => {
        fail = false
        const before = loads
        t.deepEqual(await get(new Remote(3)), { id: 3, load: before + 1 })
        await sleep(TTL + 50)
        const answers = await Promise.all(Array.from({ length: 50 }, () => get(new Remote(3))))
        t.true(answers.every((answer) => answer.load === before + 1))
        for (let waited = 0; loads < before + 2 && waited < 2000; waited += 10) await sleep(10)
        await sleep(50)
        t.is(loads, before + 2, 'one background reload')
        t.deepEqual(await get(new Remote(3)), { id: 3, load: before + 2 })
      },
    )
  })
}
