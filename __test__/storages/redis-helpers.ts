// What the Redis tests need besides the adapter: counting what ioredis sends, and deleting this run's
// keys afterwards.

import { Cluster, Pipeline, Redis } from 'ioredis'
import { RUN } from './servers'

export interface Sent {
  /** Lower-case command names in the order ioredis wrote them to a socket. */
  readonly commands: string[]
  /** Pipelines executed (each is one write and one read of all its replies). */
  readonly pipelines: number
  /** Distinct connections that carried a command. */
  readonly connections: number
}

/**
 * Runs `work` while counting the commands ioredis writes to node connections and the pipelines it
 * executes. Only `names` are counted, so background traffic (slot refreshes) cannot leak in. Run it
 * from serial tests: the counters see every client in this process.
 */
export async function countSent(names: readonly string[], work: () => Promise<unknown>): Promise<Sent> {
  const commands: string[] = []
  const connections = new Set<Redis>()
  let pipelines = 0
  const send = Redis.prototype.sendCommand
  const exec = Pipeline.prototype.exec
  Redis.prototype.sendCommand = function (this: Redis, ...args: Parameters<typeof send>) {
    const name = args[0].name.toLowerCase()
    if (names.includes(name)) {
      commands.push(name)
      connections.add(this)
    }
    return send.apply(this, args)
  }
  Pipeline.prototype.exec = function (this: Pipeline, ...args: Parameters<typeof exec>) {
    pipelines += 1
    return exec.apply(this, args)
  }
  try {
    await work()
  } finally {
    Redis.prototype.sendCommand = send
    Pipeline.prototype.exec = exec
  }
  return { commands, pipelines, connections: connections.size }
}

/** Deletes every key this run wrote (SCAN, bounded), on one server or every cluster master. */
export async function deleteRunKeys(client: Redis | Cluster): Promise<void> {
  const servers = client instanceof Cluster ? client.nodes('master') : [client]
  for (const server of servers) {
    let cursor = '0'
    for (let round = 0; round < 10_000; round++) {
      const [next, keys] = await server.scan(cursor, 'MATCH', `cacheme-test:${RUN}:*`, 'COUNT', 1000)
      // One DEL per key: on a cluster node the keys of one SCAN page span many slots.
      if (keys.length > 0) await Promise.all(keys.map((key) => server.del(key)))
      cursor = next
      if (cursor === '0') break
    }
  }
}
