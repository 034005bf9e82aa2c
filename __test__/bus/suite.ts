// The transport-level behaviour every bus backend must show, run by redis.test.ts,
// redis-cluster.test.ts and postgresql.test.ts against real servers. No framework: two Bus
// instances on one channel, and a raw client publishing what a foreign program would.
//
// Ordering on one channel is what makes these tests deterministic without timing: a server delivers
// a channel's messages to each subscriber in the order it accepted them, so once a sentinel sent
// after X has arrived, X has been handled too.

import test from 'ava'
import { type CacheErrorEvent, onError } from '../../lib/events'
import { type Backend, closeBuses, deliversBothWays, freshChannel, openBus, TcpProxy, until } from './helpers'

export function busSuite(backend: Backend): void {
  const name = backend.name

  test.after.always(async () => {
    await closeBuses()
    await backend.close()
  })

  const pair = async (options: { a?: Partial<typeof backend.options> } = {}) => {
    const channel = freshChannel()
    const a = await openBus({ ...backend.options, ...options.a }, channel)
    const b = await openBus(backend.options, channel)
    return { channel, a, b }
  }

  test.serial(`${name}: keys published by A reach B in order, and A ignores its own messages`, async (t) => {
    const { a, b } = await pair()
    a.bus.publish(['k1', 'k2'])
    await new Promise((resolve) => setImmediate(resolve))
    a.bus.publish(['k3'])
    await until('B got k1..k3', () => b.seen.keys.length >= 3)
    t.deepEqual(b.seen.keys, ['k1', 'k2', 'k3'])
    // B's reply is published after A's messages, so once A has it, A has handled its own.
    b.bus.publish(['from-b'])
    await until('A got from-b', () => a.seen.keys.length >= 1)
    t.deepEqual(a.seen.batches, [['from-b']])
    t.is(a.bus.stats().received, 1)
    t.is(a.bus.stats().sent, 2)
    t.is(b.bus.stats().keysInvalidated, 3)
  })

  test.serial(`${name}: keys published in one tick go out as one message`, async (t) => {
    const { a, b } = await pair()
    a.bus.publish(['t1'])
    a.bus.publish(['t2', 't3'])
    a.bus.publish(['t4'])
    await until('B got t1..t4', () => b.seen.keys.length >= 4)
    t.deepEqual(b.seen.batches, [['t1', 't2', 't3', 't4']])
    t.is(a.bus.stats().sent, 1)
  })

  test.serial(
    `${name}: keys that need no JSON-safe or ASCII treatment arrive exactly as published`,
    async (t) => {
      const { a, b } = await pair()
      const keys = [
        'ünïcødé:ключ:键',
        'quote"back\\slash',
        'new\nline\ttab\0nul',
        'emoji:😀',
        'lone:\ud800',
        ' ',
      ]
      a.bus.publish(keys)
      await until('B got them', () => b.seen.keys.length >= keys.length)
      t.deepEqual(b.seen.keys, keys)
    },
  )

  test.serial(`${name}: a batch larger than one message is split in order and loses no key`, async (t) => {
    const { a, b } = await pair()
    const keys = Array.from({ length: 5000 }, (_, i) => `cacheme:large:${i}:${'x'.repeat(80)}:v1`)
    a.bus.publish(keys)
    await until('B got 5000 keys', () => b.seen.keys.length >= keys.length, 30_000)
    t.deepEqual(b.seen.keys, keys)
    t.true(b.seen.batches.length > 1)
    // B can have the last message before A has the server's reply to it.
    await until('A counted every key sent', () => a.bus.stats().keysSent === keys.length)
    t.is(a.bus.stats().sent, b.seen.batches.length)
  })

  test.serial(
    `${name}: payloads that are not messages of this bus are counted as invalid and ignored`,
    async (t) => {
      const { channel, b } = await pair()
      const sender = '0123456789abcdef'
      const garbage: (string | Buffer)[] = [
        'hello',
        '',
        `cmb2 ${sender} ["k"]`, // another version
        `cmb1 ${sender.toUpperCase()} ["k"]`,
        `cmb1 ${sender}["k"]`,
        `cmb1 ${sender} {"k":1}`,
        `cmb1 ${sender} []`,
        `cmb1 ${sender} [1]`,
        `cmb1 ${sender} [""]`,
        `cmb1 ${sender} ["k"`,
        `cmb1 ${sender} ["ké"]`, // we escape everything above U+007E
        `cmb1 ${sender} ?`,
      ]
      if (backend.oversized) {
        garbage.push(Buffer.from([0xff, 0x00, 0xfe, 0x63, 0x6d, 0x62, 0x31]))
        garbage.push(`cmb1 ${sender} ["${'x'.repeat(70_000)}"]`)
      }
      for (const payload of garbage) await backend.raw(channel, payload)
      await backend.raw(channel, `cmb1 ${sender} ["valid"]`)
      await until('B got the valid one', () => b.seen.keys.length >= 1)
      t.deepEqual(b.seen.batches, [['valid']])
      t.is(b.bus.stats().invalid, garbage.length)
      t.is(b.bus.stats().received, 1)
      t.is(b.seen.resyncs, 0)
    },
  )

  test.serial(`${name}: a foreign "dropped keys" announcement makes B resync once`, async (t) => {
    const { channel, b } = await pair()
    await backend.raw(channel, 'cmb1 0123456789abcdef !')
    await backend.raw(channel, 'cmb1 0123456789abcdef ["after"]')
    await until('B got after', () => b.seen.keys.length >= 1)
    t.is(b.seen.resyncs, 1)
    t.is(b.bus.stats().resyncs, 1)
  })

  test.serial(
    `${name}: a dropped subscription resyncs once, is restored, and publishing goes on`,
    async (t) => {
      const { a, b } = await pair()
      t.is(await backend.killSubscriber(b.bus), 1)
      await until('B resynced', () => b.seen.resyncs >= 1)
      await deliversBothWays(a, b, 'after-b-restored')
      t.is(await backend.killSubscriber(a.bus), 1)
      await until('A resynced', () => a.seen.resyncs >= 1)
      await deliversBothWays(a, b, 'after-a-restored')
      t.is(b.seen.resyncs, 1)
      t.is(a.seen.resyncs, 1)
      t.is(b.bus.stats().resyncs, 1)
    },
  )

  if (!backend.proxyable) return

  test.serial(
    `${name}: keys published while the server is unreachable are delivered in order after recovery`,
    async (t) => {
      const proxy = new TcpProxy(backend.options.url)
      await proxy.start()
      try {
        const { a, b } = await pair({ a: { url: proxy.url(backend.options.url) } })
        await proxy.stop()
        const keys: string[] = []
        for (let i = 0; i < 50; i++) {
          const batch = [`down:${i}:a`, `down:${i}:b`]
          keys.push(...batch)
          a.bus.publish(batch)
          await new Promise((resolve) => setImmediate(resolve))
        }
        await until('A queued them', () => a.bus.stats().queued === keys.length)
        t.is(b.seen.keys.length, 0)
        await proxy.start()
        await until('B got every key', () => b.seen.keys.length >= keys.length, 30_000)
        t.deepEqual(b.seen.keys, keys)
        // B can have the last message before A has the server's reply to it.
        await until('A emptied its queue', () => a.bus.stats().queued === 0)
        t.is(a.bus.stats().dropped, 0)
        t.is(b.seen.resyncs, 0)
      } finally {
        await proxy.stop()
      }
    },
  )

  test.serial(
    `${name}: an overflowing queue drops keys, reports it, and makes receivers resync once`,
    async (t) => {
      const events: CacheErrorEvent[] = []
      const stop = onError((event) => events.push(event))
      const proxy = new TcpProxy(backend.options.url)
      await proxy.start()
      try {
        const { a, b } = await pair({ a: { url: proxy.url(backend.options.url), queueSize: 10 } })
        await proxy.stop()
        for (let i = 0; i < 25; i++) {
          a.bus.publish([`over:${i}`])
          await new Promise((resolve) => setImmediate(resolve))
        }
        const dropped = a.bus.stats().dropped
        t.true(dropped > 0)
        t.true(events.some((event) => event.kind === 'bus' && event.error.code === 'CACHEME_BUS_DROPPED'))
        await proxy.start()
        // What survived the last overflow still arrives, after the announcement.
        await until('B resynced', () => b.seen.resyncs >= 1, 30_000)
        await until('B got the survivors', () => b.seen.keys.length >= 25 - dropped, 30_000)
        a.bus.publish(['sentinel'])
        await until('B got the sentinel', () => b.seen.keys.includes('sentinel'))
        t.is(b.seen.resyncs, 1)
        t.is(b.seen.keys.length - 1, 25 - dropped)
        t.deepEqual(
          b.seen.keys.slice(0, -1),
          Array.from({ length: 25 - dropped }, (_, i) => `over:${dropped + i}`),
        )
      } finally {
        stop()
        await proxy.stop()
      }
    },
  )
}
