// Tags and invalidateAll across real processes with the bus (child_process.fork): each process has
// a local tier in front of a shared Redis tier; after A's invalidateTags or invalidateAll has reached
// B, B's next read of a covered entry is a miss and loads the new value. B's local tier keeps entries
// for 10 minutes and, with a bus, re-reads its copies of the tag records only after a minute, so a
// reload right after delivery can only come from the message. Bus on Redis, Redis Cluster and
// PostgreSQL.

import test from 'ava'
import type { BusOptions } from '../../lib'
import { URLS, withServer } from '../storages/servers'
import { delivered, type Source, type Worker, workerPool } from './framework-workers'
import { freshChannel } from './helpers'

const start = workerPool()

async function pair(bus: BusOptions): Promise<{ a: Worker; b: Worker; source: Source }> {
  const { workers, source } = await start(['A', 'B'], () => ({ redis: URLS.redis, bus }))
  return { a: workers[0] as Worker, b: workers[1] as Worker, source }
}

/** Team 0 is ids 1 and 2, team 1 is id 101 (framework-peer.ts TaggedNode). */
const TEAM_0 = [1, 2]
const TEAM_1 = 101

/** Writes `version` of every item to the source: `{id}:{version}`. */
function writeAll(source: Source, version: string): void {
  for (const id of [...TEAM_0, TEAM_1]) source.write(id, `${id}:${version}`)
}

function tagsAcrossProcesses(name: string, url: string, bus: () => BusOptions): void {
  withServer(name, url, () => {
    test(`${name} bus: after A's invalidateTags has arrived, B's next read of a tagged entry loads the new value`, async (t) => {
      const { a, b, source } = await pair(bus())
      writeAll(source, 'v1')
      t.deepEqual(await b.getAll([...TEAM_0, TEAM_1], 'tagged'), ['1:v1', '2:v1', '101:v1'])
      t.deepEqual(await b.localTagged(1, 2, 101), ['1:v1', '2:v1', '101:v1'], 'B holds them locally')
      await delivered(b, a)

      writeAll(source, 'v2')
      await a.invalidateTags('team:0')
      await delivered(a, b)
      t.is(await b.get(1, 'tagged'), '1:v2', 'the next read loads')
      t.is(await b.get(2, 'tagged'), '2:v2')
      t.is(await b.get(TEAM_1, 'tagged'), '101:v1', 'an entry of another tag stays')
      t.deepEqual(await b.localTagged(1, 2), ['1:v2', '2:v2'], 'the reloads replaced the local entries')
      t.is(await a.get(1, 'tagged'), '1:v2', "A reads B's reload from the shared tier")
      t.is((await b.bus()).invalid, 0)
      await Promise.all([a.close(), b.close()])
    })

    test(`${name} bus: after A's invalidateAll has arrived, B's next read of every entry of the class loads`, async (t) => {
      const { a, b, source } = await pair(bus())
      writeAll(source, 'v1')
      t.deepEqual(await b.getAll([...TEAM_0, TEAM_1], 'tagged'), ['1:v1', '2:v1', '101:v1'])
      t.deepEqual(await b.getAll([1, 2]), ['1:v1', '2:v1'])
      await delivered(b, a)

      writeAll(source, 'v2')
      await a.invalidateAll('tagged')
      await delivered(a, b)
      t.deepEqual(await b.getAll([...TEAM_0, TEAM_1], 'tagged'), ['1:v2', '2:v2', '101:v2'])
      t.deepEqual(await b.getAll([1, 2]), ['1:v1', '2:v1'], 'another class stays')

      // A class without tags: B has never checked its entries, the message makes it start.
      await a.invalidateAll('item')
      await delivered(a, b)
      t.deepEqual(await b.getAll([1, 2]), ['1:v2', '2:v2'])
      t.deepEqual(await b.local(1, 2), ['1:v2', '2:v2'])
      await Promise.all([a.close(), b.close()])
    })
  })
}

// The default channel: derived from the key prefix, which the processes share.
tagsAcrossProcesses('redis', URLS.redis, () => ({ url: URLS.redis }))
tagsAcrossProcesses('redis cluster', URLS.redisCluster, () => ({
  url: URLS.redisCluster,
  cluster: true,
  channel: freshChannel(),
}))
tagsAcrossProcesses('postgresql', URLS.postgresql, () => ({ url: URLS.postgresql, channel: freshChannel() }))
