// A storage of the user's own: a short in-memory adapter with TTLs passes the conformance suite, and
// through registerStorage it is a tier like any built-in one — fill-back, batch reads and writes,
// invalidate and refresh, timeouts and the circuit breaker, undecodable payloads, typed errors — while
// bad adapters are refused at registration with messages that say what is wrong.

import test from 'ava'
import {
  buildNode,
  Cache,
  type CacheErrorEvent,
  close,
  get,
  getAll,
  InvalidArgumentError,
  invalidate,
  Node,
  onError,
  type RemoteEntry,
  type RemoteStorage,
  refresh,
  registerStorage,
  runStorageConformance,
  Storage,
  StorageError,
  stats,
  storageConformance,
} from '../../lib'
import { deferred, emptyAdapter, unique } from './helpers'

interface Entry {
  readonly value: Buffer
  /** Date.now() past which the entry is gone; Infinity for none. */
  readonly expires: number
}

/** The user's adapter: entries in a Map (shared by every adapter opened on one namespace). */
class MapStorage implements RemoteStorage {
  readonly maxKeyLength = 1024
  readonly calls = { get: 0, getMany: 0, set: 0, setMany: 0, remove: 0 }
  readonly entries: Map<string, Entry>
  #closed = false

  constructor(entries = new Map<string, Entry>()) {
    this.entries = entries
  }

  async get(key: string): Promise<Buffer | undefined> {
    this.calls.get++
    return this.#read(key)
  }

  async getMany(keys: readonly string[]): Promise<(Buffer | undefined)[]> {
    this.calls.getMany++
    return keys.map((key) => this.#read(key))
  }

  async set(key: string, value: Buffer, ttlMs: number | null): Promise<void> {
    this.calls.set++
    this.#write(key, value, ttlMs)
  }

  async setMany(entries: readonly RemoteEntry[], ttlMs: number | null): Promise<void> {
    this.calls.setMany++
    for (const [key, value] of entries) this.#write(key, value, ttlMs)
  }

  async remove(key: string): Promise<void> {
    this.calls.remove++
    this.#open().delete(key)
  }

  async cleanupExpired(limit: number): Promise<number> {
    const now = Date.now()
    let deleted = 0
    for (const [key, entry] of this.#open()) {
      if (deleted === limit) break
      if (entry.expires <= now) {
        this.entries.delete(key)
        deleted++
      }
    }
    return deleted
  }

  async close(): Promise<void> {
    this.#closed = true
  }

  #read(key: string): Buffer | undefined {
    const entry = this.#open().get(key)
    return entry !== undefined && entry.expires > Date.now() ? entry.value : undefined
  }

  #write(key: string, value: Buffer, ttlMs: number | null): void {
    // A copy: the caller may reuse its buffer.
    this.#open().set(key, {
      value: Buffer.from(value),
      expires: ttlMs === null ? Infinity : Date.now() + ttlMs,
    })
  }

  #open(): Map<string, Entry> {
    if (this.#closed) throw new Error('map storage is closed')
    return this.entries
  }
}

// The conformance suite, registered test by test.
const namespaces = new Map<string, Map<string, Entry>>()
const openMap = async (namespace: string) => {
  let entries = namespaces.get(namespace)
  if (entries === undefined) {
    entries = new Map()
    namespaces.set(namespace, entries)
  }
  return new MapStorage(entries)
}
const suite = storageConformance({ name: 'map storage', open: openMap })
for (const conformance of suite.tests) {
  test(conformance.title, async (t) => {
    await conformance.run()
    t.pass()
  })
}

test('runStorageConformance resolves for a conforming adapter and lists what it ran', async (t) => {
  const titles = await runStorageConformance({ name: 'map again', open: openMap })
  t.true(titles.length >= 10)
  t.true(titles.every((title) => title.startsWith('map again: ')))
})

test('runStorageConformance rejects an adapter that ignores TTLs, naming the failed test', async (t) => {
  class Forever extends MapStorage {
    override set(key: string, value: Buffer): Promise<void> {
      return super.set(key, value, null)
    }
    override setMany(entries: readonly RemoteEntry[]): Promise<void> {
      return super.setMany(entries, null)
    }
  }
  const error = await t.throwsAsync(
    runStorageConformance({
      name: 'forever',
      open: async (namespace) => new Forever((await openMap(namespace)).entries),
      nativeExpiry: true,
    }),
    { instanceOf: AggregateError },
  )
  t.regex(error?.message ?? '', /forever: an entry past its TTL is a miss/)
  t.is(error?.errors.length, 1, 'only the TTL test failed')
})

