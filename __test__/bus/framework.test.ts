// The bus through the framework, across real processes (child_process.fork): each process has a
// local tier in front of a shared Redis tier; what one process writes, the others stop serving from
// their local tier. Run with the bus on Redis, on Redis Cluster and on PostgreSQL LISTEN/NOTIFY; then
// garbage and oversized payloads from a foreign client on the channel.
//
// Each process's local tier keeps entries for 10 minutes, so a process answering the new value
// within the bounded waits below can only have learned it through the bus.

import test from 'ava'
import { Redis } from 'ioredis'
import type { BusOptions } from '../../lib'
import { URLS, withServer } from '../storages/servers'
import { delivered, eventually, type Worker, workerPool } from './framework-workers'
import { type Backend, freshChannel, postgresBackend, redisBackend } from './helpers'

const start = workerPool()

/** Starts `names` processes on the shared Redis tier and one bus channel. */
const workers = (bus: BusOptions, ...names: string[]) => start(names, () => ({ redis: URLS.redis, bus }))

const closeAll = (all: Worker[]) => Promise.all(all.map((worker) => worker.close()))

/** Each of `workers` answers `value` for item 1 within the bounded wait. */
async function everyAnswers(workers: Worker[], value: string, when: string): Promise<void> {
  for (const worker of workers) {
    await eventually(`${worker.name} answers ${value} ${when}`, async () => (await worker.get(1)) === value)
  }
}

function propagation(name: string, url: string, bus: () => BusOptions, count: number): void {
  withServer(name, url, () => {
    test(`${name} bus: after refresh and after invalidate in A, ${count - 1} other processes answer the new value`, async (t) => {
      const { workers: all, source } = await workers(bus(), ...['A', 'B', 'C', 'D'].slice(0, count))
      const [a, ...others] = all as [Worker, ...Worker[]]
      source.write(1, 'v1')
      t.is(await a.get(1), 'v1')
      // A's load wrote Redis and announced it: once that has arrived, the others read and keep v1.
      await delivered(a, ...others)
      for (const other of others) t.is(await other.get(1), 'v1')
      for (const other of others) t.deepEqual(await other.local(1), ['v1'], `${other.name} holds v1 locally`)

      source.write(1, 'v2')
      await a.refresh(1)
      await everyAnswers(others, 'v2', "after A's refresh")

      source.write(1, 'v3')
      await a.invalidate(1)
      await everyAnswers(others, 'v3', "after A's invalidate")
      for (const other of others) {
        const stats = await other.bus()
        t.true(stats.keysInvalidated >= 2, `${other.name} dropped keys it was told about`)
        t.is(stats.invalid, 0)
      }
      await closeAll(all)
    })

    test(`${name} bus: getAll in another process answers what A refreshed, invalidated or wrote back from its own getAll`, async (t) => {
      const { workers: all, source, prefix } = await workers(bus(), 'A', 'B')
      const [a, b] = all as [Worker, Worker]
      const ids = [10, 11, 12, 13]
      for (const id of ids) source.write(id, `${id}:v1`)
      t.deepEqual(await b.getAll(ids), ['10:v1', '11:v1', '12:v1', '13:v1'])
      await delivered(b, a)

      // refresh and invalidate through A; B reads through getAll.
      for (const id of ids) source.write(id, `${id}:v2`)
      await a.refresh(10, 11)
      await a.invalidate(12)
      await eventually('B getAll answers the refreshed and invalidated keys new', async () => {
        const values = await b.getAll(ids)
        return values.join() === '10:v2,11:v2,12:v2,13:v1'
      })

      // A's getAll misses everywhere for 13 (removed behind everyone's back) and writes it back in a
      // batch: that write is announced too.
      const raw = new Redis(URLS.redis)
      try {
        t.is(await raw.del(`${prefix}:item:13:v1`), 1, 'item 13 was in Redis')
      } finally {
        raw.disconnect()
      }
      t.deepEqual(await b.local(13), ['13:v1'], 'B still holds 13:v1 locally')
      t.deepEqual(await a.getAll([13, 10]), ['13:v2', '10:v2'])
      await eventually('B getAll answers the key A wrote back', async () => {
        const values = await b.getAll(ids)
        return values.join() === '10:v2,11:v2,12:v2,13:v2'
      })
      await closeAll(all)
    })
  })
}

// The default channel: derived from the key prefix, which the processes share.
propagation('redis', URLS.redis, () => ({ url: URLS.redis }), 3)
propagation(
  'redis cluster',
  URLS.redisCluster,
  () => ({ url: URLS.redisCluster, cluster: true, channel: freshChannel() }),
  2,
)
propagation('postgresql', URLS.postgresql, () => ({ url: URLS.postgresql, channel: freshChannel() }), 2)

function garbage(backend: () => Backend, url: string, bus: (channel: string) => BusOptions): void {
  const name = backend().name
  withServer(name, url, () => {
    test(`${name} bus: garbage and oversized payloads from another client are counted and ignored; B keeps serving`, async (t) => {
      const foreign = backend()
      const channel = freshChannel()
      const { workers: all, source } = await workers(bus(channel), 'A', 'B')
      const [a, b] = all as [Worker, Worker]
      try {
        source.write(20, 'v1')
        t.is(await a.get(20), 'v1')
        await delivered(a, b)
        t.is(await b.get(20), 'v1')
        const sender = '0123456789abcdef'
        const payloads: (string | Buffer)[] = [
          'hello',
          '',
          Buffer.from([0xff, 0xfe, 0x01, 0x80]),
          `cmb1 ${sender} ["unterminated`,
          `cmb1 ${sender} []`,
          `cmb1 ${sender} [1,2]`,
          `cmb1 NOTHEX!NOTHEX!! ["k"]`,
          `cmb2 ${sender} ["k"]`,
          `cmb1 ${sender} {"k":1}`,
          // Redis: a well-formed message over the bus's 64 KiB bound. PostgreSQL's NOTIFY refuses
          // payloads over 8000 bytes itself: a near-limit one of the wrong shape instead.
          foreign.oversized
            ? `cmb1 ${sender} ["${'x'.repeat(70_000)}"]`
            : `cmb1 ${sender} [${'0,'.repeat(3_900)}0]`,
        ]
        for (const payload of payloads) await foreign.raw(channel, payload)
        await eventually(
          `B counted ${payloads.length} invalid payloads`,
          async () => (await b.bus()).invalid >= payloads.length,
        )
        const stats = await b.bus()
        t.is(stats.invalid, payloads.length)
        t.is(stats.resyncs, 0)
        t.deepEqual(await b.local(20), ['v1'], 'nothing was dropped for them')
        t.is(await b.get(20), 'v1')
        source.write(20, 'v2')
        await a.refresh(20)
        await eventually('B still hears A', async () => (await b.get(20)) === 'v2')
        await closeAll(all)
      } finally {
        await foreign.close()
      }
    })
  })
}

garbage(
  () => redisBackend(URLS.redis, false),
  URLS.redis,
  (channel) => ({ url: URLS.redis, channel }),
)
garbage(
  () => postgresBackend(URLS.postgresql),
  URLS.postgresql,
  (channel) => ({ url: URLS.postgresql, channel }),
)
