// Tiers: fill-back, expiry, batch reads, the doorkeeper, metrics and absorbed decode errors.

import test from 'ava'
import {
  BloomFilter,
  Cache,
  type CacheErrorEvent,
  get,
  getAll,
  invalidate,
  JSONSerializer,
  Node,
  onError,
  type RemoteStorage,
  refresh,
  SerializationError,
  stats,
} from '../../lib'
import { localAndSqlite, sleep } from './helpers'

const { local, sql } = localAndSqlite('tiers.db')
const events: CacheErrorEvent[] = []

test.before(() => {
  onError((event) => events.push(event))
})

const adapter = (): RemoteStorage => sql.adapter as RemoteStorage
const upper = new Cache({ storage: 'local', ttl: null })
const lower = new Cache({ storage: 'sql', ttl: null })

/** Three classes sharing stored keys: both tiers, the upper only, the lower only. */
function views(name: string) {
  const loads = { both: 0, upper: 0, lower: 0 }
  const make = (which: keyof typeof loads, caches: Cache[]) =>
    class extends Node<string> {
      static meta = { version: 'v1', caches }
      constructor(readonly id: number) {
        super()
      }
      key() {
        return `${name}:${this.id}`
      }
      async load() {
        loads[which]++
        return `${which} loaded ${this.id}`
      }
    }
  return {
    Both: make('both', [upper, lower]),
    Upper: make('upper', [upper]),
    Lower: make('lower', [lower]),
    loads,
  }
}

test('a hit in the lower tier is filled back into the upper tier', async (t) => {
  const { Both, Upper, Lower, loads } = views('fill')
  t.is(await get(new Lower(1)), 'lower loaded 1', 'the row now exists in SQLite only')
  t.false(local.local?.has('cacheme:fill:1:v1'))
  t.is(await get(new Both(1)), 'lower loaded 1', 'read from SQLite, no load')
  t.is(loads.both, 0)
  t.is(await get(new Upper(1)), 'lower loaded 1', 'the upper tier alone now has the filled value')
  t.is(loads.upper, 0)
})

test('a load writes every tier: a class reading only the lower tier sees the row', async (t) => {
  const { Both, Upper, Lower, loads } = views('write')
  t.is(await get(new Both(1)), 'both loaded 1')
  t.is(await get(new Lower(1)), 'both loaded 1')
  t.is(await get(new Upper(1)), 'both loaded 1')
  t.deepEqual(loads, { both: 1, upper: 0, lower: 0 })
})

test('getAll fills back too, one batch per tier', async (t) => {
  const { Both, Upper, Lower } = views('fillall')
  await getAll([new Lower(1), new Lower(2)])
  t.deepEqual(await getAll([new Both(1), new Both(2), new Both(3)]), [
    'lower loaded 1',
    'lower loaded 2',
    'both loaded 3',
  ])
  t.deepEqual(await getAll([new Upper(1), new Upper(2), new Upper(3)]), [
    'lower loaded 1',
    'lower loaded 2',
    'both loaded 3',
  ])
})

/** Counts the adapter calls made while `work` runs. */
async function countCalls(work: () => Promise<unknown>) {
  const target = adapter() as unknown as Record<string, (...args: unknown[]) => unknown>
  const counts: Record<string, number> = {}
  const originals: Record<string, (...args: unknown[]) => unknown> = {}
  for (const method of ['get', 'getMany', 'set', 'setMany', 'remove', 'removeMany']) {
    const original = target[method] as (...args: unknown[]) => unknown
    originals[method] = original
    counts[method] = 0
    target[method] = function (this: unknown, ...args: unknown[]) {
      counts[method] = (counts[method] ?? 0) + 1
      return original.apply(this, args)
    }
  }
  try {
    await work()
  } finally {
    for (const method of Object.keys(originals)) delete target[method]
  }
  return counts
}

