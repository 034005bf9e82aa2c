// Bad input fails early with typed errors and stable codes.

import test from 'ava'
import {
  buildNode,
  Cache,
  type CachemeError,
  close,
  get,
  getAll,
  InvalidArgumentError,
  invalidate,
  memoize,
  Node,
  NodeDefinitionError,
  type NodeMeta,
  refresh,
  registerStorage,
  SerializationError,
  Storage,
  StorageError,
} from '../../lib'
import { tempDir } from './helpers'

const dir = tempDir()

test.before(async () => {
  await registerStorage('local', new Storage({ url: 'local://lru', size: 100 }))
  await registerStorage('sql', new Storage({ url: `sqlite://${dir.file('errors.db')}` }))
})

test.after.always(async () => {
  await close()
  dir.remove()
})

/** A node class with the given meta (cast: the point is to get past the types). */
function withMeta(meta: unknown, key: unknown = 'k') {
  return class extends Node<number> {
    static meta = meta as NodeMeta
    key() {
      return key as string
    }
    async load() {
      return 1
    }
  }
}

const ok = [new Cache({ storage: 'local', ttl: null })]

const nodeCases: [string, unknown, unknown, new (...args: never[]) => CachemeError, string][] = [
  ['missing meta', undefined, 'k', NodeDefinitionError, 'CACHEME_INVALID_NODE'],
  ['missing version', { caches: ok }, 'k', NodeDefinitionError, 'CACHEME_INVALID_NODE'],
  ['empty version', { version: '', caches: ok }, 'k', NodeDefinitionError, 'CACHEME_INVALID_NODE'],
  ['empty caches', { version: 'v1', caches: [] }, 'k', NodeDefinitionError, 'CACHEME_INVALID_NODE'],
  [
    'caches not an array',
    { version: 'v1', caches: 'local' },
    'k',
    NodeDefinitionError,
    'CACHEME_INVALID_NODE',
  ],
  [
    'unknown storage name',
    { version: 'v1', caches: [new Cache({ storage: 'nope', ttl: null })] },
    'k',
    StorageError,
    'CACHEME_UNKNOWN_STORAGE',
  ],
  [
    'bad ttl in a plain cache object',
    { version: 'v1', caches: [{ storage: 'local', ttl: -5 }] },
    'k',
    InvalidArgumentError,
    'CACHEME_INVALID_TTL',
  ],
  [
    'storage listed twice',
    { version: 'v1', caches: [...ok, ...ok] },
    'k',
    NodeDefinitionError,
    'CACHEME_INVALID_NODE',
  ],
  [
    'serializer without dumps/loads',
    { version: 'v1', caches: ok, serializer: {} },
    'k',
    NodeDefinitionError,
    'CACHEME_INVALID_NODE',
  ],
  [
    'doorkeeper not a BloomFilter',
    { version: 'v1', caches: ok, doorkeeper: {} },
    'k',
    NodeDefinitionError,
    'CACHEME_INVALID_NODE',
  ],
  ['key() returning a number', { version: 'v1', caches: ok }, 42, NodeDefinitionError, 'CACHEME_INVALID_KEY'],
  ['key() returning ""', { version: 'v1', caches: ok }, '', NodeDefinitionError, 'CACHEME_INVALID_KEY'],
  [
    'key longer than the SQLite limit',
    { version: 'v1', caches: [new Cache({ storage: 'sql', ttl: null })] },
    'x'.repeat(600),
    InvalidArgumentError,
    'CACHEME_INVALID_KEY',
  ],
]

for (const [label, meta, key, type, code] of nodeCases) {
  test(`node checks: ${label} → ${type.name} ${code}`, async (t) => {
    const Bad = withMeta(meta, key)
    for (const call of [() => get(new Bad()), () => getAll([new Bad()]), () => refresh(new Bad())]) {
      const error = await t.throwsAsync(call(), { instanceOf: type })
      t.is(error?.code, code)
    }
    if (code !== 'CACHEME_INVALID_KEY') {
      await t.throwsAsync(invalidate(new Bad()), { instanceOf: type })
    }
  })
}

