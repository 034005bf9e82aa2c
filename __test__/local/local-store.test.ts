import test from 'ava'

import { CachemeError, LocalStore } from '../../lib'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

for (const policy of ['lru', 'tlfu'] as const) {
  test(`${policy}: a value set is returned by get as the same live object`, (t) => {
    const store = new LocalStore(policy, 100)
    const value = { id: 1, tags: new Set(['a']) }
    store.set('user:1', value)
    t.is(store.get('user:1'), value)
    t.is(store.get('user:2'), undefined)
    t.true(store.has('user:1'))
    t.false(store.has('user:2'))
  })

  test(`${policy}: size never exceeds the bound and evicted values are dropped`, (t) => {
    const store = new LocalStore(policy, 50)
    for (let i = 0; i < 1000; i++) {
      store.set(`k${i}`, i)
      t.true(store.size <= 50)
    }
    const stats = store.stats()
    t.is(stats.size, 50)
    t.is(stats.inserts, 1000)
    t.is(stats.evictions, 950)
    // Every key still present returns its own value, never another key's.
    let present = 0
    for (let i = 0; i < 1000; i++) {
      const value = store.get(`k${i}`)
      if (value !== undefined) {
        present++
        t.is(value, i)
      }
    }
    t.is(present, 50)
  })

  test(`${policy}: overwriting a key keeps one entry with the new value`, (t) => {
    const store = new LocalStore(policy, 10)
    store.set('a', 1)
    store.set('a', 2)
    t.is(store.get('a'), 2)
    t.is(store.size, 1)
    t.is(store.stats().updates, 1)
  })

  test(`${policy}: delete, deleteMany and clear remove entries`, (t) => {
    const store = new LocalStore(policy, 10)
    store.setMany(['a', 'b', 'c'], [1, 2, 3])
    t.true(store.delete('a'))
    t.false(store.delete('a'))
    t.is(store.get('a'), undefined)
    t.is(store.deleteMany(['b', 'zz']), 1)
    store.clear()
    t.is(store.size, 0)
    t.is(store.get('c'), undefined)
  })

  test(`${policy}: getMany and setMany cross once for many keys and keep input order`, (t) => {
    const store = new LocalStore(policy, 1000)
    const keys = Array.from({ length: 100 }, (_, i) => `key:${i}`)
    store.setMany(
      keys,
      keys.map((k) => k.toUpperCase()),
    )
    const values = store.getMany([...keys, 'missing'])
    t.deepEqual(values, [...keys.map((k) => k.toUpperCase()), undefined])
  })

  test(`${policy}: getMany answers keys holding NUL, empty keys and batches past the shared buffer`, (t) => {
    const store = new LocalStore(policy, 2000)
    // NUL separates keys in the one-string path: a key holding it must not be split into others.
    const tricky = ['a\0b', 'a', 'b', '', '\0', 'é\0ü', 'x']
    store.setMany(
      tricky,
      tricky.map((k) => `v(${k})`),
    )
    t.deepEqual(
      store.getMany(tricky),
      tricky.map((k) => `v(${k})`),
    )
    t.deepEqual(store.getMany(['a', 'b']), ['v(a)', 'v(b)'])
    t.deepEqual(store.getMany(['', '', 'a']), ['v()', 'v()', 'v(a)'])
    t.deepEqual(store.getMany([]), [])
    const many = Array.from({ length: 1000 }, (_, i) => `k:${i}`)
    store.setMany(many, many)
    t.deepEqual(store.getMany(many), many)
    t.deepEqual(store.getMany([...many.slice(0, 300), 'missing']), [...many.slice(0, 300), undefined])
  })

  test(`${policy}: a batch larger than the storage keeps only live values`, (t) => {
    const store = new LocalStore(policy, 10)
    const keys = Array.from({ length: 100 }, (_, i) => `key:${i}`)
    store.setMany(
      keys,
      keys.map((_, i) => i),
    )
    t.is(store.size, 10)
    const values = store.getMany(keys)
    values.forEach((value, i) => {
      if (value !== undefined) t.is(value, i)
    })
    t.is(values.filter((v) => v !== undefined).length, 10)
  })

  test(`${policy}: an entry expires after its ttl and is never returned afterwards`, async (t) => {
    const store = new LocalStore(policy, 10)
    store.set('short', 'x', 40)
    store.set('long', 'y', 60_000)
    store.set('forever', 'z')
    t.is(store.get('short'), 'x')
    await sleep(80)
    t.is(store.get('short'), undefined)
    t.is(store.get('long'), 'y')
    t.is(store.get('forever'), 'z')
    t.is(store.stats().expirations, 1)
  })

  test(`${policy}: expired entries are reclaimed without being read`, async (t) => {
    const store = new LocalStore(policy, 1000)
    for (let i = 0; i < 100; i++) store.set(`t${i}`, i, 20)
    store.set('keep', 1)
    await sleep(100)
    store.purgeExpired()
    t.is(store.size, 1)
    t.is(store.stats().expirations, 100)
  })

  test(`${policy}: keys up to 512 characters, non-ASCII included, are distinct`, (t) => {
    const store = new LocalStore(policy, 100)
    const long = 'ключ-🔑-'.repeat(64).slice(0, 512)
    const longer = `${long.slice(0, 511)}x`
    store.set(long, 'a')
    store.set(longer, 'b')
    store.set('', 'empty')
    store.set('ü', 'u-umlaut')
    store.set('u\u0308', 'u-combining')
    t.is(store.get(long), 'a')
    t.is(store.get(longer), 'b')
    t.is(store.get(''), 'empty')
    t.is(store.get('ü'), 'u-umlaut')
    t.is(store.get('u\u0308'), 'u-combining')
  })
}

