// The read-in-flight race across processes, made deterministic: B's read of the shared tier has
// already been answered by Redis with the old value when A writes the new one, and is held there
// until A's message has been delivered to B; only then does the old answer reach B's framework. It
// may answer B's caller, but it must fill no local tier. The same without a bus shows that the hold
// really lets the old value through: there it does end up in B's local tier.

import test from 'ava'
import type { BusOptions } from '../../lib'
import { URLS, withServer } from '../storages/servers'
import { delivered, eventually, type Source, type Worker, workerPool } from './framework-workers'

const start = workerPool()

/** A on the shared Redis tier; B on the same Redis through a storage that can hold a read. */
async function pair(bus: BusOptions | null): Promise<{ a: Worker; b: Worker; source: Source }> {
  const { workers, source } = await start(['A', 'B'], (name) => ({
    redis: URLS.redis,
    bus,
    holdable: name === 'B',
  }))
  return { a: workers[0] as Worker, b: workers[1] as Worker, source }
}

withServer('redis', URLS.redis, () => {
  const bus = { url: URLS.redis }

  for (const read of ['get', 'getAll'] as const) {
    test(`B's ${read} answered by Redis before A's refresh fills no local tier once A's message arrives`, async (t) => {
      const { a, b, source } = await pair(bus)
      source.write(1, 'old')
      t.is(await a.get(1), 'old')
      await delivered(a, b)

      const held = b.call<string>({ op: 'hold', id: 1 })
      const answer = read === 'get' ? b.get(1) : b.getAll([1]).then((values) => values[0])
      t.not(await held, '(miss)', "Redis answered B's read with the old entry")
      source.write(1, 'new')
      await a.refresh(1)
      await delivered(a, b)
      await b.call({ op: 'release' })

      t.is(await answer, 'old', 'the read in flight still answers its caller')
      t.deepEqual(await b.local(1), [null], "B's local tier holds nothing for the key")
      t.is(await b.get(1), 'new')
      t.deepEqual(await b.local(1), ['new'])
      await Promise.all([a.close(), b.close()])
    })
  }

  test('control, without a bus: the same held read does fill B’s local tier with the old value', async (t) => {
    const { a, b, source } = await pair(null)
    source.write(1, 'old')
    t.is(await a.get(1), 'old')
    const held = b.call<string>({ op: 'hold', id: 1 })
    const answer = b.get(1)
    await held
    source.write(1, 'new')
    await a.refresh(1)
    await b.call({ op: 'release' })
    t.is(await answer, 'old')
    await eventually('B filled its local tier', async () => (await b.local(1))[0] !== null)
    t.deepEqual(await b.local(1), ['old'])
    t.is(await b.get(1), 'old', 'and serves it: what the bus prevents')
    await Promise.all([a.close(), b.close()])
  })
})