test('a long key is fine for a node with only local tiers', async (t) => {
  const Long = withMeta({ version: 'v1', caches: ok }, 'x'.repeat(600))
  t.is(await get(new Long()), 1)
})

test('Cache refuses bad ttls and storage names', (t) => {
  for (const ttl of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, '10' as unknown as number]) {
    const error = t.throws(() => new Cache({ storage: 'local', ttl }), { instanceOf: InvalidArgumentError })
    t.is(error?.code, 'CACHEME_INVALID_TTL')
  }
  t.throws(() => new Cache({ storage: '', ttl: null }), { instanceOf: InvalidArgumentError })
})

test('get, getAll, invalidate and refresh refuse what is not a node', async (t) => {
  for (const bad of [null, undefined, 42, 'user:1', { key: () => 'k', load: async () => 1 }]) {
    const asNode = bad as unknown as Node<number>
    for (const call of [
      () => get(asNode),
      () => getAll([asNode]),
      () => invalidate(asNode),
      () => refresh(asNode),
    ]) {
      const error = await t.throwsAsync(call(), { instanceOf: InvalidArgumentError })
      t.is(error?.code, 'CACHEME_INVALID_NODE')
    }
  }
  await t.throwsAsync(getAll('nodes' as unknown as Node<number>[]), { instanceOf: InvalidArgumentError })
})

test('getAll refuses nodes of different classes', async (t) => {
  const A = withMeta({ version: 'v1', caches: ok }, 'a')
  const B = withMeta({ version: 'v1', caches: ok }, 'b')
  const error = await t.throwsAsync(getAll([new A(), new B()] as InstanceType<typeof A>[]), {
    instanceOf: InvalidArgumentError,
  })
  t.is(error?.code, 'CACHEME_INVALID_NODE')
  t.regex(error?.message ?? '', /one class/)
})

test('storage urls: unknown schemes, bad local urls, missing size, misplaced options', (t) => {
  const cases: [() => unknown, new (...args: never[]) => CachemeError, string][] = [
    [() => new Storage({ url: 'memcached://x' }), StorageError, 'CACHEME_INVALID_STORAGE_URL'],
    [() => new Storage({ url: 'not a url' }), StorageError, 'CACHEME_INVALID_STORAGE_URL'],
    [() => new Storage({ url: 'local://lfu', size: 10 }), StorageError, 'CACHEME_INVALID_STORAGE_URL'],
    [() => new Storage({ url: 'local://lru' }), InvalidArgumentError, 'CACHEME_INVALID_ARGUMENT'],
    [
      () => new Storage({ url: 'local://lru', size: 10, table: 't' }),
      InvalidArgumentError,
      'CACHEME_INVALID_ARGUMENT',
    ],
    [() => new Storage({ url: 'sqlite://' }), StorageError, 'CACHEME_INVALID_STORAGE_URL'],
    [() => new Storage({ url: 'sqlite:///x.db', size: 3 }), InvalidArgumentError, 'CACHEME_INVALID_ARGUMENT'],
  ]
  for (const [make, type, code] of cases) {
    const error = t.throws(make, { instanceOf: type })
    t.is(error?.code, code)
  }
})

test('registerStorage refuses a taken name, a reused Storage and a bad local size', async (t) => {
  await t.throwsAsync(registerStorage('local', new Storage({ url: 'local://lru', size: 10 })), {
    instanceOf: InvalidArgumentError,
  })
  const storage = new Storage({ url: 'local://lru', size: 10 })
  await registerStorage('once', storage)
  await t.throwsAsync(registerStorage('twice', storage), { instanceOf: InvalidArgumentError })
  const error = await t.throwsAsync(registerStorage('huge', new Storage({ url: 'local://lru', size: -1 })), {
    instanceOf: InvalidArgumentError,
  })
  t.is(error?.code, 'CACHEME_INVALID_ARGUMENT')
  await t.throwsAsync(registerStorage('', new Storage({ url: 'local://lru', size: 10 })), {
    instanceOf: InvalidArgumentError,
  })
})

