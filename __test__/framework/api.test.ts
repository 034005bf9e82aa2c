// The API rows of SPEC §2 over a local tier in front of a SQLite tier.

import test from 'ava'
import { buildNode, Cache, get, getAll, invalidate, memoize, Node, nodes, refresh, stats } from '../../lib'
import { deferred, localAndSqlite, sleep } from './helpers'

const { local, sql } = localAndSqlite('api.db')

const twoTiers = [new Cache({ storage: 'local', ttl: 60_000 }), new Cache({ storage: 'sql', ttl: null })]

interface User {
  id: number
  name: string
}

/** Loads per user id (tests run concurrently, each on its own ids). */
const userLoads = new Map<number, number>()
const loadsOf = (...ids: number[]) => ids.reduce((sum, id) => sum + (userLoads.get(id) ?? 0), 0)

class UserNode extends Node<User> {
  static meta = { version: 'v1', caches: twoTiers }

  constructor(readonly id: number) {
    super()
  }

  key() {
    return `user:${this.id}`
  }

  async load(): Promise<User> {
    userLoads.set(this.id, (userLoads.get(this.id) ?? 0) + 1)
    return { id: this.id, name: `user ${this.id}` }
  }
}

test('get loads on a miss, then answers from the cache without loading', async (t) => {
  t.deepEqual(await get(new UserNode(1)), { id: 1, name: 'user 1' })
  t.deepEqual(await get(new UserNode(1)), { id: 1, name: 'user 1' })
  t.is(loadsOf(1), 1)
})

test('get writes every tier under {prefix}:{key}:{version}', async (t) => {
  await get(new UserNode(2))
  t.deepEqual(local.local?.get('cacheme:user:2:v1'), { id: 2, name: 'user 2' })
  const row = await sql.adapter?.get('cacheme:user:2:v1')
  t.truthy(row)
  t.true((row as Buffer).length > 0)
})

test('getAll returns values in input order, repeats included, with one load per distinct key', async (t) => {
  await get(new UserNode(10))
  const users = await getAll([new UserNode(12), new UserNode(10), new UserNode(11), new UserNode(12)])
  t.deepEqual(
    users.map((user) => user.id),
    [12, 10, 11, 12],
  )
  t.is(loadsOf(10, 11, 12), 3)
})

test('getAll([]) is []', async (t) => {
  t.deepEqual(await getAll([] as UserNode[]), [])
})

test('getAll uses the static loadAll once for the keys no tier has', async (t) => {
  const calls: number[][] = []
  class BatchNode extends Node<string> {
    static meta = { version: 'v1', caches: twoTiers }
    constructor(readonly id: number) {
      super()
    }
    key() {
      return `batch:${this.id}`
    }
    async load(): Promise<string> {
      throw new Error('getAll must use loadAll')
    }
    static async loadAll(batch: BatchNode[]): Promise<string[]> {
      calls.push(batch.map((node) => node.id))
      return batch.map((node) => `value ${node.id}`)
    }
  }
  t.deepEqual(await getAll([new BatchNode(1), new BatchNode(2), new BatchNode(1)]), [
    'value 1',
    'value 2',
    'value 1',
  ])
  t.deepEqual(await getAll([new BatchNode(2), new BatchNode(3)]), ['value 2', 'value 3'])
  t.deepEqual(calls, [[1, 2], [3]])
})

test('invalidate removes the node from every tier, so the next get loads again', async (t) => {
  await get(new UserNode(3))
  await invalidate(new UserNode(3))
  t.is(local.local?.get('cacheme:user:3:v1'), undefined)
  t.is(await sql.adapter?.get('cacheme:user:3:v1'), undefined)
  await get(new UserNode(3))
  t.is(loadsOf(3), 2)
})

test('refresh loads now, overwrites every tier and returns the new value', async (t) => {
  let version = 1
  class CounterNode extends Node<number> {
    static meta = { version: 'v1', caches: twoTiers }
    key() {
      return 'counter'
    }
    async load() {
      return version
    }
  }
  t.is(await get(new CounterNode()), 1)
  version = 2
  t.is(await get(new CounterNode()), 1)
  t.is(await refresh(new CounterNode()), 2)
  t.is(await get(new CounterNode()), 2)
  local.local?.delete('cacheme:counter:v1')
  t.is(await get(new CounterNode()), 2, 'the SQLite tier holds the refreshed value too')
})

test('memoize caches a plain async function under a node, mapping arguments with toNode', async (t) => {
  let calls = 0
  // A node used only through memoize needs no load: buildNode makes one without.
  const PriceNode = buildNode<[sku: string], number>('price', {
    version: 'v1',
    caches: twoTiers,
    key: (sku) => `price:${sku}`,
  })
  const price = memoize(PriceNode)(async (sku: string, currency: string) => {
    calls++
    return sku.length * (currency === 'EUR' ? 2 : 1)
  }).toNode((sku) => new PriceNode(sku))
  t.is(await price('abc', 'EUR'), 6)
  t.is(await price('abc', 'EUR'), 6)
  t.is(await price('abcd', 'EUR'), 8)
  t.is(calls, 2)
})

