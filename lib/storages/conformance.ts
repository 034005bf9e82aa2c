// The behaviour every remote storage must share, as plain async functions that throw on failure
// (node:assert), so that any test runner can run them: the built-in backends' tests register them
// with AVA, and a user checks an adapter of their own with runStorageConformance (or registers
// storageConformance's tests with their runner). Each test works on keys, and where it matters a
// namespace, of its own, so the tests may run concurrently.

import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { InvalidArgumentError, StorageError } from '../errors'
import {
  CompressedJSONSerializer,
  CompressedMsgPackSerializer,
  CompressedV8Serializer,
  JSONSerializer,
  MsgPackSerializer,
  type Serializer,
  V8Serializer,
} from '../serializers'
import { checkRemoteStorage, type RemoteEntry, type RemoteStorage } from './remote'

export interface ConformanceTarget {
  /** Leads every test title: "postgresql", "memcached", … */
  readonly name: string
  /**
   * Opens an adapter. `namespace` is a table or collection name (ignore it if the backend has none);
   * `options.poolSize` asks for that many connections (ignore it if the backend has no pool). After
   * one adapter closes, another opened on the same namespace must see its data, as a shared cache
   * would: an in-memory adapter keeps its entries outside the adapter object.
   */
  open(namespace: string, options: { readonly poolSize?: number | undefined }): Promise<RemoteStorage>
  /** Which name the backend validates, if any: bad names must then be refused with InvalidArgumentError. */
  readonly namespace?: 'table' | 'collection' | undefined
  /** The backend expires entries itself and has no cleanupExpired; otherwise that is tested too. */
  readonly nativeExpiry?: boolean | undefined
  /** The maxKeyLength the adapter must report, if it must be a particular one. */
  readonly maxKeyLength?: number | undefined
  /**
   * The adapter throws cacheme's own errors: StorageError CACHEME_CLOSED for a call after close, as
   * the built-in ones do. Others need not: the framework turns whatever an adapter throws into a
   * StorageError, and calls nothing after close.
   */
  readonly cachemeErrors?: boolean | undefined
  /** Leads every key the tests write (default `cacheme-conformance:<random>:`), to find them later. */
  readonly keyPrefix?: string | undefined
}

export interface ConformanceTest {
  readonly title: string
  /** Resolves when the test passes; rejects with an AssertionError (or the adapter's error) when not. */
  run(): Promise<void>
}

