// The tag store down under tagged traffic, across real processes: B reads tagged entries in a loop
// while the Redis that holds its shared tier and the tag records is killed, or frozen (SIGSTOP); A
// tries to invalidate the tag meanwhile. What tiers/tags.ts promises, and this file pins down:
// - no request fails: entries carrying the tags are misses and reads load from the source;
// - A's invalidateTags is refused while the store does not take the record;
// - once the store answers again, after a successful invalidateTags, B serves no entry written before
//   it: B dropped its copies of the records when their fetch failed, so its next read fetches the new
//   record instead of trusting a copy read before the outage.
// Neither process has a bus, so nothing but the records tells B. B stops reading before the store
// comes back: a read then would renew its copy from before A's invalidation, which without a bus
// answers for one re-check interval (the documented bound, not what is tested here).
//
// A redis-server of its own (processes.ts), so that killing it disturbs no other test.

import test from 'ava'
import { eventually, type Worker, workerPool } from '../bus/framework-workers'
import { type OwnRedis, redisServerPath, startRedis } from './processes'

/** A port of its own: outage.test.ts uses 6391, bus/redis.test.ts 6393, bus/framework-outages.test.ts 6395. */
const REDIS_PORT = 6397

const start = workerPool()
const ids = Array.from({ length: 20 }, (_, i) => i + 1)
/** framework-peer.ts TaggedNode tags ids 0…99 with team:0. */
const TAG = 'team:0'
const version = (v: string) => ids.map((id) => `${id}:${v}`)

if (redisServerPath() === undefined) {
  const message = 'redis-server is not installed: run `bash scripts/services.sh`'
  if (process.env.CI === 'true') test('tag store outages: redis-server is installed', (t) => t.fail(message))
  else {
    console.warn(`\n!!! SKIPPING the tag store outage tests: ${message}\n`)
    test.skip(`tag store outages (${message})`, () => {})
  }
} else {
  let own: OwnRedis | undefined
  test.before(async () => {
    own = await startRedis(REDIS_PORT)
  })
  test.after.always(async () => {
    await own?.remove()
  })

  for (const outage of [
    { name: 'killed', down: (server: OwnRedis) => server.kill(), up: (server: OwnRedis) => server.restart() },
    {
      name: 'frozen',
      down: async (server: OwnRedis) => server.freeze(),
      up: async (server: OwnRedis) => server.thaw(),
    },
  ]) {
    test.serial(
      `tag store ${outage.name} mid-traffic: no read fails, then after a successful invalidateTags no entry written before it is served`,
      async (t) => {
        const server = own as OwnRedis
        const { workers, source } = await start(['A', 'B'], () => ({ redis: server.url, bus: null }))
        const [a, b] = workers as [Worker, Worker]
        for (const id of ids) source.write(id, `${id}:v1`)
        t.deepEqual(await b.getAll(ids, 'tagged'), version('v1'))
        await b.traffic(ids, 'tagged')

        await outage.down(server)
        for (const id of ids) source.write(id, `${id}:v2`)
        await t.throwsAsync(a.invalidateTags(TAG), undefined, 'the record cannot be written')
        await eventually(
          'B loads from the source while the tag store is down',
          async () => (await b.getAll(ids, 'tagged')).join() === version('v2').join(),
        )
        const traffic = await b.stopTraffic()
        t.is(traffic.failed, 0, traffic.errors.join('; '))
        t.true(traffic.ok > 0)

        await outage.up(server)
        for (const id of ids) source.write(id, `${id}:v3`)
        await eventually('A invalidates the tag once the store answers', () =>
          a.invalidateTags(TAG).then(
            () => true,
            () => false,
          ),
        )
        t.deepEqual(await b.getAll(ids, 'tagged'), version('v3'), 'B serves nothing from before it')
        t.deepEqual(await a.getAll(ids, 'tagged'), version('v3'), "and A reads B's reloads")
        await Promise.all([a.close(), b.close()])
      },
    )
  }
}
