// The weight bound through the framework: a local storage with maxWeight and weigh, a Cache's own
// weigh, the definition errors of a missing or misplaced weigher, and bad weights refused without
// touching the cache.

import test from 'ava'
import {
  Cache,
  type CacheErrorEvent,
  get,
  InvalidArgumentError,
  invalidate,
  Node,
  NodeDefinitionError,
  onError,
  registerStorage,
  Storage,
  set,
} from '../../lib'
import { localAndSqlite, unique } from './helpers'

localAndSqlite('weight.db')
/** Entries weigh their length; at most 10 characters in all. */
const weighted = new Storage({ url: 'local://lru', size: 100, maxWeight: 10, weigh: (v) => String(v).length })
const bare = new Storage({ url: 'local://tlfu', size: 100, maxWeight: 10 })

test.before(async () => {
  await registerStorage('weighted', weighted)
  await registerStorage('bare-weighted', bare)
})

function textNode(storage: string, options: { weigh?: (value: never) => number; sql?: boolean } = {}) {
  const name = unique('w')
  const caches = [new Cache({ storage, ttl: null, weigh: options.weigh })]
  if (options.sql) caches.push(new Cache({ storage: 'sql', ttl: null }))
  class Text extends Node<string> {
    static meta = { version: 'v1', caches }
    constructor(readonly id: string) {
      super()
    }
    key() {
      return `${name}:${this.id}`
    }
    async load() {
      return `value of ${this.id}`
    }
  }
  return { Text, stored: (id: string) => `cacheme:${name}:${id}:v1` }
}

test.serial('a weighted local tier evicts by weight: the storage weigher counts each value', async (t) => {
  const { Text, stored } = textNode('weighted')
  await set(new Text('a'), 'aaaa')
  await set(new Text('b'), 'bbbb')
  t.is(weighted.local?.stats().weight, 8)
  await get(new Text('a')) // a is now more recent than b
  await set(new Text('c'), 'ccc')
  t.is(weighted.local?.stats().weight, 7, 'b (4) went: 4 + 4 + 3 > 10')
  t.is(weighted.local?.get(stored('b')), undefined)
  t.is(weighted.local?.get(stored('a')), 'aaaa')
  t.is(weighted.local?.stats().maxWeight, 10)
  await invalidate(new Text('a'))
  t.is(weighted.local?.stats().weight, 3)
  await invalidate(new Text('c'))
})

test.serial('a value heavier than the bound is not kept locally; a lower tier still has it', async (t) => {
  const { Text, stored } = textNode('weighted', { sql: true })
  await set(new Text('small'), 'ok')
  await set(new Text('big'), 'x'.repeat(11))
  t.is(weighted.local?.get(stored('big')), undefined)
  t.is(weighted.local?.get(stored('small')), 'ok', 'nothing else was evicted for it')
  t.is(await get(new Text('big')), 'x'.repeat(11))
  await invalidate(new Text('small'))
})

test.serial("a Cache's weigh overrides the storage's, and is what a storage without one needs", async (t) => {
  const { Text, stored } = textNode('bare-weighted', { weigh: () => 4 })
  await set(new Text('a'), 'anything')
  await set(new Text('b'), 'anything')
  t.is(bare.local?.stats().weight, 8)
  await set(new Text('c'), 'anything')
  t.is(bare.local?.stats().weight, 8, 'three of weight 4 exceed 10: one went')
  t.is(bare.local?.size, 2)
  t.truthy(bare.local?.get(stored('c')))
  await invalidate(new Text('b'))
  await invalidate(new Text('c'))
  await invalidate(new Text('a'))
})

test.serial(
  'a weighted storage with no weigher, or a weigh on a storage without maxWeight, is a definition error',
  async (t) => {
    const missing = textNode('bare-weighted')
    await t.throwsAsync(get(new missing.Text('a')), {
      instanceOf: NodeDefinitionError,
      message: /has a maxWeight: caches\[0\] needs a weigh/,
    })
    const misplaced = textNode('sql', { weigh: () => 1 })
    await t.throwsAsync(get(new misplaced.Text('a')), {
      instanceOf: NodeDefinitionError,
      message: /gives a weigh, but storage "sql" has no maxWeight/,
    })
  },
)

test.serial(
  'bad weights: set rejects with CACHEME_INVALID_WEIGHT and the cache keeps what it had',
  async (t) => {
    let answer: unknown = 3
    const { Text, stored } = textNode('bare-weighted', {
      weigh: () => {
        if (answer instanceof Error) throw answer
        return answer as number
      },
    })
    await set(new Text('k'), 'before')
    for (const bad of [-1, 1.5, Number.NaN, 2 ** 32, '3', undefined, new Error('weigher failed')]) {
      answer = bad
      const error = await t.throwsAsync(set(new Text('k'), 'after'), { instanceOf: InvalidArgumentError })
      t.is(error?.code, 'CACHEME_INVALID_WEIGHT', String(bad))
      t.is(bare.local?.get(stored('k')), 'before', `${String(bad)} left the entry as it was`)
    }
    answer = 3
    t.is(bare.local?.stats().weight, 3)
    await invalidate(new Text('k'))
  },
)

test.serial(
  'a bad weight on the load path serves the value, reports it and caches nothing locally',
  async (t) => {
    const { Text, stored } = textNode('bare-weighted', { weigh: () => -5 })
    const reported: CacheErrorEvent[] = []
    const off = onError((event) => reported.push(event))
    try {
      t.is(await get(new Text('k')), 'value of k')
    } finally {
      off()
    }
    t.is(bare.local?.get(stored('k')), undefined)
    t.is(reported.length, 1)
    t.is((reported[0]?.error as InvalidArgumentError).code, 'CACHEME_INVALID_WEIGHT')
  },
)

test('storage options: weigh needs maxWeight, and both are checked', (t) => {
  t.throws(() => new Storage({ url: 'local://lru', size: 10, weigh: () => 1 }), {
    code: 'CACHEME_INVALID_WEIGHT',
    message: /weigh needs a maxWeight/,
  } as never)
  for (const maxWeight of [0, -1, 1.5, 2 ** 53]) {
    t.throws(() => new Storage({ url: 'local://lru', size: 10, maxWeight }), {
      code: 'CACHEME_INVALID_WEIGHT',
    } as never)
  }
  t.throws(() => new Storage({ url: 'local://lru', size: 10, maxWeight: 5, weigh: 3 as never }), {
    code: 'CACHEME_INVALID_WEIGHT',
  } as never)
  t.throws(() => new Cache({ storage: 'x', ttl: null, weigh: 'no' as never }), {
    code: 'CACHEME_INVALID_WEIGHT',
  } as never)
})