export interface ConformanceSuite {
  readonly tests: readonly ConformanceTest[]
  /** Closes every adapter the tests opened. */
  close(): Promise<void>
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const buf = (text: string) => Buffer.from(text)

/** The keys of the 100-key batch test under `prefix`: they fall into many Redis Cluster hash slots. */
export function batchKeys(prefix: string): string[] {
  return Array.from({ length: 100 }, (_, i) => `${prefix}batch:${i}`)
}

/** Sparse arrays (an adapter may leave misses as holes) compare like arrays of undefined. */
function sameValues(actual: readonly (Buffer | undefined)[], expected: readonly (Buffer | undefined)[]) {
  assert.deepStrictEqual(Array.from(actual), expected)
}

/** One setMany of `keys` (values `${label}${i}`), then one getMany must read back exactly those. */
async function writeAndReadBack(
  s: RemoteStorage,
  keys: readonly string[],
  label: string,
  ttlMs: number | null,
) {
  await s.setMany(
    keys.map((key, i): RemoteEntry => [key, buf(`${label}${i}`)]),
    ttlMs,
  )
  sameValues(
    await s.getMany(keys),
    keys.map((_, i) => buf(`${label}${i}`)),
  )
}

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

const BAD_NAMES = ['', '1table', 'bad-name', 'x; DROP TABLE y', 'a b', 'tbl$', '"quoted"', 'a.b.c', 'é']

/** The conformance tests for `target`, to register with a test runner; call `close()` after them. */
export function storageConformance(target: ConformanceTarget): ConformanceSuite {
  const name = target.name
  const run = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`
  const base = target.keyPrefix ?? `cacheme-conformance:${run}:`
  let prefixes = 0
  let names = 0
  /** A key prefix no other test uses. */
  const keyPrefix = () => `${base}${++prefixes}:`
  /** A namespace no other test (or run) uses. */
  const freshName = (label = 't') => `cm_${run}_${label}${++names}`
  const opened: RemoteStorage[] = []
  const open = async (namespace = freshName(), options: { poolSize?: number } = {}) => {
    const storage = await target.open(namespace, options)
    opened.push(storage)
    return storage
  }
  let shared: Promise<RemoteStorage> | undefined
  /** One adapter for the tests that need nothing of their own. */
  const storage = () => {
    shared ??= open()
    return shared
  }
  const tests: ConformanceTest[] = []
  const test = (title: string, body: () => Promise<void>) =>
    tests.push({ title: `${name}: ${title}`, run: body })

  test("the adapter passes registerStorage's checks", async () => {
    const s = await storage()
    checkRemoteStorage(s)
    if (target.maxKeyLength !== undefined) assert.equal(s.maxKeyLength, target.maxKeyLength)
  })

  test('get misses, set stores the bytes, a second set replaces them, remove deletes', async () => {
    const s = await storage()
    const key = `${keyPrefix()}one`
    assert.equal(await s.get(key), undefined)
    await s.set(key, buf('first'), null)
    const first = await s.get(key)
    assert.ok(Buffer.isBuffer(first), 'get returns a Buffer')
    assert.deepStrictEqual(first, buf('first'))
    await s.set(key, buf('second'), 60_000)
    assert.deepStrictEqual(await s.get(key), buf('second'))
    await s.remove(key)
    assert.equal(await s.get(key), undefined)
    await s.remove(key)
  })

  test('an entry past its TTL is a miss for get and getMany; others stay', async () => {
    const s = await storage()
    const p = keyPrefix()
    // 3 s: the first read must come back before the entry expires, even from a slow server on a
    // loaded host.
    await s.set(`${p}short`, buf('short'), 3000)
    await s.setMany([[`${p}short-batch`, buf('short batch')]], 3000)
    await s.set(`${p}forever`, buf('forever'), null)
    await s.set(`${p}long`, buf('long'), 60_000)
    assert.deepStrictEqual(await s.get(`${p}short`), buf('short'))
    await sleep(3500)
    assert.equal(await s.get(`${p}short`), undefined)
    sameValues(await s.getMany([`${p}short`, `${p}short-batch`, `${p}forever`, `${p}long`]), [
      undefined,
      undefined,
      buf('forever'),
      buf('long'),
    ])
    // A new write brings an expired key back.
    await s.set(`${p}short`, buf('again'), null)
    assert.deepStrictEqual(await s.get(`${p}short`), buf('again'))
  })

  test('getMany/setMany of 100 keys over many cluster slots keep order and mark misses', async () => {
    const s = await storage()
    const p = keyPrefix()
    const keys = batchKeys(p)
    await s.setMany(
      keys.map((key, i): RemoteEntry => [key, buf(`value ${i}`)]),
      null,
    )
    const asked = keys.flatMap((key, i) => [key, `${p}missing:${i}`])
    const values = await s.getMany(asked)
    assert.equal(values.length, 200)
    sameValues(
      values,
      asked.map((_, i) => (i % 2 === 1 ? undefined : buf(`value ${i / 2}`))),
    )
    sameValues(
      await s.getMany([...keys].reverse()),
      keys.map((_, i) => buf(`value ${99 - i}`)),
    )
    await writeAndReadBack(s, keys, 'updated ', 60_000)
    sameValues(await s.getMany([]), [])
    await s.setMany([], null)
  })

  test('a batch naming a key twice: the later entry wins, a repeated read fills both places', async () => {
    const s = await storage()
    const key = `${keyPrefix()}twice`
    await s.setMany(
      [
        [key, buf('earlier')],
        [key, buf('later')],
      ],
      null,
    )
    sameValues(await s.getMany([key, key]), [buf('later'), buf('later')])
  })

  test('keys up to maxKeyLength (512 at most here), non-ASCII, and keys differing only in case or spaces stay distinct', async () => {
    const s = await storage()
    const p = keyPrefix()
    const longest = Math.min(s.maxKeyLength, 512)
    const head = `${p}ключ:键:é€😀:`
    const longA = (head + 'ü中a'.repeat(200)).slice(0, longest)
    const longB = `${longA.slice(0, longest - 1)}b`
    assert.equal(longA.length, longest)
    const keys = [longA, longB, `${p}Key`, `${p}key`, `${p}key `, `${p}kéy`, `${p}ke y`, `${p}😀`]
    await Promise.all(keys.map((key, i) => s.set(key, buf(`v${i}`), null)))
    for (const [i, key] of keys.entries()) assert.deepStrictEqual(await s.get(key), buf(`v${i}`), `key ${i}`)
    await writeAndReadBack(s, keys, 'w', 60_000)
  })

  test('values from every serializer, an empty value and 256 KiB of random bytes round-trip exactly', async () => {
    const s = await storage()
    const p = keyPrefix()
    for (const [label, serializer] of SERIALIZERS) {
      const value = label.includes('V8') ? RICH_VALUE : PLAIN_VALUE
      const bytes = serializer.dumps(value)
      await s.set(`${p}${label}`, bytes, 60_000)
      const stored = await s.get(`${p}${label}`)
      assert.ok(stored?.equals(bytes), label)
      assert.deepStrictEqual(serializer.loads(stored as Buffer), value, label)
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
    assert.equal(empty?.length, 0, 'an empty value is stored, not a miss')
    assert.ok(back?.equals(random))
  })

  test('concurrent writers of one key all succeed and one of them wins; a later write replaces it', async () => {
    const s = await storage()
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
    assert.ok(
      values.some((value) => value.equals(winner as Buffer)),
      'the stored value is one of the writes',
    )
    await s.set(key, buf('last'), null)
    assert.deepStrictEqual(await s.get(key), buf('last'))
  })

  test('poolSize 1 still serves 200 concurrent calls', async () => {
    const s = await open(freshName('pool'), { poolSize: 1 })
    const p = keyPrefix()
    await Promise.all(Array.from({ length: 100 }, (_, i) => s.set(`${p}${i}`, buf(`${i}`), 60_000)))
    const values = await Promise.all(Array.from({ length: 100 }, (_, i) => s.get(`${p}${i}`)))
    sameValues(
      values,
      values.map((_, i) => buf(`${i}`)),
    )
  })

  test('close releases the storage, closing twice is fine, data stays for the next adapter', async () => {
    const namespace = freshName('close')
    const s = await open(namespace)
    const key = `${keyPrefix()}kept`
    await s.set(key, buf('kept'), null)
    await s.close()
    await s.close()
    const late = s.get(key)
    if (target.cachemeErrors) {
      await assert.rejects(late, (error: unknown) => {
        assert.ok(error instanceof StorageError, 'a StorageError')
        assert.equal(error.code, 'CACHEME_CLOSED')
        return true
      })
    } else {
      // The framework calls nothing after close; a call may fail or answer, but must settle.
      await late.catch(() => undefined)
    }
    const again = await open(namespace)
    assert.deepStrictEqual(await again.get(key), buf('kept'))
  })

  if (target.namespace !== undefined) {
    const kind = target.namespace
    test(`invalid ${kind} names are refused with InvalidArgumentError before anything runs`, async () => {
      for (const bad of BAD_NAMES) {
        await assert.rejects(
          target.open(bad, {}).then(async (s) => {
            await s.close()
            return s
          }),
          (error: unknown) =>
            error instanceof InvalidArgumentError && error.code === 'CACHEME_INVALID_ARGUMENT',
          JSON.stringify(bad),
        )
      }
    })
  }

  if (!target.nativeExpiry) {
    test('cleanupExpired deletes expired entries in bounded batches and reports the count', async () => {
      const s = await open(freshName('cleanup'))
      const p = keyPrefix()
      const entries = (label: string, n: number) =>
        Array.from({ length: n }, (_, i): RemoteEntry => [`${p}${label}:${i}`, buf(label)])
      await s.setMany(entries('expiring', 5), 200)
      await s.setMany(entries('forever', 3), null)
      await s.setMany(entries('later', 2), 60_000)
      await sleep(700)
      assert.equal(typeof s.cleanupExpired, 'function', 'the adapter has cleanupExpired')
      const cleanup = (limit: number) =>
        (s.cleanupExpired as (limit: number) => Promise<number>).call(s, limit)
      assert.equal(await cleanup(2), 2)
      assert.equal(await cleanup(100), 3)
      assert.equal(await cleanup(100), 0)
      const kept = await s.getMany(
        [...entries('forever', 3), ...entries('later', 2)].map((entry) => entry[0]),
      )
      assert.ok(kept.every((value) => value !== undefined))
    })
  }

  return {
    tests,
    close: async () => {
      await Promise.allSettled(opened.map((s) => s.close()))
    },
  }
}

/**
 * Runs every conformance test against `target` (concurrently, as they allow), closes what they
 * opened, and rejects with one AggregateError listing every failed test; resolves with the titles
 * of the tests that ran.
 */
export async function runStorageConformance(target: ConformanceTarget): Promise<string[]> {
  const suite = storageConformance(target)
  try {
    const results = await Promise.allSettled(suite.tests.map((test) => test.run()))
    const failed = suite.tests.flatMap((test, i) => {
      const result = results[i] as PromiseSettledResult<void>
      return result.status === 'rejected' ? [{ title: test.title, error: result.reason as unknown }] : []
    })
    if (failed.length > 0) {
      const details = failed.map(
        ({ title, error }) => `- ${title}: ${error instanceof Error ? error.message : String(error)}`,
      )
      throw new AggregateError(
        failed.map(({ error }) => error),
        `${failed.length} of ${suite.tests.length} conformance tests failed:\n${details.join('\n')}`,
      )
    }
    return suite.tests.map((test) => test.title)
  } finally {
    await suite.close()
  }
}
