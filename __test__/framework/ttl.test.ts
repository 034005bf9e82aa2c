// A tier's TTL as a function of the value: 0 answers the value without writing that tier, other
// results are TTLs, and a bad result is the caller's error for set and refresh, and reported (the
// value still answered) on the read path.

import test from 'ava'
import {
  Cache,
  type CacheErrorEvent,
  get,
  InvalidArgumentError,
  Node,
  onError,
  refresh,
  set,
  stats,
} from '../../lib'
import { localAndSqlite, sleep, unique } from './helpers'

const { local, sql } = localAndSqlite('ttl.db')
const events: CacheErrorEvent[] = []
test.before(() => onError((event) => events.push(event)))

type Found = { id: number; name: string } | null

function nodeClass(name: string, localTtl: (value: Found) => unknown, sqlTtl: (value: Found) => unknown) {
  let loads = 0
  class Lookup extends Node<Found> {
    static meta = {
      version: 'v1',
      caches: [
        new Cache({ storage: 'local', ttl: localTtl as (value: Found) => number }),
        new Cache({ storage: 'sql', ttl: sqlTtl as (value: Found) => number }),
      ],
    }
    constructor(readonly id: number) {
      super()
    }
    key() {
      return `${name}:${this.id}`
    }
    async load() {
      loads++
      return this.id > 100 ? null : { id: this.id, name: `n${this.id}` }
    }
  }
  return { Lookup, loads: () => loads, stored: (id: number) => `cacheme:${name}:${id}:v1` }
}

test.serial('a ttl of 0 answers the value but leaves it out of that tier', async (t) => {
  // "not found" only locally, briefly; found values everywhere.
  const { Lookup, loads, stored } = nodeClass(
    unique('zero'),
    (value) => (value === null ? 100 : 60_000),
    (value) => (value === null ? 0 : null),
  )
  t.is(await get(new Lookup(101)), null)
  t.is(await sql.bounded?.get(stored(101)), undefined)
  t.is(local.local?.get(stored(101)), null)
  t.deepEqual(await get(new Lookup(1)), { id: 1, name: 'n1' })
  t.truthy(await sql.bounded?.get(stored(1)))
  t.is(loads(), 2)
  await sleep(150)
  t.is(await get(new Lookup(101)), null)
  t.is(loads(), 3, 'the short local TTL chosen for null expired')
})

test.serial('bad ttl results reject set and refresh, and are reported on the read path', async (t) => {
  const { Lookup, stored } = nodeClass(
    unique('bad'),
    () => 60_000,
    (value) => (value === null ? -1 : 'soon'),
  )
  for (const run of [() => set(new Lookup(1), { id: 1, name: 'x' }), () => refresh(new Lookup(2))]) {
    const error = await t.throwsAsync(run(), { instanceOf: InvalidArgumentError })
    t.is(error?.code, 'CACHEME_INVALID_TTL')
    t.regex(error?.message ?? '', /"soon"/)
  }
  t.is(local.local?.get(stored(1)), undefined, 'set wrote nothing')
  const before = stats(Lookup).storageErrorCount
  t.is(await get(new Lookup(101)), null, 'get still answers')
  t.is(stats(Lookup).storageErrorCount, before + 1)
  const event = events.find((e) => e.key === stored(101))
  t.is(event?.error.code, 'CACHEME_INVALID_TTL')
  t.is(local.local?.get(stored(101)), null, 'the tiers with a good TTL are written')
})

test('a ttl that is neither a number, null nor a function is refused when the Cache is made', (t) => {
  const error = t.throws(() => new Cache({ storage: 'local', ttl: 'x' as never }), {
    instanceOf: InvalidArgumentError,
  })
  t.is(error?.code, 'CACHEME_INVALID_TTL')
})