test.serial('getAll reads each tier once and writes back in one batch', async (t) => {
  const { Both, Lower } = views('batch')
  await getAll([new Lower(1), new Lower(2)]) // rows 1, 2 in SQLite only
  await get(new Both(3)) // 3 in both tiers
  const ids = [1, 2, 3, 4, 5, 6, 4]
  let result: string[] = []
  const counts = await countCalls(async () => {
    result = await getAll(ids.map((id) => new Both(id)))
  })
  t.deepEqual(result, [
    'lower loaded 1',
    'lower loaded 2',
    'both loaded 3',
    'both loaded 4',
    'both loaded 5',
    'both loaded 6',
    'both loaded 4',
  ])
  t.deepEqual(counts, { get: 0, getMany: 1, set: 0, setMany: 1, remove: 0, removeMany: 0 })
  const rows = await adapter().getMany(['cacheme:batch:4:v1', 'cacheme:batch:5:v1', 'cacheme:batch:6:v1'])
  t.true(rows.every((row) => row !== undefined))
})

test('local entries expire after their ttl', async (t) => {
  let loads = 0
  class ShortLocal extends Node<number> {
    static meta = { version: 'v1', caches: [new Cache({ storage: 'local', ttl: 400 })] }
    key() {
      return 'short-local'
    }
    async load() {
      return ++loads
    }
  }
  t.is(await get(new ShortLocal()), 1)
  t.is(await get(new ShortLocal()), 1)
  await sleep(600)
  t.is(await get(new ShortLocal()), 2)
})

test('SQLite rows expire after their ttl and are reclaimed by cleanupExpired', async (t) => {
  let loads = 0
  class ShortSql extends Node<number> {
    static meta = { version: 'v1', caches: [new Cache({ storage: 'sql', ttl: 400 })] }
    constructor(readonly id: number) {
      super()
    }
    key() {
      return `short-sql:${this.id}`
    }
    async load() {
      return ++loads
    }
  }
  t.is(await get(new ShortSql(1)), 1)
  t.is(await get(new ShortSql(1)), 1)
  await getAll([new ShortSql(2), new ShortSql(3)])
  await sleep(600)
  t.is(await adapter().get('cacheme:short-sql:1:v1'), undefined, 'an expired row is a miss')
  t.deepEqual(await adapter().getMany(['cacheme:short-sql:2:v1']), [undefined])
  t.is(await get(new ShortSql(1)), 4)
  t.true((await sql.cleanupExpired(1000)) >= 2)
})

test('the doorkeeper caches a key only on its second load', async (t) => {
  let loads = 0
  class Guarded extends Node<number> {
    static meta = {
      version: 'v1',
      caches: [upper, lower],
      doorkeeper: new BloomFilter(1000, 0.01),
    }
    constructor(readonly id: number) {
      super()
    }
    key() {
      return `guarded:${this.id}`
    }
    async load() {
      return ++loads
    }
  }
  t.is(await get(new Guarded(1)), 1)
  t.false(local.local?.has('cacheme:guarded:1:v1'), 'first load: only marked in the filter')
  t.is(await adapter().get('cacheme:guarded:1:v1'), undefined)
  t.is(await get(new Guarded(1)), 2)
  t.true(local.local?.has('cacheme:guarded:1:v1'), 'second load: cached')
  t.is(await get(new Guarded(1)), 2)
  t.deepEqual(await getAll([new Guarded(2), new Guarded(3)]), [3, 4])
  t.deepEqual(await getAll([new Guarded(2), new Guarded(3)]), [5, 6])
  t.deepEqual(await getAll([new Guarded(2), new Guarded(3)]), [5, 6])
  t.is(loads, 6)
})

test('stats are exact after a scripted sequence', async (t) => {
  let fail = false
  class Counted extends Node<number> {
    static meta = { version: 'v1', caches: [upper, lower] }
    constructor(readonly id: number) {
      super()
    }
    key() {
      return `counted:${this.id}`
    }
    async load() {
      await sleep(2)
      if (fail) throw new Error('failing on purpose')
      return this.id
    }
  }
  await get(new Counted(1)) // miss + load 1
  await get(new Counted(1)) // local hit
  local.local?.delete('cacheme:counted:1:v1')
  await get(new Counted(1)) // SQLite hit, filled back
  await get(new Counted(1)) // local hit
  fail = true
  await t.throwsAsync(get(new Counted(2))) // miss + failed load
  fail = false
  await getAll([new Counted(1), new Counted(3), new Counted(3)]) // local hit, miss + load 2, repeat = hit
  await Promise.all([1, 2, 3, 4, 5].map(() => get(new Counted(4)))) // miss + load 3, 4 joined
  const s = stats(Counted)
  t.like(s, {
    requestCount: 13,
    hitCount: 9,
    missCount: 4,
    loadCount: 4,
    loadSuccessCount: 3,
    loadFailureCount: 1,
    hitsByCache: { local: 3, sql: 1 },
    coalescedHits: 5,
    inFlightCount: 0,
  })
  t.is(s.hitRate, 9 / 13)
  t.is(s.missRate, 4 / 13)
  t.is(s.loadFailureRate, 1 / 4)
  t.true(s.totalLoadTime >= 4 * 1e6, 'each load slept 2 ms: total in ns')
  t.is(s.averageLoadTime, s.totalLoadTime / 4)
})

