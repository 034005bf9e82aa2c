// The bus on the 6-node Redis Cluster: the shared suite, and that it subscribes with sharded pub/sub
// (SSUBSCRIBE on the shard owning the channel's slot) where the servers support it.

import test from 'ava'
import { Cluster } from 'ioredis'
import { URLS, withServer } from '../storages/servers'
import { freshChannel, openBus, redisBackend } from './helpers'
import { busSuite } from './suite'

const url = URLS.redisCluster

withServer('redis cluster', url, () => {
  busSuite(redisBackend(url, true))

  test.serial(
    'redis cluster: buses subscribe to their channel with sharded pub/sub when the servers support it',
    async (t) => {
      const cluster = new Cluster([new URL(url.split(',')[0] as string).host])
      try {
        const info = (await cluster.call('COMMAND', 'INFO', 'SSUBSCRIBE')) as unknown[]
        const channel = freshChannel()
        await openBus({ url, cluster: true }, channel)
        await openBus({ url, cluster: true }, channel)
        let sharded = 0
        let classic = 0
        for (const node of cluster.nodes('master')) {
          const shard = (await node
            .call('PUBSUB', 'SHARDNUMSUB', channel)
            .catch(() => [channel, 0])) as unknown[]
          const plain = (await node.call('PUBSUB', 'NUMSUB', channel)) as unknown[]
          sharded += Number(shard[1])
          classic += Number(plain[1])
        }
        if (Array.isArray(info[0])) t.deepEqual({ sharded, classic }, { sharded: 2, classic: 0 })
        else t.deepEqual({ sharded, classic }, { sharded: 0, classic: 2 })
      } finally {
        cluster.disconnect()
      }
    },
  )
})
