// What the bus tests share: handlers that record what a bus delivers, bounded waits, a raw client
// per backend (to publish foreign payloads and to drop one bus's subscription on the server), and a
// TCP proxy that makes a real server unreachable for one bus only.

import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net'
import { Cluster, Redis } from 'ioredis'
import { Client } from 'pg'
import { Bus, type BusHandlers, type BusOptions } from '../../lib/bus/bus'
import { RUN } from '../storages/servers'

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Resolves once `check()` is true; rejects naming `what` after `withinMs`. Polls every 10 ms. */
export async function until(what: string, check: () => boolean, withinMs = 15_000): Promise<void> {
  const deadline = Date.now() + withinMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not within ${withinMs} ms: ${what}`)
    await sleep(10)
  }
}

/** BusHandlers that keep every batch and count resyncs. */
export class Recorder implements BusHandlers {
  readonly batches: string[][] = []
  resyncs = 0

  get keys(): string[] {
    return this.batches.flat()
  }

  invalidate(keys: readonly string[]): void {
    this.batches.push([...keys])
  }

  resync(): void {
    this.resyncs += 1
  }
}

let channels = 0
/** A channel of its own for each test, so tests never hear each other. */
export function freshChannel(): string {
  channels += 1
  return `cacheme-test:${RUN}:bus${channels}`
}

export interface Opened {
  readonly bus: Bus
  readonly seen: Recorder
}

/** Buses opened by a test file, closed by its after.always hook. */
export const openedBuses: Bus[] = []

export async function openBus(options: BusOptions, channel: string): Promise<Opened> {
  const bus = new Bus(options)
  const seen = new Recorder()
  await bus.open({ invalidate: (keys) => seen.invalidate(keys), resync: () => seen.resync() }, channel)
  openedBuses.push(bus)
  return { bus, seen }
}

/** A publishes a key B must get, then B one A must get: the channel works both ways again. */
export async function deliversBothWays(a: Opened, b: Opened, label: string): Promise<void> {
  a.bus.publish([`a:${label}`])
  await until(`B got a:${label}`, () => b.seen.keys.includes(`a:${label}`))
  b.bus.publish([`b:${label}`])
  await until(`A got b:${label}`, () => a.seen.keys.includes(`b:${label}`))
}

export function closeBuses(): Promise<unknown> {
  return Promise.allSettled(openedBuses.map((bus) => bus.close()))
}

/** The server side of a backend, as a foreign program sees it. */
export interface Backend {
  readonly name: string
  readonly options: BusOptions
  /** Whether a TCPProxy can stand in front of it (a cluster redirects clients to its nodes). */
  readonly proxyable: boolean
  /** Whether payloads over the bus's message bound can be published at all (NOTIFY refuses them). */
  readonly oversized: boolean
  /** Publishes `payload` on `channel` the way the bus's transport listens to it. */
  raw(channel: string, payload: string | Buffer): Promise<void>
  /** Drops the subscribing connection of `bus` on the server; resolves to how many it dropped. */
  killSubscriber(bus: Bus): Promise<number>
  close(): Promise<void>
}

/** Ids of the pub/sub clients named `name` in CLIENT LIST TYPE pubsub output. */
function pubsubIds(list: string, name: string): string[] {
  return list
    .split('\n')
    .filter((line) => line.includes(` name=${name} `))
    .map((line) => /(?:^|\s)id=(\d+)/.exec(line)?.[1])
    .filter((id): id is string => id !== undefined)
}

export function redisBackend(url: string, cluster: boolean): Backend {
  const client = cluster
    ? new Cluster([new URL(url.split(',')[0] as string).host], { lazyConnect: true })
    : new Redis(url, { lazyConnect: true })
  let sharded: Promise<boolean> | undefined
  const isSharded = () => {
    sharded ??= (async () => {
      if (!(client instanceof Cluster)) return false
      const info = (await client.call('COMMAND', 'INFO', 'SSUBSCRIBE')) as unknown[]
      return Array.isArray(info[0])
    })()
    return sharded
  }
  return {
    name: cluster ? 'redis cluster' : 'redis',
    options: { url, cluster },
    proxyable: !cluster,
    oversized: true,
    async raw(channel, payload) {
      if (await isSharded()) await client.spublish(channel, payload)
      else await client.publish(channel, payload)
    },
    async killSubscriber(bus) {
      // The cluster client learns its nodes on its first command.
      await isSharded()
      const servers = client instanceof Cluster ? client.nodes('all') : [client]
      let killed = 0
      for (const server of servers) {
        const list = (await server.call('CLIENT', 'LIST', 'TYPE', 'pubsub')) as string
        for (const id of pubsubIds(list, `cacheme-bus-${bus.id}-sub`)) {
          killed += Number(await server.call('CLIENT', 'KILL', 'TYPE', 'pubsub', 'ID', id))
        }
      }
      return killed
    },
    async close() {
      client.disconnect()
    },
  }
}

export function postgresBackend(url: string): Backend {
  let client: Promise<Client> | undefined
  const connected = () => {
    client ??= (async () => {
      const opened = new Client({ connectionString: url })
      opened.on('error', () => {})
      await opened.connect()
      return opened
    })()
    return client
  }
  return {
    name: 'postgresql',
    options: { url },
    proxyable: true,
    oversized: false,
    async raw(channel, payload) {
      await (await connected()).query('SELECT pg_notify($1, $2)', [channel, String(payload)])
    },
    async killSubscriber(bus) {
      const result = await (await connected()).query<{ killed: boolean }>(
        'SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity WHERE application_name = $1',
        [`cacheme-bus-${bus.id}-listen`],
      )
      return result.rows.filter((row) => row.killed).length
    },
    async close() {
      if (client !== undefined) await (await client).end()
    },
  }
}

/**
 * Forwards a local port to a real server. stop() closes the listener and every forwarded
 * connection, so clients behind it see the server vanish (connections refused) while everyone
 * else keeps using it; start() listens again on the same port.
 */
export class TcpProxy {
  readonly #targetHost: string
  readonly #targetPort: number
  readonly #sockets = new Set<Socket>()
  #server: Server | undefined
  #port = 0

  constructor(target: string) {
    const { hostname, port } = new URL(target)
    this.#targetHost = hostname
    this.#targetPort = Number(port)
  }

  /** `url` with its host and port replaced by the proxy's. */
  url(url: string): string {
    return url.replace(/\/\/([^@/]*@)?[^/?#]+/, `//$1127.0.0.1:${this.#port}`)
  }

  async start(): Promise<void> {
    const server = createServer((socket) => {
      const upstream = tcpConnect(this.#targetPort, this.#targetHost)
      for (const end of [socket, upstream]) {
        this.#sockets.add(end)
        end.on('close', () => this.#sockets.delete(end))
        end.on('error', () => {
          socket.destroy()
          upstream.destroy()
        })
      }
      socket.pipe(upstream).pipe(socket)
    })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.#port, '127.0.0.1', () => resolve())
    })
    this.#port = (server.address() as { port: number }).port
    this.#server = server
  }

  async stop(): Promise<void> {
    const server = this.#server
    this.#server = undefined
    for (const socket of this.#sockets) socket.destroy()
    this.#sockets.clear()
    if (server !== undefined) await new Promise((resolve) => server.close(resolve))
  }
}
