// Two real processes (child_process.fork) on one channel, on every backend: keys published in one
// reach the other, in order, never the publisher itself; both exit by themselves after close().

import { type ChildProcess, fork } from 'node:child_process'
import { join } from 'node:path'
import test from 'ava'
import type { BusOptions } from '../../lib/bus/bus'
import { URLS, withServer } from '../storages/servers'
import { freshChannel, until } from './helpers'
import type { PeerCommand, PeerEvent } from './peer'

class Peer {
  readonly events: PeerEvent[] = []
  readonly child: ChildProcess
  exitCode: number | null | undefined

  constructor(options: BusOptions, channel: string) {
    this.child = fork(join(__dirname, 'peer.js'), [JSON.stringify(options), channel], { stdio: 'inherit' })
    this.child.on('message', (event: PeerEvent) => this.events.push(event))
    this.child.on('exit', (code) => {
      this.exitCode = code
    })
  }

  get keys(): string[] {
    return this.events.flatMap((event) => (event.type === 'invalidate' ? event.keys : []))
  }

  has(type: PeerEvent['type']): boolean {
    return this.events.some((event) => event.type === type)
  }

  send(command: PeerCommand): void {
    this.child.send(command)
  }

  async opened(): Promise<void> {
    await until(
      'the peer opened its bus',
      () => this.has('open') || this.has('failed') || this.exitCode !== undefined,
    )
    if (!this.has('open')) throw new Error(`peer did not open: ${JSON.stringify(this.events)}`)
  }

  /** Closes its bus, disconnects, and resolves with its exit code once it has exited by itself. */
  async close(): Promise<number | null> {
    this.send({ type: 'close' })
    await until('the peer closed its bus', () => this.has('closed'))
    this.child.disconnect()
    await until('the peer exited by itself', () => this.exitCode !== undefined)
    return this.exitCode ?? null
  }
}

const peers: Peer[] = []
test.after.always(() => {
  for (const peer of peers) if (peer.exitCode === undefined) peer.child.kill('SIGKILL')
})

function processes(name: string, url: string, options: BusOptions): void {
  withServer(name, url, () => {
    test(`${name}: keys published in one process reach the other in order, not the publisher, and both exit after close`, async (t) => {
      const channel = freshChannel()
      const a = new Peer(options, channel)
      const b = new Peer(options, channel)
      peers.push(a, b)
      await Promise.all([a.opened(), b.opened()])
      const keys = Array.from({ length: 200 }, (_, i) => `cacheme:proc:${i}:v1`)
      for (let i = 0; i < keys.length; i += 20) a.send({ type: 'publish', keys: keys.slice(i, i + 20) })
      await until('B got every key', () => b.keys.length >= keys.length, 30_000)
      t.deepEqual(b.keys, keys)
      b.send({ type: 'publish', keys: ['from-b'] })
      await until('A got from-b', () => a.keys.length >= 1)
      t.deepEqual(a.keys, ['from-b'])
      t.is(await a.close(), 0)
      t.is(await b.close(), 0)
      const stats = a.events.find((event) => event.type === 'closed')
      t.is(stats?.type === 'closed' ? stats.stats.keysSent : -1, keys.length)
    })
  })
}

processes('redis', URLS.redis, { url: URLS.redis })
processes('redis cluster', URLS.redisCluster, { url: URLS.redisCluster, cluster: true })
processes('postgresql', URLS.postgresql, { url: URLS.postgresql })
