// What the Redis tests need besides the adapter: counting what the adapter's driver (node-redis)
// writes to its sockets, and deleting this run's keys afterwards (through ioredis, a client the
// adapter does not use).

import { Cluster, type Redis } from 'ioredis'
import { RUN } from './servers'

export interface Sent {
  /** Lower-case command names in the order they were written to a socket. */
  readonly commands: string[]
  /** Socket writes that carried one of them (commands written together travel as one pipeline). */
  readonly writes: number
  /** Distinct connections that carried one of them. */
  readonly connections: number
}

/** node-redis's socket: each call of write() sends the encoded commands of one event-loop turn. */
interface DriverSocket {
  write(commands: Iterable<readonly (string | Buffer)[]>): void
}
const socketClass = require('@redis/client/dist/lib/client/socket').default as {
  prototype: DriverSocket
}

/** The command name at the start of an encoded command: `*N\r\n$len\r\nNAME\r\n…`. */
function commandName(encoded: readonly (string | Buffer)[]): string {
  const head = String(encoded[0])
  return /^\*\d+\r\n\$\d+\r\n([^\r]+)/.exec(head)?.[1]?.toLowerCase() ?? ''
}

/**
 * Runs `work` while counting the commands node-redis writes to its sockets and the writes that carry
 * them. Only `names` are counted, so background traffic (slot discovery, pings) cannot leak in. Run
 * it from serial tests: the counters see every client in this process.
 */
export async function countSent(names: readonly string[], work: () => Promise<unknown>): Promise<Sent> {
  const commands: string[] = []
  const connections = new Set<DriverSocket>()
  let writes = 0
  const write = socketClass.prototype.write
  socketClass.prototype.write = function (this: DriverSocket, batch) {
    const encoded = [...batch]
    let counted = false
    for (const command of encoded) {
      const name = commandName(command)
      if (names.includes(name)) {
        commands.push(name)
        counted = true
      }
    }
    if (counted) {
      writes += 1
      connections.add(this)
    }
    return write.call(this, encoded)
  }
  try {
    await work()
  } finally {
    socketClass.prototype.write = write
  }
  return { commands, writes, connections: connections.size }
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
