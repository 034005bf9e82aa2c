// Coalescing across getAll batches: a batch holds one flight per key it reads, which gets and other
// batches join like any other flight (one load per key), which invalidate and refresh retire, and
// which are gone once the batch is settled, whether it succeeds or fails.

import test from 'ava'
import { Cache, get, getAll, invalidate, Node, refresh, stats } from '../../lib'
import { deferred, localAndSqlite, sleep } from './helpers'

const { local } = localAndSqlite('coalesce-batch.db', 'lru', 100_000)

type Gate = ReturnType<typeof deferred<string>>

/**
 * A node class over local then SQLite whose loads the test releases: every load or loadAll call
 * takes the next gate and records which ids it loads.
 */
function scripted(name: string, options: { batched: boolean; caches?: Cache[] }) {
  const gates: Gate[] = []
  const loaded: number[][] = []
  const caches = options.caches ?? [
    new Cache({ storage: 'local', ttl: null }),
    new Cache({ storage: 'sql', ttl: null }),
  ]
  class Item extends Node<string> {
    static meta = { version: 'v1', caches }
    constructor(readonly id: number) {
      super()
    }
    key() {
      return `${name}:${this.id}`
    }
    async load() {
      loaded.push([this.id])
      const gate = deferred<string>()
      gates.push(gate)
      return `${await gate.promise}:${this.id}`
    }
  }
  class BatchedItem extends Item {
    static async loadAll(nodes: Item[]): Promise<string[]> {
      loaded.push(nodes.map((node) => node.id))
      const gate = deferred<string>()
      gates.push(gate)
      const value = await gate.promise
      return nodes.map((node) => `${value}:${node.id}`)
    }
  }
  return {
    Node: options.batched ? BatchedItem : Item,
    /** Ids passed to each load call so far, in call order. */
    loaded: () => loaded.map((ids) => [...ids].sort((a, b) => a - b)),
    /** Waits for load call number `n` (1-based) to start, then returns its gate. */
    async gate(n: number): Promise<Gate> {
      while (gates.length < n) await sleep(1)
      return gates[n - 1] as Gate
    },
  }
}

test('two overlapping getAll batches and gets load each key exactly once', async (t) => {
  const s = scripted('overlap', { batched: true })
  const first = getAll([new s.Node(1), new s.Node(2), new s.Node(3)])
  await s.gate(1)
  // Every key of these calls is either in the first batch's flights or new.
  const second = getAll([new s.Node(3), new s.Node(4), new s.Node(1)])
  const single = get(new s.Node(2))
  ;(await s.gate(2)).resolve('b')
  ;(await s.gate(1)).resolve('a')
  t.deepEqual(await first, ['a:1', 'a:2', 'a:3'])
  t.deepEqual(await second, ['a:3', 'b:4', 'a:1'], 'keys 3 and 1 joined the first batch')
  t.is(await single, 'a:2', 'the get joined the first batch')
  t.deepEqual(s.loaded(), [[1, 2, 3], [4]])
  const metrics = stats(s.Node)
  t.is(metrics.requestCount, 7)
  t.is(metrics.missCount, 4, 'one miss per key loaded')
  t.is(metrics.coalescedHits, 3, 'two keys of the second batch and the get')
  t.is(metrics.inFlightCount, 0)
})

test('10,000 concurrent single-key getAlls and gets of one cold key run exactly one load', async (t) => {
  const s = scripted('herd', { batched: false })
  const calls: Promise<unknown>[] = []
  for (let i = 0; i < 5_000; i++) {
    calls.push(getAll([new s.Node(7)]))
    calls.push(get(new s.Node(7)))
  }
  ;(await s.gate(1)).resolve('v')
  const values = await Promise.all(calls)
  t.true(values.every((value) => (Array.isArray(value) ? value[0] === 'v:7' : value === 'v:7')))
  t.deepEqual(s.loaded(), [[7]])
  t.is(stats(s.Node).coalescedHits, 9_999)
  t.is(stats(s.Node).inFlightCount, 0)
})

test('a get whose load fails rejects the getAll that joined it, with the same error', async (t) => {
  const s = scripted('joinfail', { batched: true })
  const failure = new Error('source down')
  const single = t.throwsAsync(get(new s.Node(1)), { is: failure })
  await s.gate(1)
  const all = t.throwsAsync(getAll([new s.Node(2), new s.Node(1)]), { is: failure })
  ;(await s.gate(2)).resolve('batch')
  ;(await s.gate(1)).reject(failure)
  await single
  await all
  t.is(stats(s.Node).inFlightCount, 0)
  t.is(await get(new s.Node(2)), 'batch:2', 'the key the batch loaded itself was cached')
  const again = get(new s.Node(1))
  ;(await s.gate(3)).resolve('retry')
  t.is(await again, 'retry:1', 'the failed key loads again')
})

test('a failed batch that nobody joined rejects only its caller and leaves no flight', async (t) => {
  const s = scripted('lonefail', { batched: true })
  const all = getAll([new s.Node(1), new s.Node(2), new s.Node(1)])
  const failure = new Error('batch failed')
  ;(await s.gate(1)).reject(failure)
  await t.throwsAsync(all, { is: failure })
  t.is(stats(s.Node).inFlightCount, 0)
  t.deepEqual(s.loaded(), [[1, 2]], 'the repeated node was loaded once')
})