// The framework over the adapter: a local tier in front of it.
const events: CacheErrorEvent[] = []
const stopListening = onError((event) => events.push(event))
const memory = new MapStorage()

test.before(async () => {
  await registerStorage('user-local', new Storage({ url: 'local://tlfu', size: 1000 }))
  await registerStorage('user-map', memory)
})

test.after.always(async () => {
  stopListening()
  await suite.close()
  await close()
})

const upper = new Cache({ storage: 'user-local', ttl: 60_000 })
const lower = new Cache({ storage: 'user-map', ttl: 60_000 })

/** Two node classes sharing stored keys: both tiers, and the map tier alone. */
function views(name: string) {
  const loads = { both: 0, lower: 0 }
  const make = (which: keyof typeof loads, caches: Cache[]) =>
    buildNode<[number], { id: number; by: string }>(`${name}-${which}`, {
      version: 'v1',
      caches,
      key: (id) => `${name}:${id}`,
      load: async (id) => {
        loads[which]++
        return { id, by: which }
      },
    })
  return { Both: make('both', [upper, lower]), Lower: make('lower', [lower]), loads }
}

const storedKey = (name: string, id: number) => `cacheme:${name}:${id}:v1`

test.serial('a miss loads once and writes both tiers; a map hit fills the local tier back', async (t) => {
  const { Both, Lower, loads } = views('fill')
  t.deepEqual(await Promise.all([get(new Both(1)), get(new Both(1))]), [
    { id: 1, by: 'both' },
    { id: 1, by: 'both' },
  ])
  t.is(loads.both, 1)
  t.true(memory.entries.has(storedKey('fill', 1)))
  await get(new Lower(2)) // stored in the map tier only
  const before = { ...memory.calls }
  t.deepEqual(await get(new Both(2)), { id: 2, by: 'lower' }, 'answered by the map tier')
  t.is(loads.both, 1)
  t.is(memory.calls.get, before.get + 1)
  t.deepEqual(await get(new Both(2)), { id: 2, by: 'lower' })
  t.is(memory.calls.get, before.get + 1, 'the second read is a local hit')
})

test.serial('getAll reads the map tier in one getMany and writes back in one setMany', async (t) => {
  const { Both, Lower, loads } = views('batch')
  await getAll([new Lower(1), new Lower(2)])
  const before = { ...memory.calls }
  const values = await getAll([1, 2, 3, 4, 3].map((id) => new Both(id)))
  t.deepEqual(
    values.map((value) => value.by),
    ['lower', 'lower', 'both', 'both', 'both'],
  )
  t.is(loads.both, 2)
  t.deepEqual(
    {
      get: memory.calls.get - before.get,
      getMany: memory.calls.getMany - before.getMany,
      set: memory.calls.set - before.set,
      setMany: memory.calls.setMany - before.setMany,
    },
    { get: 0, getMany: 1, set: 0, setMany: 1 },
  )
  t.true(memory.entries.has(storedKey('batch', 4)))
})

test.serial('invalidate removes the entry from both tiers; refresh writes both', async (t) => {
  const { Both, Lower, loads } = views('write')
  await get(new Both(1))
  await invalidate(new Both(1))
  t.false(memory.entries.has(storedKey('write', 1)))
  t.deepEqual(await get(new Lower(1)), { id: 1, by: 'lower' }, 'the map tier missed')
  await refresh(new Both(1))
  t.is(loads.both, 2)
  t.deepEqual(await get(new Lower(1)), { id: 1, by: 'both' }, 'refresh overwrote the map tier')
})

test.serial('bytes that do not decode are a miss counted in decodeErrorCount, then replaced', async (t) => {
  const { Both, loads } = views('corrupt')
  memory.entries.set(storedKey('corrupt', 1), {
    value: Buffer.from('garbage, not msgpack'),
    expires: Infinity,
  })
  t.deepEqual(await get(new Both(1)), { id: 1, by: 'both' })
  t.is(loads.both, 1)
  t.is(stats(Both).decodeErrorCount, 1)
  t.true(events.some((event) => event.kind === 'decode' && event.storage === 'user-map'))
  t.not(memory.entries.get(storedKey('corrupt', 1))?.value.toString(), 'garbage, not msgpack')
})

