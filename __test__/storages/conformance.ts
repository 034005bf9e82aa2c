// The behaviour every remote storage must share, registered once per backend by its test file.
// Each test works on keys (and, where it matters, a table) of its own, so AVA may run them at once.

import { randomBytes } from 'node:crypto'
import { createRequire } from 'node:module'
import test from 'ava'
import { InvalidArgumentError, StorageError } from '../../lib/errors'
import {
  CompressedJSONSerializer,
  CompressedMsgPackSerializer,
  CompressedV8Serializer,
  JSONSerializer,
  MsgPackSerializer,
  type Serializer,
  V8Serializer,
} from '../../lib/serializers'
import type { RemoteEntry, RemoteStorage } from '../../lib/storages/remote'
import { freshName, RUN } from './servers'

export interface ConformanceTarget {
  /** Leads every test title: "postgresql", "redis cluster", … */
  readonly name: string
  /** Opens a storage on `table` (table or collection; Redis has neither and ignores it). */
  open(table: string, options?: { poolSize?: number }): Promise<RemoteStorage>
  /** The name the backend validates, or undefined when it has none (Redis). */
  readonly namespace?: 'table' | 'collection' | undefined
  /** The server expires entries itself (Redis): there is no cleanupExpired to test. */
  readonly nativeExpiry?: boolean | undefined
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Redis Cluster's hash slot of a key, as ioredis computes it. */
export const keySlot = createRequire(require.resolve('ioredis'))('cluster-key-slot') as (
  key: string,
) => number

let prefixes = 0
/** A key prefix no other test, file or run uses. */
export function keyPrefix(): string {
  prefixes += 1
  return `cacheme-test:${RUN}:${prefixes}:`
}

const buf = (text: string) => Buffer.from(text)

const SERIALIZERS: readonly (readonly [string, Serializer])[] = [
  ['JSONSerializer', new JSONSerializer()],
  ['MsgPackSerializer', new MsgPackSerializer()],
  ['V8Serializer', new V8Serializer()],
  ['CompressedJSONSerializer', new CompressedJSONSerializer()],
  ['CompressedMsgPackSerializer', new CompressedMsgPackSerializer()],
  ['CompressedV8Serializer', new CompressedV8Serializer()],
]

const PLAIN_VALUE = {
  id: 7,
  name: 'Zoë ✓',
  tags: ['a', 'b'],
  nested: { none: null, ratio: 1.5 },
  text: 'x'.repeat(2000),
}
const RICH_VALUE = new Map<string, unknown>([
  ['date', new Date(0)],
  ['big', 10n ** 20n],
  ['set', new Set([1, 2, 3])],
  ['bytes', new Uint8Array([0, 255, 1])],
])

export function conformance(target: ConformanceTarget): void {
  const name = target.name
  const opened: RemoteStorage[] = []
  let shared: RemoteStorage | undefined

  const open = async (table = freshName(), options: { poolSize?: number } = {}) => {
    const storage = await target.open(table, options)
    opened.push(storage)
    return storage
  }
  const storage = (): RemoteStorage => {
    if (shared === undefined) throw new Error(`${name}: the shared storage did not open`)
    return shared
  }

  test.before(async () => {
    shared = await open()
  })

  test.after.always(async () => {
    await Promise.allSettled(opened.map((s) => s.close()))
  })

  test(`${name}: get misses, set stores the bytes, a second set replaces them, remove deletes`, async (t) => {
    const s = storage()
    const key = `${keyPrefix()}one`
    t.is(await s.get(key), undefined)
    await s.set(key, buf('first'), null)
    const first = await s.get(key)
    t.true(Buffer.isBuffer(first))
    t.deepEqual(first, buf('first'))
    await s.set(key, buf('second'), 60_000)
    t.deepEqual(await s.get(key), buf('second'))
    await s.remove(key)
    t.is(await s.get(key), undefined)
    await t.notThrowsAsync(s.remove(key))
  })

  test(`${name}: an entry past its TTL is a miss for get and getMany; others stay`, async (t) => {
    const s = storage()
    const p = keyPrefix()
    // 3 s: the first read must come back before the entry expires, and FerretDB on a loaded 2-core
    // host once took over 1 s to answer it.
    await s.set(`${p}short`, buf('short'), 3000)
    await s.setMany([[`${p}short-batch`, buf('short batch')]], 3000)
    await s.set(`${p}forever`, buf('forever'), null)
    await s.set(`${p}long`, buf('long'), 60_000)
    t.deepEqual(await s.get(`${p}short`), buf('short'))
    await sleep(3500)
    t.is(await s.get(`${p}short`), undefined)
    t.deepEqual(await s.getMany([`${p}short`, `${p}short-batch`, `${p}forever`, `${p}long`]), [
      undefined,
      undefined,
      buf('forever'),
      buf('long'),
    ])
    // A new write brings an expired key back.
    await s.set(`${p}short`, buf('again'), null)
    t.deepEqual(await s.get(`${p}short`), buf('again'))
  })

  test(`${name}: getMany/setMany of 100 keys over many cluster slots keep order and mark misses`, async (t) => {
    const s = storage()
    const p = keyPrefix()
    const keys = Array.from({ length: 100 }, (_, i) => `${p}batch:${i}`)
    t.true(new Set(keys.map(keySlot)).size >= 50, 'the keys spread over many hash slots')
    await s.setMany(
      keys.map((key, i): RemoteEntry => [key, buf(`value ${i}`)]),
      null,
    )
    const asked = keys.flatMap((key, i) => [key, `${p}missing:${i}`])
    const values = await s.getMany(asked)
    t.is(values.length, 200)
    values.forEach((value, i) => {
      if (i % 2 === 1) t.is(value, undefined)
      else t.deepEqual(value, buf(`value ${i / 2}`))
    })
    const reversed = await s.getMany([...keys].reverse())
    t.deepEqual(
      reversed,
      keys.map((_, i) => buf(`value ${99 - i}`)),
    )
    await s.setMany(
      keys.map((key, i): RemoteEntry => [key, buf(`updated ${i}`)]),
      60_000,
    )
    t.deepEqual(
      await s.getMany(keys),
      keys.map((_, i) => buf(`updated ${i}`)),
    )
    if (s.removeMany !== undefined) {
      await s.removeMany(keys.slice(0, 50))
      const after = await s.getMany(keys)
      t.true(after.slice(0, 50).every((value) => value === undefined))
      t.true(after.slice(50).every((value) => value !== undefined))
    }
    t.deepEqual(await s.getMany([]), [])
    await t.notThrowsAsync(s.setMany([], null))
  })

  test(`${name}: a batch naming a key twice: the later entry wins, a repeated read fills both places`, async (t) => {
    const s = storage()
    const key = `${keyPrefix()}twice`
    await s.setMany(
      [
        [key, buf('earlier')],
        [key, buf('later')],
      ],
      null,
    )
    t.deepEqual(await s.getMany([key, key]), [buf('later'), buf('later')])
  })

  test(`${name}: keys of 512 characters, non-ASCII, and keys differing only in case or spaces stay distinct`, async (t) => {
    const s = storage()
    t.is(s.maxKeyLength, 512)
    const p = keyPrefix()
    const head = `${p}ключ:键:é€😀:`
    const longA = (head + 'ü中a'.repeat(200)).slice(0, 512)
    const longB = `${longA.slice(0, 511)}b`
    t.is(longA.length, 512)
    const keys = [longA, longB, `${p}Key`, `${p}key`, `${p}key `, `${p}kéy`, `${p}ke y`, `${p}😀`]
    await Promise.all(keys.map((key, i) => s.set(key, buf(`v${i}`), null)))
    for (const [i, key] of keys.entries()) t.deepEqual(await s.get(key), buf(`v${i}`), `key ${i}`)
    await s.setMany(
      keys.map((key, i): RemoteEntry => [key, buf(`w${i}`)]),
      60_000,
    )
    t.deepEqual(
      await s.getMany(keys),
      keys.map((_, i) => buf(`w${i}`)),
    )
  })

  test(`${name}: values from every serializer, an empty value and 256 KiB of random bytes round-trip exactly`, async (t) => {
    const s = storage()
    const p = keyPrefix()
    for (const [label, serializer] of SERIALIZERS) {
      const value = label.includes('V8') ? RICH_VALUE : PLAIN_VALUE
      const bytes = serializer.dumps(value)
      await s.set(`${p}${label}`, bytes, 60_000)
      const stored = await s.get(`${p}${label}`)
      t.true(stored?.equals(bytes), label)
      t.deepEqual(serializer.loads(stored as Buffer), value, label)
    }
    const random = randomBytes(256 * 1024)
    await s.setMany(
      [
        [`${p}empty`, Buffer.alloc(0)],
        [`${p}random`, random],
      ],
      null,
    )
    const [empty, back] = await s.getMany([`${p}empty`, `${p}random`])
    t.is(empty?.length, 0)
    t.true(back?.equals(random))
  })

  test(`${name}: concurrent writers of one key all succeed and one of them wins; a later write replaces it`, async (t) => {
    const s = storage()
    const p = keyPrefix()
    const key = `${p}contended`
    const values = Array.from({ length: 40 }, (_, i) => buf(`writer ${i}`))
    await Promise.all(
      values.map((value, i) =>
        i % 2 === 0
          ? s.set(key, value, 60_000)
          : s.setMany(
              [
                [`${p}other:${i}`, value],
                [key, value],
              ],
              null,
            ),
      ),
    )
    const winner = await s.get(key)
    t.true(
      values.some((value) => value.equals(winner as Buffer)),
      'the stored value is one of the writes',
    )
    await s.set(key, buf('last'), null)
    t.deepEqual(await s.get(key), buf('last'))
  })

  test(`${name}: poolSize 1 still serves 200 concurrent calls`, async (t) => {
    const s = await open(freshName('pool'), { poolSize: 1 })
    const p = keyPrefix()
    await Promise.all(Array.from({ length: 100 }, (_, i) => s.set(`${p}${i}`, buf(`${i}`), 60_000)))
    const values = await Promise.all(Array.from({ length: 100 }, (_, i) => s.get(`${p}${i}`)))
    t.deepEqual(
      values,
      values.map((_, i) => buf(`${i}`)),
    )
  })

  test(`${name}: close releases the storage, later calls fail as closed, closing twice is fine, data stays`, async (t) => {
    const table = freshName('close')
    const s = await open(table)
    const key = `${keyPrefix()}kept`
    await s.set(key, buf('kept'), null)
    await s.close()
    await t.notThrowsAsync(s.close())
    const error = await t.throwsAsync(s.get(key), { instanceOf: StorageError })
    t.is(error?.code, 'CACHEME_CLOSED')
    const again = await open(table)
    t.deepEqual(await again.get(key), buf('kept'))
  })

  if (target.namespace !== undefined) {
    const kind = target.namespace
    test(`${name}: invalid ${kind} names are refused with InvalidArgumentError before anything runs`, async (t) => {
      for (const bad of [
        '',
        '1table',
        'bad-name',
        'x; DROP TABLE y',
        'a b',
        'tbl$',
        '"quoted"',
        'a.b.c',
        'é',
      ]) {
        const error = await t.throwsAsync(
          target.open(bad).then(async (s) => {
            await s.close()
            return s
          }),
          { instanceOf: InvalidArgumentError },
          JSON.stringify(bad),
        )
        t.is(error?.code, 'CACHEME_INVALID_ARGUMENT')
      }
    })
  }

  if (!target.nativeExpiry) {
    test(`${name}: cleanupExpired deletes expired entries in bounded batches and reports the count`, async (t) => {
      const s = await open(freshName('cleanup'))
      const p = keyPrefix()
      const entries = (label: string, n: number) =>
        Array.from({ length: n }, (_, i): RemoteEntry => [`${p}${label}:${i}`, buf(label)])
      await s.setMany(entries('expiring', 5), 200)
      await s.setMany(entries('forever', 3), null)
      await s.setMany(entries('later', 2), 60_000)
      await sleep(700)
      t.is(typeof s.cleanupExpired, 'function')
      const cleanup = (limit: number) => (s.cleanupExpired as (limit: number) => Promise<number>)(limit)
      t.is(await cleanup(2), 2)
      t.is(await cleanup(100), 3)
      t.is(await cleanup(100), 0)
      const kept = await s.getMany(
        [...entries('forever', 3), ...entries('later', 2)].map((entry) => entry[0]),
      )
      t.true(kept.every((value) => value !== undefined))
    })
  }
}
