// set and setAll: every tier written with no load, one batch per tier, the newer value winning over
// a load in flight, and the typed errors of bad input.

import test from 'ava'
import { Cache, get, getAll, InvalidArgumentError, invalidate, Node, set, setAll } from '../../lib'
import { deferred, localAndSqlite, unique } from './helpers'

const { local, sql } = localAndSqlite('set.db')

function nodeClass(name: string) {
  let loads = 0
  let pending: ReturnType<typeof deferred<string>> | undefined
  class Item extends Node<string> {
    static meta = {
      version: 'v1',
      caches: [new Cache({ storage: 'local', ttl: 60_000 }), new Cache({ storage: 'sql', ttl: null })],
    }
    constructor(readonly id: number) {
      super()
    }
    key() {
      return `${name}:${this.id}`
    }
    async load() {
      loads++
      return pending === undefined ? `loaded ${this.id}` : pending.promise
    }
  }
  return {
    Item,
    loads: () => loads,
    hold: () => {
      pending = deferred<string>()
      return pending
    },
  }
}

test.serial('set writes every tier and get answers with no load', async (t) => {
  const name = unique('set')
  const { Item, loads } = nodeClass(name)
  await set(new Item(1), 'written')
  t.is(await get(new Item(1)), 'written')
  t.is(loads(), 0)
  t.is(local.local?.get(`cacheme:${name}:1:v1`), 'written')
  t.truthy(await sql.bounded?.get(`cacheme:${name}:1:v1`))
  local.local?.delete(`cacheme:${name}:1:v1`)
  t.is(await get(new Item(1)), 'written', 'the SQLite tier has it too')
  t.is(loads(), 0)
})

test.serial(
  'setAll writes every node in one batch per tier; a repeated node keeps its last value',
  async (t) => {
    const name = unique('setall')
    const { Item, loads } = nodeClass(name)
    const batches: number[] = []
    const adapter = sql.bounded as NonNullable<typeof sql.bounded>
    const setMany = adapter.setMany.bind(adapter)
    adapter.setMany = (entries, ttl) => {
      batches.push(entries.length)
      return setMany(entries, ttl)
    }
    try {
      await setAll([new Item(1), new Item(2), new Item(1)], ['a', 'b', 'c'])
    } finally {
      adapter.setMany = setMany
    }
    t.deepEqual(batches, [2])
    t.deepEqual(await getAll([new Item(1), new Item(2)]), ['c', 'b'])
    t.is(loads(), 0)
  },
)

test.serial('a load in flight when set runs answers its caller but writes nothing', async (t) => {
  const name = unique('race')
  const { Item, hold } = nodeClass(name)
  const load = hold()
  const reading = get(new Item(1))
  await new Promise((resolve) => setImmediate(resolve))
  await set(new Item(1), 'newer')
  load.resolve('older')
  t.is(await reading, 'older')
  t.is(await get(new Item(1)), 'newer')
  t.is(local.local?.get(`cacheme:${name}:1:v1`), 'newer')
  local.local?.delete(`cacheme:${name}:1:v1`)
  t.is(await get(new Item(1)), 'newer', 'the older load did not overwrite the SQLite tier either')
})

test.serial('set after invalidate, and invalidate after set, leave the later one standing', async (t) => {
  const { Item, loads } = nodeClass(unique('order'))
  await set(new Item(1), 'one')
  await invalidate(new Item(1))
  t.is(await get(new Item(1)), 'loaded 1')
  await set(new Item(1), 'two')
  t.is(await get(new Item(1)), 'two')
  t.is(loads(), 1)
})

test('setAll refuses nodes of mixed classes and mismatched lengths, before writing anything', async (t) => {
  const { Item } = nodeClass(unique('mixed'))
  const { Item: Other } = nodeClass(unique('other'))
  const mixed = await t.throwsAsync(setAll([new Item(1), new Other(2)] as never, ['a', 'b']), {
    instanceOf: InvalidArgumentError,
  })
  t.is(mixed?.code, 'CACHEME_INVALID_NODE')
  const lengths = await t.throwsAsync(setAll([new Item(1)], ['a', 'b']), { instanceOf: InvalidArgumentError })
  t.is(lengths?.code, 'CACHEME_INVALID_ARGUMENT')
  t.is(local.local?.get(`cacheme:${new Item(1).key()}:v1`), undefined)
  const notNode = await t.throwsAsync(set({} as never, 'x' as never), { instanceOf: InvalidArgumentError })
  t.is(notNode?.code, 'CACHEME_INVALID_NODE')
})