test.serial(
  'an adapter that never answers times out: reads are misses counted in storageErrorCount',
  async (t) => {
    const never = deferred<never>()
    class Hanging extends MapStorage {
      override get(): Promise<Buffer | undefined> {
        return never.promise
      }
      override getMany(): Promise<(Buffer | undefined)[]> {
        return never.promise
      }
      override set(): Promise<void> {
        return never.promise
      }
      override setMany(): Promise<void> {
        return never.promise
      }
    }
    const name = unique('hanging')
    await registerStorage(name, new Storage({ adapter: new Hanging(), timeout: 50 }))
    class Slow extends Node<number> {
      static meta = {
        version: 'v1',
        caches: [new Cache({ storage: 'user-local', ttl: null }), new Cache({ storage: name, ttl: null })],
      }
      constructor(readonly id: number) {
        super()
      }
      key() {
        return `slow:${this.id}`
      }
      async load() {
        return this.id * 10
      }
    }
    const started = Date.now()
    t.is(await get(new Slow(1)), 10)
    t.deepEqual(await getAll([new Slow(2), new Slow(3)]), [20, 30])
    t.true(Date.now() - started < 2000, 'no call waited past its timeout')
    t.true(stats(Slow).storageErrorCount >= 2)
    const timedOut = events.find((event) => event.storage === name && event.error.code === 'CACHEME_TIMEOUT')
    t.truthy(timedOut, 'a timeout was reported')
    t.regex(timedOut?.error.message ?? '', new RegExp(`storage "${name}"`))
  },
)

test.serial("an adapter's own errors reach refresh as StorageErrors", async (t) => {
  class Failing extends MapStorage {
    override set(): Promise<void> {
      return Promise.reject(new Error('disk full'))
    }
  }
  const name = unique('failing')
  await registerStorage(name, new Failing())
  class Written extends Node<number> {
    static meta = { version: 'v1', caches: [new Cache({ storage: name, ttl: null })] }
    key() {
      return 'written'
    }
    async load() {
      return 1
    }
  }
  const error = await t.throwsAsync(refresh(new Written()), { instanceOf: StorageError })
  t.is(error?.code, 'CACHEME_STORAGE')
  t.regex(error?.message ?? '', /disk full/)
})

const minimal = emptyAdapter()

test('registration refuses an adapter missing a method, naming it', async (t) => {
  const { getMany: _, ...noGetMany } = minimal
  const error = await t.throwsAsync(registerStorage(unique('bad'), noGetMany as RemoteStorage), {
    instanceOf: InvalidArgumentError,
  })
  t.is(error?.code, 'CACHEME_INVALID_ARGUMENT')
  t.regex(error?.message ?? '', /no getMany method/)
  const none = await t.throwsAsync(registerStorage(unique('bad'), { maxKeyLength: 1 } as RemoteStorage))
  t.regex(none?.message ?? '', /no get, getMany, set, setMany, remove, close methods/)
})

test('registration refuses a maxKeyLength that is not a positive integer', async (t) => {
  for (const maxKeyLength of [0, -1, Number.NaN, 1.5, '512', undefined]) {
    const adapter = { ...minimal, maxKeyLength } as unknown as RemoteStorage
    const error = await t.throwsAsync(registerStorage(unique('bad'), adapter), {
      instanceOf: InvalidArgumentError,
    })
    t.regex(error?.message ?? '', /maxKeyLength must be a positive integer/, String(maxKeyLength))
  }
  await t.notThrowsAsync(registerStorage(unique('unbounded'), { ...minimal, maxKeyLength: Infinity }))
})

test('registration refuses what is not an adapter, and options that do not apply', async (t) => {
  for (const value of [42, null, undefined, 'redis://127.0.0.1', () => {}]) {
    const error = await t.throwsAsync(registerStorage(unique('bad'), value as unknown as RemoteStorage), {
      instanceOf: InvalidArgumentError,
    })
    t.is(error?.code, 'CACHEME_INVALID_ARGUMENT', String(value))
    t.regex(error?.message ?? '', /implementing RemoteStorage/)
  }
  t.throws(() => new Storage({ adapter: minimal, url: 'local://lru' } as never), {
    message: /url or an adapter, not both/,
  })
  t.throws(() => new Storage({ adapter: minimal, table: 't' } as never), {
    message: /option table does not apply/,
  })
  t.throws(() => new Storage({ adapter: minimal, timeout: 0 }), { message: /^timeout must be/ })
  t.throws(() => new Storage({ adapter: minimal, cleanupInterval: 1000 }), {
    message: /option cleanupInterval does not apply/,
  })
  t.notThrows(() => new Storage({ adapter: new MapStorage(), cleanupInterval: 1000 }))
})