test('tlfu keeps a key read every 150 requests through a scan of one-time keys; lru loses it', (t) => {
  const survivesScan = (policy: 'lru' | 'tlfu') => {
    const store = new LocalStore(policy, 100)
    store.set('hot', 'value')
    let hotMisses = 0
    for (let i = 0; i < 10_000; i++) {
      if (i % 150 === 0 && store.get('hot') === undefined) {
        hotMisses++
        store.set('hot', 'value')
      }
      const key = `cold:${i}`
      if (store.get(key) === undefined) store.set(key, i)
    }
    return hotMisses
  }
  t.true(survivesScan('tlfu') <= 1, 'tlfu should keep the recurring key')
  t.true(survivesScan('lru') > 50, 'lru forgets a key reused beyond its capacity')
})

test('lru evicts the least recently used key', (t) => {
  const store = new LocalStore('lru', 2)
  store.set('a', 1)
  store.set('b', 2)
  store.get('a')
  store.set('c', 3)
  t.is(store.get('b'), undefined)
  t.is(store.get('a'), 1)
  t.is(store.get('c'), 3)
})

test('hits and misses are counted in Rust', (t) => {
  const store = new LocalStore('tlfu', 10)
  store.set('a', 1)
  store.get('a')
  store.get('a')
  store.get('b')
  const stats = store.stats()
  t.is(stats.hits, 2)
  t.is(stats.misses, 1)
  t.is(stats.capacity, 10)
})

test('bad sizes, policies, ttls and keys are typed errors that change nothing', (t) => {
  for (const size of [0, -1, 1.5, Number.NaN, 2 ** 31]) {
    const error = t.throws(() => new LocalStore('tlfu', size), { instanceOf: CachemeError })
    t.is(error?.code, 'CACHEME_INVALID_ARGUMENT')
    t.regex(error?.message ?? '', /size/)
  }
  t.throws(() => new LocalStore('lfu' as 'lru', 10), { message: /policy/ })
  const store = new LocalStore('lru', 10)
  store.set('a', 1)
  for (const ttl of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
    const error = t.throws(() => store.set('a', 2, ttl), { instanceOf: CachemeError })
    t.is(error?.code, 'CACHEME_INVALID_TTL')
  }
  const keyError = t.throws(() => store.set(42 as unknown as string, 2), { instanceOf: CachemeError })
  t.is(keyError?.code, 'CACHEME_INVALID_KEY')
  t.throws(() => store.getMany(['ok', 7 as unknown as string]), { instanceOf: CachemeError })
  t.throws(() => store.setMany(['a'], [1, 2]), { message: /one value per key/ })
  t.is(store.get('a'), 1)
  t.is(store.size, 1)
})

for (const policy of ['lru', 'tlfu'] as const) {
  test(`${policy}: a maxWeight bounds the total weight; setMany takes one weight per key`, (t) => {
    const store = new LocalStore(policy, 100, { maxWeight: 10 })
    store.setMany(['a', 'b', 'c'], [1, 2, 3], null, [3, 3, 3])
    t.is(store.stats().weight, 9)
    store.set('d', 4, null, 3)
    t.is(store.stats().weight, 9, 'one of weight 3 made room')
    t.is(store.size, 3)
    t.is(store.get('d'), 4)
    store.set('huge', 5, null, 11)
    t.is(store.get('huge'), undefined, 'heavier than the bound: not kept')
    t.is(store.size, 3)
    store.set('zero', 6, null, 0)
    t.is(store.get('zero'), 6, 'a weight of 0 is allowed')
    t.deepEqual([store.stats().maxWeight, store.maxWeight], [10, 10])
  })

  test(`${policy}: bad weights are refused with CACHEME_INVALID_WEIGHT and store nothing`, (t) => {
    const store = new LocalStore(policy, 100, { maxWeight: 10 })
    store.set('kept', 'v', null, 2)
    for (const weight of [undefined, -1, 0.5, Number.NaN, 2 ** 32, '1' as unknown as number]) {
      t.throws(() => store.set('kept', 'other', null, weight), { code: 'CACHEME_INVALID_WEIGHT' } as never)
      t.throws(() => store.setMany(['x', 'y'], [1, 2], null, [1, weight as number]), {
        code: 'CACHEME_INVALID_WEIGHT',
      } as never)
    }
    t.throws(() => store.setMany(['x', 'y'], [1, 2], null, [1]), { code: 'CACHEME_INVALID_WEIGHT' } as never)
    t.is(store.get('kept'), 'v')
    t.is(store.get('x'), undefined)
    t.is(store.stats().weight, 2)
    for (const maxWeight of [0, -3, 1.5, 2 ** 53]) {
      t.throws(() => new LocalStore(policy, 10, { maxWeight }), { code: 'CACHEME_INVALID_WEIGHT' } as never)
    }
  })

  test(`${policy}: a store without maxWeight ignores weights and reports none`, (t) => {
    const store = new LocalStore(policy, 2)
    store.set('a', 1, null, 2 ** 40)
    t.is(store.get('a'), 1)
    t.is(store.stats().weight, undefined)
    t.is(store.maxWeight, undefined)
  })
}
