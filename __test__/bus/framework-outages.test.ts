// The bus through the framework when its server misbehaves, across real processes: subscriptions
// killed on the server while A writes, Redis restarted under traffic, PostgreSQL restarted under
// traffic. Servers of their own (reliability/processes.ts), so that killing them disturbs no other
// test; the PostgreSQL test keeps its storage tier on the shared Redis and only the bus on its own
// PostgreSQL cluster.

import test from 'ava'
import { Redis } from 'ioredis'
import type { BusOptions } from '../../lib'
import {
  type OwnRedis,
  type OwnServer,
  postgresBinDir,
  redisServerPath,
  startPostgres,
  startRedis,
} from '../reliability/processes'
import { URLS, withServer } from '../storages/servers'
import { delivered, eventually, type Source, type Worker, workerPool } from './framework-workers'
import { freshChannel } from './helpers'

/** Ports of their own: reliability/outage.test.ts uses 6391 and 5441, bus/redis.test.ts 6393. */
const REDIS_PORT = 6395
const POSTGRES_PORT = 5442
/** The outage lasts this long while traffic runs (a pause, not something a test asserts on). */
const DOWN_MS = 500

const start = workerPool()
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

async function pair(redis: string, bus: BusOptions): Promise<{ a: Worker; b: Worker; source: Source }> {
  const { workers, source } = await start(['A', 'B'], () => ({ redis, bus }))
  return { a: workers[0] as Worker, b: workers[1] as Worker, source }
}

/** Registers `register` when `binary` is installed; otherwise a CI failure or a loud local skip. */
function withBinary(binary: string, installed: boolean, register: () => void): void {
  if (installed) {
    register()
    return
  }
  const message = `${binary} is not installed: run \`bash scripts/services.sh\``
  if (process.env.CI === 'true') {
    test(`bus outages: ${binary} is installed`, (t) => t.fail(message))
    return
  }
  console.warn(`\n!!! SKIPPING the bus outage tests that need ${binary}: ${message}\n`)
  test.skip(`bus outages with ${binary} (${message})`, () => {})
}

/** Every id of `ids` read by `worker` answers `value(id)` within the bounded wait. */
function answersEverywhere(worker: Worker, ids: readonly number[], value: (id: number) => string) {
  return eventually(`${worker.name} answers ${value(ids[0] as number)}… for every key`, async () => {
    const values = await worker.getAll(ids)
    return values.every((answer, i) => answer === value(ids[i] as number))
  })
}

const range = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i)