test('memoize works on a method: this reaches both the function and the mapper', async (t) => {
  class ProfileNode extends Node<string> {
    static meta = { version: 'v1', caches: twoTiers }
    constructor(readonly id: number) {
      super()
    }
    key() {
      return `profile:${this.id}`
    }
    load(): Promise<string> {
      throw new Error('memoize must call the wrapped method instead')
    }
  }
  class ProfileService {
    calls = 0
    constructor(readonly greeting: string) {}

    profile = memoize(ProfileNode)(async function (this: ProfileService, id: number) {
      this.calls++
      return `${this.greeting} ${id}`
    }).toNode(function (id) {
      t.true(this instanceof ProfileService)
      return new ProfileNode(id)
    })
  }
  const service = new ProfileService('hello')
  t.is(await service.profile(7), 'hello 7')
  t.is(await service.profile(7), 'hello 7')
  t.is(service.calls, 1)
})

test('buildNode makes a typed node class at run time', async (t) => {
  let loads = 0
  const FeedNode = buildNode('feed', {
    version: 'v2',
    caches: twoTiers,
    key: (user: number, page: number) => `feed:${user}:${page}`,
    load: async (user: number, page: number) => {
      loads++
      return [user, page]
    },
  })
  t.is(FeedNode.name, 'feed')
  t.deepEqual(await get(new FeedNode(4, 2)), [4, 2])
  t.deepEqual(await get(new FeedNode(4, 2)), [4, 2])
  t.is(loads, 1)
  t.deepEqual(new FeedNode(4, 2).args, [4, 2])
  t.deepEqual(local.local?.get('cacheme:feed:4:2:v2'), [4, 2])
  t.true(nodes().includes(FeedNode))
})

test('buildNode without key joins the arguments; loadAll receives argument lists', async (t) => {
  const seen: (readonly [string])[][] = []
  const Dynamic = buildNode('dynamic', {
    version: 'v1',
    caches: twoTiers,
    load: async (name: string) => name.toUpperCase(),
    loadAll: async (args: readonly (readonly [string])[]) => {
      seen.push([...args])
      return args.map(([name]) => `${name}!`)
    },
  })
  t.is(new Dynamic('abc').key(), 'abc')
  t.deepEqual(await getAll([new Dynamic('x'), new Dynamic('y')]), ['x!', 'y!'])
  t.deepEqual(seen, [[['x'], ['y']]])
  t.is(await get(new Dynamic('z')), 'Z')
})

test('nodes() lists node classes once they are used', async (t) => {
  class ListedNode extends Node<number> {
    static meta = { version: 'v1', caches: twoTiers }
    key() {
      return 'listed'
    }
    async load() {
      return 1
    }
  }
  await get(new ListedNode())
  t.true(nodes().includes(UserNode))
  t.true(nodes().includes(ListedNode))
})

test('undefined and null are cached values, in the local and the SQLite tier', async (t) => {
  let loads = 0
  class MaybeNode extends Node<string | null | undefined> {
    static meta = { version: 'v1', caches: twoTiers }
    constructor(readonly value: null | undefined) {
      super()
    }
    key() {
      return `maybe:${String(this.value)}`
    }
    async load() {
      loads++
      return this.value
    }
  }
  for (const value of [undefined, null]) {
    t.is(await get(new MaybeNode(value)), value)
    t.is(await get(new MaybeNode(value)), value, 'local hit')
    local.local?.delete(`cacheme:maybe:${String(value)}:v1`)
    t.is(await get(new MaybeNode(value)), value, 'SQLite hit')
    t.deepEqual(await getAll([new MaybeNode(value)]), [value])
  }
  t.is(loads, 2)
})

test('concurrent get and getAll of one key share one load', async (t) => {
  const gate = deferred<string>()
  let loads = 0
  class SharedNode extends Node<string> {
    static meta = { version: 'v1', caches: twoTiers }
    constructor(readonly id: number) {
      super()
    }
    key() {
      return `shared:${this.id}`
    }
    load() {
      loads++
      return gate.promise
    }
  }
  const single = get(new SharedNode(1))
  const batch = getAll([new SharedNode(1), new SharedNode(1)])
  await sleep(20)
  gate.resolve('v')
  t.is(await single, 'v')
  t.deepEqual(await batch, ['v', 'v'])
  t.is(loads, 1)
  t.is(stats(SharedNode).inFlightCount, 0)
})
