// The wire format (lib/bus/message.ts) and the options Bus refuses, with no server.

import { spawnSync } from 'node:child_process'
import test from 'ava'
import { Bus } from '../../lib/bus/bus'
import { decode, encodeKey, keysMessage, lostMessage, sentBy } from '../../lib/bus/message'
import { InvalidArgumentError } from '../../lib/errors'

const SENDER = '00112233445566ff'

test('a keys message is printable ASCII and decodes to the same keys, whatever characters they hold', (t) => {
  const keys = ['plain', 'ünï:键:😀', 'ctl\0\n\t\u007f', 'lone\udfff', '"\\']
  const message = keysMessage(SENDER, keys.map(encodeKey))
  t.regex(message, /^[\x20-\x7e]+$/)
  t.deepEqual(decode(message, 65536), { sender: SENDER, keys })
  t.deepEqual(decode(Buffer.from(message, 'latin1'), 65536), { sender: SENDER, keys })
})

test('the lost announcement decodes with no keys', (t) => {
  t.deepEqual(decode(lostMessage(SENDER), 100), { sender: SENDER, keys: undefined })
})

test('a process recognises its own messages from the header alone, as text or bytes', (t) => {
  const own = 'a1b2c3d4e5f60718'
  const message = keysMessage(own, [encodeKey('cacheme:k:1:v1')])
  t.true(sentBy(message, own))
  t.true(sentBy(Buffer.from(message, 'latin1'), own))
  t.true(sentBy(lostMessage(own), own))
  t.false(sentBy(keysMessage('0000000000000000', [encodeKey('k')]), own))
  t.false(sentBy(`cmb1 ${own}`, own), 'a header cut short is not a message')
  t.false(sentBy('garbage', own))
})

test('a message longer than the bound is refused before parsing', (t) => {
  const message = keysMessage(SENDER, [encodeKey('x'.repeat(100))])
  t.truthy(decode(message, message.length))
  t.is(decode(message, message.length - 1), undefined)
})

test('new Bus names the option it refuses', (t) => {
  const refused = (options: unknown, pattern: RegExp) => {
    const error = t.throws(() => new Bus(options as ConstructorParameters<typeof Bus>[0]), {
      instanceOf: InvalidArgumentError,
    })
    t.regex(error?.message ?? '', pattern)
  }
  refused(undefined, /url/)
  refused({ url: 'memcached://x' }, /url/)
  refused({ url: 'redis://x', cluster: 'yes' }, /cluster/)
  refused({ url: 'postgresql://x', cluster: true }, /cluster/)
  refused({ url: 'redis://x', channel: '' }, /channel/)
  refused({ url: 'redis://x', queueSize: 0 }, /queueSize/)
  refused({ url: 'redis://x', queueSize: 1.5 }, /queueSize/)
  refused({ url: 'redis://x', qeueSize: 10 }, /qeueSize/)
  t.notThrows(() => new Bus({ url: 'rediss://x', cluster: true, channel: 'c', queueSize: 5 }))
})

test('loading the bus and constructing one loads no database driver', (t) => {
  const script = `
    const { Bus } = require(${JSON.stringify(require.resolve('../../lib/bus/bus'))})
    new Bus({ url: 'redis://127.0.0.1:1' }); new Bus({ url: 'postgresql://127.0.0.1:1/x' })
    const loaded = Object.keys(require.cache).filter((path) => /node_modules[\\\\/](ioredis|pg)[\\\\/]/.test(path))
    process.stdout.write(JSON.stringify(loaded))`
  const result = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20_000 })
  t.is(result.status, 0, result.stderr)
  t.deepEqual(JSON.parse(result.stdout), [])
})