withBinary('redis-server', redisServerPath() !== undefined, () => {
  let own: OwnRedis | undefined
  test.before(async () => {
    own = await startRedis(REDIS_PORT)
  })
  test.after.always(async () => {
    await own?.remove()
  })

  test.serial(
    'CLIENT KILL TYPE pubsub: B misses what A writes before B has resubscribed, then resyncs instead of keeping the old values',
    async (t) => {
      const server = own as OwnRedis
      const { a, b, source } = await pair(server.url, { url: server.url })
      const ids = range(1, 200)
      for (const id of ids) source.write(id, `${id}:v1`)
      await b.getAll(ids)
      await delivered(b, a)
      t.deepEqual(await b.local(1, 200), ['1:v1', '200:v1'])

      for (const id of ids) source.write(id, `${id}:v2`)
      const admin = new Redis(server.url)
      try {
        // No new connection until A's writes are out: B's resubscription certainly misses them.
        const clients = Number(/connected_clients:(\d+)/.exec(await admin.info('clients'))?.[1])
        await admin.config('SET', 'maxclients', String(clients - 2))
        const received = (await b.bus()).received
        t.is(Number(await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub')), 2, 'both subscribers dropped')
        await a.refresh(...ids)
        await eventually('A published its writes', async () => (await a.bus()).queued === 0)
        t.is((await b.bus()).received, received, 'B heard none of them')
        t.deepEqual(await b.local(1, 200), ['1:v1', '200:v1'], 'B still holds the old values')
      } finally {
        await admin.config('SET', 'maxclients', '10000')
        admin.disconnect()
      }
      await eventually('B resubscribed and resynced', async () => (await b.bus()).resyncs >= 1)
      await answersEverywhere(b, ids, (id) => `${id}:v2`)
      t.is((await b.bus()).resyncs, 1)
      t.is((await a.bus()).dropped, 0)

      source.write(1, '1:v3')
      await a.refresh(1)
      await eventually('the bus delivers again', async () => (await b.get(1)) === '1:v3')
      await Promise.all([a.close(), b.close()])
    },
  )

  test.serial(
    'Redis restarted mid-traffic: no request fails, both processes resync their local tiers, the bus recovers by itself',
    async (t) => {
      const server = own as OwnRedis
      const { a, b, source } = await pair(server.url, { url: server.url })
      const ids = range(1, 20)
      for (const id of ids) source.write(id, `${id}:v1`)
      await a.getAll(ids)
      await b.getAll(ids)
      await Promise.all([delivered(a, b), delivered(b, a)])
      await Promise.all([a.traffic(ids), b.traffic(ids)])

      await server.kill()
      // Changed while nobody can announce it: only a resync makes B stop serving 1:v1.
      source.write(1, '1:changed-while-down')
      await sleep(DOWN_MS)
      await server.restart()
      for (const worker of [a, b]) {
        await eventually(`${worker.name} resynced`, async () => (await worker.bus()).resyncs >= 1)
      }
      await sleep(DOWN_MS)
      for (const worker of [a, b]) {
        const traffic = await worker.stopTraffic()
        t.is(traffic.failed, 0, `${worker.name}: ${traffic.errors.join('; ')}`)
        t.true(traffic.ok > 0)
      }
      t.is(await b.get(1), '1:changed-while-down')
      t.is(await a.get(1), '1:changed-while-down')

      source.write(2, '2:v3')
      await a.refresh(2)
      await eventually('the bus delivers again', async () => (await b.get(2)) === '2:v3')
      t.is((await b.bus()).invalid, 0)
      await Promise.all([a.close(), b.close()])
    },
  )
})

withServer('redis', URLS.redis, () => {
  withBinary('PostgreSQL', postgresBinDir() !== undefined, () => {
    let postgres: OwnServer | undefined
    test.before(async () => {
      postgres = await startPostgres(POSTGRES_PORT)
    })
    test.after.always(async () => {
      await postgres?.remove()
    })

    test.serial(
      'PostgreSQL (the bus) restarted mid-traffic: no request fails, a write made while it was down reaches B, the bus recovers by itself',
      async (t) => {
        const server = postgres as OwnServer
        const { a, b, source } = await pair(URLS.redis, { url: server.url, channel: freshChannel() })
        const ids = range(1, 20)
        for (const id of ids) source.write(id, `${id}:v1`)
        await b.getAll(ids)
        await delivered(b, a)
        await Promise.all([a.traffic(ids), b.traffic(ids)])

        await server.kill()
        // The shared tier is up, so refresh succeeds; its announcement waits in A's queue.
        source.write(1, '1:v2')
        await a.refresh(1)
        await sleep(DOWN_MS)
        await server.restart()
        for (const worker of [a, b]) {
          await eventually(`${worker.name} resynced`, async () => (await worker.bus()).resyncs >= 1, 30_000)
        }
        await eventually(
          'B answers the write made while the bus was down',
          async () => (await b.get(1)) === '1:v2',
        )
        for (const worker of [a, b]) {
          const traffic = await worker.stopTraffic()
          t.is(traffic.failed, 0, `${worker.name}: ${traffic.errors.join('; ')}`)
          t.true(traffic.ok > 0)
        }

        source.write(2, '2:v3')
        await a.refresh(2)
        await eventually('the bus delivers again', async () => (await b.get(2)) === '2:v3')
        await eventually('A published everything it queued', async () => (await a.bus()).queued === 0)
        t.is((await a.bus()).dropped, 0)
        await Promise.all([a.close(), b.close()])
      },
    )
  })
})