test('memoize refuses non-node classes, and a mapper returning another class', async (t) => {
  t.throws(() => memoize(class {} as never), { instanceOf: InvalidArgumentError })
  const Target = buildNode<[number], number>('target', { version: 'v1', caches: ok, key: (n) => `t${n}` })
  const Other = buildNode<[number], number>('other', { version: 'v1', caches: ok, key: (n) => `o${n}` })
  const wrapped = memoize(Target)(async (n: number) => n).toNode((n) => new Other(n))
  const error = await t.throwsAsync(wrapped(1), { instanceOf: InvalidArgumentError })
  t.is(error?.code, 'CACHEME_INVALID_NODE')
})

test('a built node without load fails typed when loaded outside memoize', async (t) => {
  const NoLoad = buildNode<[number], number>('noload', { version: 'v1', caches: ok, key: (n) => `n${n}` })
  const error = await t.throwsAsync(get(new NoLoad(1)), { instanceOf: NodeDefinitionError })
  t.is(error?.code, 'CACHEME_INVALID_NODE')
})

test('loadAll returning the wrong number of values rejects getAll', async (t) => {
  class Short extends Node<number> {
    static meta = { version: 'v1', caches: ok }
    constructor(readonly id: number) {
      super()
    }
    key() {
      return `short:${this.id}`
    }
    async load() {
      return this.id
    }
    static async loadAll(): Promise<number[]> {
      return [1]
    }
  }
  const error = await t.throwsAsync(getAll([new Short(1), new Short(2)]), { instanceOf: NodeDefinitionError })
  t.is(error?.code, 'CACHEME_INVALID_NODE')
})

test('local sizes that are not a positive integer within the limit are refused', async (t) => {
  for (const size of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31, '10' as unknown as number]) {
    const error = await t.throwsAsync(
      (async () => registerStorage(`size${String(size)}`, new Storage({ url: 'local://tlfu', size })))(),
      { instanceOf: InvalidArgumentError },
    )
    t.is(error?.code, 'CACHEME_INVALID_ARGUMENT', `size ${String(size)}`)
    t.regex(error?.message ?? '', /size/)
  }
})

test('a serializer tag outside 0…255 is refused on the node and on the storage', async (t) => {
  const badTag = { dumps: () => Buffer.from('x'), loads: () => 1, tag: 256 }
  const Tagged = withMeta({
    version: 'v1',
    caches: [new Cache({ storage: 'sql', ttl: null })],
    serializer: badTag,
  })
  const error = await t.throwsAsync(get(new Tagged()), { instanceOf: NodeDefinitionError })
  t.regex(error?.message ?? '', /serializer tag must be an integer from 0 to 255; got 256/)
  t.throws(() => new Storage({ url: 'sqlite://:memory:', serializer: { ...badTag, tag: 1.5 } }), {
    instanceOf: InvalidArgumentError,
    message: /serializer tag/,
  })
})

test('a value with a function in it is refused by the default serializer and cached in no tier', async (t) => {
  let loads = 0
  class WithFunction extends Node<object> {
    static meta = {
      version: 'v1',
      caches: [new Cache({ storage: 'local', ttl: null }), new Cache({ storage: 'sql', ttl: null })],
    }
    key() {
      return 'with-function'
    }
    async load() {
      loads++
      return { id: 1, callback: () => 1 }
    }
  }
  for (let attempt = 1; attempt <= 2; attempt++) {
    const error = await t.throwsAsync(get(new WithFunction()), { instanceOf: SerializationError })
    t.regex(error?.message ?? '', /function/)
    t.is(loads, attempt, 'nothing was cached: the next get loads again')
  }
})
