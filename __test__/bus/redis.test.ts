// The bus on a standalone Redis: the shared suite on the test server, plus what only a server of its
// own allows: `CLIENT KILL TYPE pubsub` for every subscriber at once, and a restart.

import test from 'ava'
import { Redis } from 'ioredis'
import { type OwnRedis, startRedis } from '../reliability/processes'
import { URLS, withServer } from '../storages/servers'
import { deliversBothWays, freshChannel, openBus, redisBackend, until } from './helpers'
import { busSuite } from './suite'

/** Not the port of reliability/outage.test.ts, which may run at the same time. */
const OWN_PORT = 6393

withServer('redis', URLS.redis, () => {
  busSuite(redisBackend(URLS.redis, false))

  let own: OwnRedis | undefined
  test.after.always(async () => {
    await own?.remove()
  })

  test.serial(
    'redis: CLIENT KILL TYPE pubsub and a server restart each make both buses resync once, then deliver again',
    async (t) => {
      own = await startRedis(OWN_PORT)
      const channel = freshChannel()
      const a = await openBus({ url: own.url }, channel)
      const b = await openBus({ url: own.url }, channel)
      const admin = new Redis(own.url)
      try {
        t.is(Number(await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub')), 2)
        await until('both resynced', () => a.seen.resyncs === 1 && b.seen.resyncs === 1)
        await deliversBothWays(a, b, 'after-kill')
      } finally {
        admin.disconnect()
      }

      await own.kill()
      a.bus.publish(['while-down'])
      await own.restart()
      await until('both resynced again', () => a.seen.resyncs === 2 && b.seen.resyncs === 2)
      await deliversBothWays(a, b, 'after-restart')
      t.is(a.seen.resyncs, 2)
      t.is(b.seen.resyncs, 2)
      t.is(a.bus.stats().dropped, 0)
    },
  )
})