test('per-key load failures: getAll rejects with the first failed key in input order', async (t) => {
  const s = scripted('perkey', { batched: false })
  const second = new Error('key 2 failed')
  const third = new Error('key 3 failed')
  // Assertions attached at once: the joined get of key 3 fails before getAll has written key 1.
  const all = t.throwsAsync(getAll([new s.Node(1), new s.Node(2), new s.Node(3)]), { is: second })
  const joinedOk = get(new s.Node(1))
  const joinedFailed = t.throwsAsync(get(new s.Node(3)), { is: third })
  ;(await s.gate(3)).reject(third)
  ;(await s.gate(2)).reject(second)
  ;(await s.gate(1)).resolve('ok')
  await all
  await joinedFailed
  t.is(await joinedOk, 'ok:1', 'a get joined to a key that loaded gets its value')
  t.is(stats(s.Node).inFlightCount, 0)
  t.is(await get(new s.Node(1)), 'ok:1', 'the key that loaded was cached')
  t.deepEqual(s.loaded(), [[1], [2], [3]])
})

test('invalidate during a batch: the batch answers, but the invalidated key is not cached', async (t) => {
  const s = scripted('batchinval', { batched: true })
  const all = getAll([new s.Node(1), new s.Node(2)])
  const gate = await s.gate(1)
  await invalidate(new s.Node(1))
  const after = get(new s.Node(1))
  ;(await s.gate(2)).resolve('new')
  gate.resolve('old')
  t.deepEqual(await all, ['old:1', 'old:2'])
  t.is(await after, 'new:1', 'a get after the invalidate did not join the retired flight')
  t.is(await get(new s.Node(1)), 'new:1', 'the retired flight wrote nothing over the newer load')
  t.is(await get(new s.Node(2)), 'old:2', 'the other key was cached')
  t.deepEqual(s.loaded(), [[1, 2], [1]])
  t.is(stats(s.Node).inFlightCount, 0)
})

test('refresh during a batch: the batch does not fill back the row it read before the refresh', async (t) => {
  const s = scripted('batchrefr', { batched: true })
  const warm = getAll([new s.Node(1)])
  ;(await s.gate(1)).resolve('old')
  t.deepEqual(await warm, ['old:1'])
  // Only SQLite holds key 1 now: the batch reads it there and would fill it back into the local tier.
  local.local?.delete('cacheme:batchrefr:1:v1')
  const all = getAll([new s.Node(1), new s.Node(2)])
  const refreshed = refresh(new s.Node(1))
  ;(await s.gate(2)).resolve('fresh')
  ;(await s.gate(3)).resolve('batch')
  t.is(await refreshed, 'fresh:1')
  const values = await all
  t.is(values[1], 'batch:2')
  t.true(values[0] === 'old:1' || values[0] === 'fresh:1', `batch answered ${values[0]}`)
  t.is(await get(new s.Node(1)), 'fresh:1', 'the local tier holds the refreshed value')
  local.local?.delete('cacheme:batchrefr:1:v1')
  t.is(await get(new s.Node(1)), 'fresh:1', 'so does SQLite')
  t.deepEqual(s.loaded(), [[1], [1], [2]])
  t.is(stats(s.Node).inFlightCount, 0)
})

test('a batch answered by a remote tier: a concurrent batch joins its keys and no flight is left', async (t) => {
  const s = scripted('remotehit', {
    batched: true,
    caches: [new Cache({ storage: 'sql', ttl: null })],
  })
  const warm = getAll([new s.Node(1), new s.Node(2)])
  ;(await s.gate(1)).resolve('v')
  await warm
  const before = stats(s.Node)
  const [a, b] = await Promise.all([
    getAll([new s.Node(1), new s.Node(2)]),
    getAll([new s.Node(2), new s.Node(1)]),
  ])
  t.deepEqual(a, ['v:1', 'v:2'])
  t.deepEqual(b, ['v:2', 'v:1'])
  const after = stats(s.Node)
  t.is(after.requestCount - before.requestCount, 4)
  t.is(after.hitCount - before.hitCount, 4)
  t.is((after.hitsByCache.sql ?? 0) - (before.hitsByCache.sql ?? 0), 2, 'the first batch read SQLite')
  t.is(after.coalescedHits - before.coalescedHits, 2, 'the second batch joined the first one')
  t.is(after.inFlightCount, 0)
  t.deepEqual(s.loaded(), [[1, 2]])
})

test('a key repeated in one batch is read and loaded once; repeats count where the key was found', async (t) => {
  const s = scripted('repeats', { batched: true, caches: [new Cache({ storage: 'sql', ttl: null })] })
  const warm = getAll([new s.Node(1)])
  ;(await s.gate(1)).resolve('warm')
  await warm
  const before = stats(s.Node)
  const all = getAll([new s.Node(2), new s.Node(1), new s.Node(2), new s.Node(1), new s.Node(3)])
  ;(await s.gate(2)).resolve('load')
  t.deepEqual(await all, ['load:2', 'warm:1', 'load:2', 'warm:1', 'load:3'])
  t.deepEqual(s.loaded(), [[1], [2, 3]], 'keys 2 and 3 loaded together, once each')
  const after = stats(s.Node)
  t.is(after.requestCount - before.requestCount, 5)
  t.is(after.missCount - before.missCount, 2, 'keys 2 and 3')
  t.is((after.hitsByCache.sql ?? 0) - (before.hitsByCache.sql ?? 0), 2, 'key 1 twice, found in SQLite')
  t.is(after.coalescedHits - before.coalescedHits, 1, 'the repeat of key 2 shared its load')
  t.is(after.inFlightCount, 0)
})