test('stored bytes that do not decode are a miss plus a counted, reported error', async (t) => {
  let loads = 0
  class Strict extends Node<{ ok: boolean }> {
    static meta = { version: 'v1', caches: [lower], serializer: new JSONSerializer() }
    constructor(readonly id: number) {
      super()
    }
    key() {
      return `strict:${this.id}`
    }
    async load() {
      loads++
      return { ok: true }
    }
  }
  await adapter().set('cacheme:strict:1:v1', Buffer.from('{not json'), null)
  await adapter().set('cacheme:strict:2:v1', Buffer.from([0xff, 0x00]), null)
  t.deepEqual(await get(new Strict(1)), { ok: true })
  t.is(loads, 1, 'the corrupt payload was a miss')
  t.deepEqual(await get(new Strict(1)), { ok: true })
  t.is(loads, 1, 'the load replaced the corrupt row')
  t.deepEqual(await getAll([new Strict(2)]), [{ ok: true }])
  t.is(stats(Strict).decodeErrorCount, 2)
  const reported = events.filter((event) => event.node === 'Strict')
  t.deepEqual(
    reported.map((event) => [event.kind, event.storage, event.key]),
    [
      ['decode', 'sql', 'cacheme:strict:1:v1'],
      ['decode', 'sql', 'cacheme:strict:2:v1'],
    ],
  )
  t.true(reported[0]?.error instanceof SerializationError)
  t.is(reported[0]?.error.code, 'CACHEME_SERIALIZATION')
})

test('a value that cannot be encoded rejects with SerializationError and is cached nowhere', async (t) => {
  class Cyclic extends Node<object> {
    static meta = { version: 'v1', caches: [upper, lower], serializer: new JSONSerializer() }
    key() {
      return 'cyclic'
    }
    async load() {
      const value: { self?: object } = {}
      value.self = value
      return value
    }
  }
  const error = await t.throwsAsync(get(new Cyclic()), { instanceOf: SerializationError })
  t.is(error?.code, 'CACHEME_SERIALIZATION')
  t.false(local.local?.has('cacheme:cyclic:v1'))
  t.is(await adapter().get('cacheme:cyclic:v1'), undefined)
})

test.serial(
  'a failing remote storage slows reads but does not break them; refresh and invalidate surface it',
  async (t) => {
    let loads = 0
    class Resilient extends Node<number> {
      static meta = { version: 'v1', caches: [upper, lower] }
      key() {
        return 'resilient'
      }
      async load() {
        return ++loads
      }
    }
    const target = adapter() as unknown as Record<string, unknown>
    const down = () => Promise.reject(new Error('connection refused'))
    for (const method of ['get', 'getMany', 'set', 'setMany', 'remove']) target[method] = down
    try {
      t.is(await get(new Resilient()), 1, 'the read failed (a miss), the load worked, the write failed')
      t.deepEqual(await getAll([new Resilient()]), [1], 'answered by the local tier')
      local.local?.delete('cacheme:resilient:v1')
      t.deepEqual(await getAll([new Resilient()]), [2])
      await t.throwsAsync(refresh(new Resilient()), { message: 'connection refused' })
      await t.throwsAsync(invalidate(new Resilient()), { message: 'connection refused' })
    } finally {
      for (const method of ['get', 'getMany', 'set', 'setMany', 'remove']) delete target[method]
    }
    const metrics = stats(Resilient)
    t.is(metrics.storageErrorCount, 4, 'read + write of get, read + write of getAll')
    const kinds = events.filter((event) => event.node === 'Resilient').map((event) => event.kind)
    t.deepEqual(kinds, ['read', 'write', 'read', 'write'])
    t.true(
      events
        .filter((event) => event.node === 'Resilient')
        .every((event) => event.error.code === 'CACHEME_STORAGE'),
    )
  },
)
