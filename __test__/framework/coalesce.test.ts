// Coalescing: one load per key however many concurrent callers, shared failures, no leftover
// flights, and no older load written after an invalidate or a refresh.

import test from 'ava'
import { Cache, get, getAll, invalidate, Node, refresh, stats } from '../../lib'
import { deferred, localAndSqlite, sleep } from './helpers'

const { local } = localAndSqlite('coalesce.db', 'lru', 100_000)

const caches = [new Cache({ storage: 'local', ttl: null }), new Cache({ storage: 'sql', ttl: null })]

/** A node class whose loads are scripted by the test: each load takes the next gate. */
function scripted(name: string) {
  const gates: ReturnType<typeof deferred<string>>[] = []
  let loads = 0
  class Scripted extends Node<string> {
    static meta = { version: 'v1', caches }
    constructor(readonly id: number) {
      super()
    }
    key() {
      return `${name}:${this.id}`
    }
    load() {
      loads++
      const gate = deferred<string>()
      gates.push(gate)
      return gate.promise
    }
    static async loadAll(batch: Scripted[]): Promise<string[]> {
      loads++
      const gate = deferred<string>()
      gates.push(gate)
      const value = await gate.promise
      return batch.map((node) => `${value}:${node.id}`)
    }
  }
  return {
    Node: Scripted,
    loads: () => loads,
    /** Waits for load number `n` (1-based) to start, then returns its gate. */
    async gate(n: number) {
      while (gates.length < n) await sleep(1)
      return gates[n - 1] as ReturnType<typeof deferred<string>>
    },
  }
}

test('10,000 concurrent gets of one cold key run exactly one load', async (t) => {
  let loads = 0
  class ColdNode extends Node<number> {
    static meta = { version: 'v1', caches }
    key() {
      return 'cold'
    }
    async load() {
      loads++
      await sleep(30)
      return 42
    }
  }
  const values = await Promise.all(Array.from({ length: 10_000 }, () => get(new ColdNode())))
  t.is(loads, 1)
  t.true(values.every((value) => value === 42))
  const metrics = stats(ColdNode)
  t.is(metrics.requestCount, 10_000)
  t.is(metrics.missCount, 1)
  t.is(metrics.coalescedHits, 9_999, 'every caller that joined counts as a hit')
  t.is(metrics.inFlightCount, 0)
})

test('a failed load rejects every waiter with the same error, caches nothing and is retried', async (t) => {
  let loads = 0
  const failure = new Error('source down')
  class FlakyNode extends Node<string> {
    static meta = { version: 'v1', caches }
    key() {
      return 'flaky'
    }
    async load() {
      loads++
      await sleep(10)
      if (loads === 1) throw failure
      return 'recovered'
    }
  }
  const results = await Promise.allSettled(Array.from({ length: 100 }, () => get(new FlakyNode())))
  t.is(loads, 1)
  for (const result of results) {
    t.is(result.status, 'rejected')
    t.is((result as PromiseRejectedResult).reason, failure)
  }
  t.is(stats(FlakyNode).inFlightCount, 0, 'no in-flight entry survives the failure')
  t.is(local.local?.get('cacheme:flaky:v1'), undefined, 'nothing cached')
  t.is(await get(new FlakyNode()), 'recovered')
  t.is(loads, 2)
  t.is(stats(FlakyNode).loadFailureCount, 1)
})

test('a failed loadAll rejects getAll and the gets that joined it, and leaves no flight', async (t) => {
  const s = scripted('batchfail')
  const all = getAll([new s.Node(1), new s.Node(2)])
  const joined = get(new s.Node(2))
  const failure = new Error('batch failed')
  ;(await s.gate(1)).reject(failure)
  await t.throwsAsync(all, { is: failure })
  await t.throwsAsync(joined, { is: failure })
  t.is(s.loads(), 1)
  t.is(stats(s.Node).inFlightCount, 0)
  const again = getAll([new s.Node(1), new s.Node(2)])
  ;(await s.gate(2)).resolve('ok')
  t.deepEqual(await again, ['ok:1', 'ok:2'])
})

test('getAll joins a get already in flight instead of loading the key again', async (t) => {
  const s = scripted('joinget')
  const single = get(new s.Node(1))
  await s.gate(1)
  const all = getAll([new s.Node(1), new s.Node(2)])
  ;(await s.gate(2)).resolve('batch')
  ;(await s.gate(1)).resolve('single')
  t.is(await single, 'single')
  t.deepEqual(await all, ['single', 'batch:2'])
  t.is(s.loads(), 2)
  t.is(stats(s.Node).inFlightCount, 0)
})

test('invalidate during a load: the older value is returned to its caller but not cached', async (t) => {
  const s = scripted('inval')
  const first = get(new s.Node(1))
  const gate = await s.gate(1)
  await invalidate(new s.Node(1))
  gate.resolve('old')
  t.is(await first, 'old')
  const second = get(new s.Node(1))
  ;(await s.gate(2)).resolve('new')
  t.is(await second, 'new', 'the invalidated load wrote nothing: this get loaded again')
  t.is(s.loads(), 2)
})

test('refresh during a load: the older load finishing later does not overwrite the refresh', async (t) => {
  const s = scripted('refr')
  const older = get(new s.Node(1))
  const olderGate = await s.gate(1)
  const refreshed = refresh(new s.Node(1))
  ;(await s.gate(2)).resolve('fresh')
  t.is(await refreshed, 'fresh')
  olderGate.resolve('stale')
  t.is(await older, 'stale')
  t.is(await get(new s.Node(1)), 'fresh')
  local.local?.delete('cacheme:refr:1:v1')
  t.is(await get(new s.Node(1)), 'fresh', 'the SQLite tier holds the refreshed value too')
  t.is(s.loads(), 2)
})

test('gets arriving during a refresh join it', async (t) => {
  const s = scripted('refjoin')
  const refreshed = refresh(new s.Node(1))
  const gate = await s.gate(1)
  const joined = get(new s.Node(1))
  gate.resolve('value')
  t.is(await refreshed, 'value')
  t.is(await joined, 'value')
  t.is(s.loads(), 1)
  t.is(stats(s.Node).coalescedHits, 1)
})
