// Stale serving (freshness.ts): staleWhileRevalidate, staleIfError, softTimeout, hardTimeout, on a
// local tier and a SQLite tier. Time is real but every wait is bounded and no assertion is about
// timing: TTLs are short, and a test waits past one before it reads the entry as stale.

import test from 'ava'
import {
  buildNode,
  Cache,
  type CacheErrorEvent,
  get,
  getAll,
  invalidate,
  LoadError,
  type LoadOptions,
  MsgPackSerializer,
  Node,
  NodeDefinitionError,
  type NodeMeta,
  onError,
  type RemoteStorage,
  stats,
} from '../../lib'
import { deferred, localAndSqlite, sleep, unique } from './helpers'

const { local, sql } = localAndSqlite('stale.db')
const events: CacheErrorEvent[] = []

test.before(() => {
  onError((event) => events.push(event))
})

// Long enough that an entry written just before a read is still fresh on a loaded host.
const TTL = 1000
/** Past the TTL of an entry written now, well within any window below. */
const pastTtl = () => sleep(TTL + 200)

type Step = (options: LoadOptions | undefined) => Promise<string>

/**
 * A node class with `options` over `caches`, whose loads take their behaviour from `steps` in turn
 * (the last one repeats); `loads` counts them and `signals` keeps what each load was given.
 */
function staleNode(options: Partial<NodeMeta>, caches: string[], steps: Step[]) {
  const name = unique('stale')
  const log = { loads: 0, signals: [] as (AbortSignal | undefined)[] }
  class StaleNode extends Node<string> {
    static meta: NodeMeta = {
      version: 'v1',
      caches: caches.map((storage) => new Cache({ storage, ttl: TTL })),
      ...options,
    }
    constructor(readonly id: number) {
      super()
    }
    key() {
      return `${name}:${this.id}`
    }
    load(options?: LoadOptions) {
      const step = steps[Math.min(log.loads, steps.length - 1)] as Step
      log.loads++
      log.signals.push(options?.signal)
      return step(options)
    }
  }
  return { StaleNode, log, stored: (id: number) => `cacheme:${name}:${id}:v1` }
}

/** Waits (at most 2 s) until `done()` holds; the assertion after it says what it proves. */
async function until(done: () => boolean): Promise<void> {
  for (let waited = 0; !done() && waited < 2000; waited += 10) await sleep(10)
}

const value =
  (v: string): Step =>
  async () =>
    v
const failure =
  (message: string): Step =>
  async () => {
    throw new Error(message)
  }

for (const caches of [['local'], ['sql'], ['local', 'sql']]) {
  const where = caches.join(' + ')

  test(`${where}: a stale entry is answered at once to 1,000 concurrent callers, with one background load`, async (t) => {
    const reload = deferred<string>()
    const { StaleNode, log } = staleNode({ staleWhileRevalidate: 60_000 }, caches, [
      value('first'),
      () => reload.promise,
    ])
    t.is(await get(new StaleNode(1)), 'first')
    await pastTtl()
    const answers = await Promise.all(Array.from({ length: 1000 }, () => get(new StaleNode(1))))
    t.true(
      answers.every((answer) => answer === 'first'),
      'every caller answered while the reload is still pending',
    )
    // The reload reads the lower tiers before it loads.
    await until(() => log.loads >= 2)
    await sleep(20)
    t.is(log.loads, 2, 'one load, then one background reload')
    const counts = stats(StaleNode)
    t.is(counts.backgroundReloadCount, 1)
    t.true(counts.staleAnswerCount >= 1)
    t.is(counts.requestCount, 1001)
    t.is(counts.hitCount, 1000)

    reload.resolve('second')
    await sleep(50)
    t.is(await get(new StaleNode(1)), 'second', 'the reloaded value is served once it lands')
    t.is(log.loads, 2)
    t.is(stats(StaleNode).inFlightCount, 0)
  })

  test(`${where}: staleIfError answers the stale entry when the load fails, and reports the failure`, async (t) => {
    const { StaleNode, log, stored } = staleNode({ staleIfError: 60_000 }, caches, [
      value('kept'),
      failure('source down'),
    ])
    t.is(await get(new StaleNode(1)), 'kept')
    await pastTtl()
    t.is(await get(new StaleNode(1)), 'kept')
    t.is(log.loads, 2)
    const counts = stats(StaleNode)
    t.is(counts.staleIfErrorCount, 1)
    t.is(counts.loadFailureCount, 1)
    t.is(counts.missCount, 2, 'the request that loaded counts as a miss, even when a stale entry answered')
    const event = events.find((e) => e.kind === 'load' && e.key === stored(1))
    t.truthy(event)
    t.true(event?.error instanceof LoadError)
    t.is(event?.error.code, 'CACHEME_LOAD')
    t.is((event?.error.cause as Error).message, 'source down')
    t.is(
      await get(new StaleNode(2)).catch((error: Error) => error.message),
      'source down',
      'no stale entry: the error',
    )
  })
}

test('a node without stale options treats an entry past its TTL as gone, on every tier', async (t) => {
  const { StaleNode, log } = staleNode({}, ['local', 'sql'], [value('a'), value('b')])
  t.is(await get(new StaleNode(1)), 'a')
  await pastTtl()
  t.is(await get(new StaleNode(1)), 'b')
  t.is(log.loads, 2)
})

test('a background reload that fails keeps the stale entry, counts, reports and rejects nothing', async (t) => {
  const { StaleNode, log, stored } = staleNode(
    { staleWhileRevalidate: 60_000 },
    ['local', 'sql'],
    [value('old'), failure('reload failed'), value('new')],
  )
  await get(new StaleNode(1))
  await pastTtl()
  t.is(await get(new StaleNode(1)), 'old')
  await sleep(50)
  t.is(log.loads, 2)
  t.is(stats(StaleNode).loadFailureCount, 1)
  t.truthy(events.find((e) => e.kind === 'load' && e.key === stored(1)))
  t.is(await get(new StaleNode(1)), 'old', 'still stale, answered again, and reloaded again')
  await sleep(50)
  t.is(await get(new StaleNode(1)), 'new')
})

test('a stale value is never filled back into an earlier tier', async (t) => {
  const reload = deferred<string>()
  const { StaleNode, stored } = staleNode(
    { staleWhileRevalidate: 60_000 },
    ['local', 'sql'],
    [value('old'), () => reload.promise],
  )
  await get(new StaleNode(1))
  await pastTtl()
  local.local?.delete(stored(1))
  t.is(await get(new StaleNode(1)), 'old', 'answered stale from SQLite')
  t.false(local.local?.has(stored(1)), 'nothing filled back into the local tier')
  reload.resolve('new')
  await sleep(50)
  t.is(await get(new StaleNode(1)), 'new')
})

/**
 * A buildNode class with `options` over `caches` whose loadAll records its batches and answers
 * `{id}@{round}`; from round 1 on it first waits for `gate` (if given), and fails while `fail` is set.
 */
function batchNode(options: Partial<NodeMeta>, caches: string[], gate?: Promise<void>) {
  const name = unique('batch')
  const state = { round: 0, fail: false, batches: [] as number[][] }
  const Batch = buildNode(name, {
    version: 'v1',
    caches: caches.map((storage) => new Cache({ storage, ttl: TTL })),
    ...options,
    key: (id: number) => `${name}:${id}`,
    loadAll: async (args) => {
      state.batches.push(args.map(([id]) => id))
      const at = state.round
      if (at > 0 && gate !== undefined) await gate
      if (state.fail) throw new Error('batch down')
      return args.map(([id]) => `${id}@${at}`)
    },
  })
  return { Batch, state }
}

test('getAll answers fresh and stale keys, and loads stale and missing keys with one loadAll', async (t) => {
  const { Batch, state } = batchNode({ staleWhileRevalidate: 60_000 }, ['local', 'sql'])
  await getAll([new Batch(3), new Batch(4)])
  await pastTtl()
  state.round = 1
  await getAll([new Batch(1), new Batch(2)])
  state.batches.length = 0
  state.round = 2
  const nodes = [1, 2, 3, 4, 5, 6].map((id) => new Batch(id))
  t.deepEqual(await getAll(nodes), ['1@1', '2@1', '3@0', '4@0', '5@2', '6@2'])
  t.deepEqual(state.batches, [[5, 6, 3, 4]], 'one loadAll for the missing and the stale keys')
  t.deepEqual(await getAll(nodes), ['1@1', '2@1', '3@2', '4@2', '5@2', '6@2'], 'reloaded values written')
  t.is(state.batches.length, 1)
  t.is(stats(Batch).backgroundReloadCount, 2)
})

test('getAll with only stale keys answers them and reloads them in the background with one loadAll', async (t) => {
  const reload = deferred<void>()
  const { Batch, state } = batchNode({ staleWhileRevalidate: 60_000 }, ['local'], reload.promise)
  await getAll([new Batch(1), new Batch(2)])
  await pastTtl()
  state.round = 1
  t.deepEqual(await getAll([new Batch(1), new Batch(2)]), ['1@0', '2@0'], 'answered while the reload waits')
  t.deepEqual(await get(new Batch(1)), '1@0', 'a get meanwhile is answered stale and starts no load')
  t.deepEqual(state.batches, [
    [1, 2],
    [1, 2],
  ])
  reload.resolve()
  await sleep(50)
  t.deepEqual(await getAll([new Batch(1), new Batch(2)]), ['1@1', '2@1'])
  t.is(state.batches.length, 2)
})

test('getAll answers the staleIfError entry of a key whose load fails', async (t) => {
  const { Batch, state } = batchNode({ staleIfError: 60_000 }, ['sql'])
  await getAll([new Batch(1)])
  await pastTtl()
  state.fail = true
  t.deepEqual(await getAll([new Batch(1)]), ['1@0'])
  await t.throwsAsync(getAll([new Batch(1), new Batch(2)]), { message: 'batch down' })
  t.is(stats(Batch).staleIfErrorCount, 2)
})

test('getAll: softTimeout answers staleIfError entries while the slow loadAll goes on and writes', async (t) => {
  const slow = deferred<void>()
  const { Batch, state } = batchNode(
    { staleIfError: 60_000, softTimeout: 30 },
    ['local', 'sql'],
    slow.promise,
  )
  await getAll([new Batch(1), new Batch(2)])
  await pastTtl()
  state.round = 1
  t.deepEqual(await getAll([new Batch(1), new Batch(2)]), ['1@0', '2@0'])
  t.is(stats(Batch).softTimeoutCount, 2)
  slow.resolve()
  await sleep(50)
  t.deepEqual(await getAll([new Batch(1), new Batch(2)]), ['1@1', '2@1'], 'the slow load wrote its values')
})

test('softTimeout answers the stale entry while the slow load goes on and fills the tiers', async (t) => {
  const slow = deferred<string>()
  const { StaleNode, log, stored } = staleNode(
    { staleIfError: 60_000, softTimeout: 30 },
    ['local', 'sql'],
    [value('old'), () => slow.promise],
  )
  await get(new StaleNode(1))
  await pastTtl()
  const [first, second] = await Promise.all([get(new StaleNode(1)), get(new StaleNode(1))])
  t.is(first, 'old')
  t.is(second, 'old')
  t.is(log.loads, 2)
  t.is(stats(StaleNode).softTimeoutCount, 1)
  t.is(await get(new StaleNode(1)), 'old', 'the load still in flight: later callers join its answer')
  t.is(log.loads, 2)
  slow.resolve('new')
  await sleep(50)
  local.local?.delete(stored(1))
  t.is(await get(new StaleNode(1)), 'new', 'written to SQLite by the load that outlived its soft timeout')
  t.is(local.local?.get(stored(1)) === undefined, false, 'and filled back')
})

test('hardTimeout rejects every waiter with LoadError CACHEME_TIMEOUT and aborts the signal', async (t) => {
  const { StaleNode, log } = staleNode({ hardTimeout: 30 }, ['local'], [() => new Promise<string>(() => {})])
  const waiters = [get(new StaleNode(1)), get(new StaleNode(1)), get(new StaleNode(1))]
  for (const waiter of waiters) {
    const error = await t.throwsAsync(waiter, { instanceOf: LoadError })
    t.is(error?.code, 'CACHEME_TIMEOUT')
  }
  t.is(log.loads, 1)
  t.true(log.signals[0]?.aborted)
  t.true(log.signals[0]?.reason instanceof LoadError)
  const counts = stats(StaleNode)
  t.is(counts.hardTimeoutCount, 1)
  t.is(counts.loadFailureCount, 1)
  t.is(counts.inFlightCount, 0)
})

test('hardTimeout with a staleIfError entry answers it instead of the timeout', async (t) => {
  const { StaleNode } = staleNode(
    { staleIfError: 60_000, hardTimeout: 30 },
    ['local'],
    [value('kept'), () => new Promise<string>(() => {})],
  )
  await get(new StaleNode(1))
  await pastTtl()
  t.is(await get(new StaleNode(1)), 'kept')
  const counts = stats(StaleNode)
  t.is(counts.hardTimeoutCount, 1)
  t.is(counts.staleIfErrorCount, 1)
})

test('buildNode load reads the signal as this.signal; loads that finish in time are unaffected', async (t) => {
  let seen: AbortSignal | undefined
  const name = unique('builtsignal')
  const Built = buildNode(name, {
    version: 'v1',
    caches: [new Cache({ storage: 'local', ttl: TTL })],
    hardTimeout: 30,
    key: (id: number) => `${name}:${id}`,
    async load(id: number) {
      seen = this.signal
      if (id === 1) return 'fast'
      return new Promise<string>((_, reject) => {
        this.signal?.addEventListener('abort', () => reject(new Error('stopped')))
      })
    },
  })
  t.is(await get(new Built(1)), 'fast')
  t.false(seen?.aborted)
  const error = await t.throwsAsync(get(new Built(2)), { instanceOf: LoadError })
  t.is(error?.code, 'CACHEME_TIMEOUT')
  t.true(seen?.aborted)
})

test('nodes without hardTimeout call load() with no argument, as before', async (t) => {
  const { StaleNode, log } = staleNode({ staleWhileRevalidate: 1000 }, ['local'], [value('x')])
  await get(new StaleNode(1))
  t.is(log.signals[0], undefined)
})

test('invalidate during a background reload wins: the reload writes nothing', async (t) => {
  const reload = deferred<string>()
  const { StaleNode, log, stored } = staleNode(
    { staleWhileRevalidate: 60_000 },
    ['local', 'sql'],
    [value('old'), () => reload.promise, value('after invalidate')],
  )
  await get(new StaleNode(1))
  await pastTtl()
  t.is(await get(new StaleNode(1)), 'old')
  await invalidate(new StaleNode(1))
  reload.resolve('reloaded before invalidate')
  await sleep(50)
  t.false(local.local?.has(stored(1)))
  t.is(await (sql.adapter as RemoteStorage).get(stored(1)), undefined)
  t.is(await get(new StaleNode(1)), 'after invalidate')
  t.is(log.loads, 3)
})

test('payloads in the format written before stamps read as fresh values', async (t) => {
  const { StaleNode, log, stored } = staleNode(
    { staleWhileRevalidate: 60_000, staleIfError: 60_000 },
    ['sql'],
    [value('loaded')],
  )
  const adapter = sql.adapter as RemoteStorage
  // Bytes exactly as the previous release wrote them: 0xCA, the MessagePack tag, the MessagePack body.
  const msgpack = new MsgPackSerializer()
  const old = Buffer.concat([Buffer.from([0xca, msgpack.tag as number]), msgpack.dumps({ a: [1, 'x'] })])
  await adapter.set(stored(1), old, 60_000)
  await adapter.set(stored(2), Buffer.alloc(0), 60_000)
  t.deepEqual((await get(new StaleNode(1))) as unknown, { a: [1, 'x'] })
  t.is(await get(new StaleNode(2)), undefined as unknown as string)
  t.is(log.loads, 0)
})

test('stamped payloads: marker 0xCB, written-at and TTL; the storage keeps them for TTL plus grace', async (t) => {
  const { StaleNode, stored } = staleNode(
    { staleWhileRevalidate: 5000, staleIfError: 9000 },
    ['sql'],
    [async () => undefined as unknown as string],
  )
  const before = Date.now()
  await get(new StaleNode(1))
  const payload = (await (sql.adapter as RemoteStorage).get(stored(1))) as Buffer
  t.is(payload[0], 0xcb)
  t.is(payload[1], new MsgPackSerializer().tag)
  const writtenAt = payload.readUIntBE(2, 6)
  t.true(writtenAt >= before - 1 && writtenAt <= Date.now())
  t.is(payload.readUIntBE(8, 6), TTL)
  t.is(payload.length, 14, 'undefined: an empty body')
  t.is(await get(new StaleNode(1)), undefined as unknown as string)
})

test('bad stale options are refused with a NodeDefinitionError naming the option', async (t) => {
  const cases: [Partial<NodeMeta>, RegExp][] = [
    [{ staleWhileRevalidate: -1 }, /staleWhileRevalidate must be a positive number/],
    [{ staleIfError: Number.NaN }, /staleIfError must be a positive number/],
    [{ softTimeout: 0, staleIfError: 10 }, /softTimeout must be a positive number/],
    [{ hardTimeout: Number.POSITIVE_INFINITY }, /hardTimeout must be a positive number/],
    [{ hardTimeout: '5' as unknown as number }, /hardTimeout must be a positive number/],
    [{ softTimeout: 10 }, /softTimeout .* needs staleIfError/],
    [
      { staleIfError: 10, softTimeout: 50, hardTimeout: 50 },
      /softTimeout \(50\) must be shorter than hardTimeout/,
    ],
  ]
  for (const [options, message] of cases) {
    const { StaleNode } = staleNode(options, ['local'], [value('x')])
    const error = await t.throwsAsync(get(new StaleNode(1)), { instanceOf: NodeDefinitionError, message })
    t.is(error?.code, 'CACHEME_INVALID_NODE')
  }
  const Built = buildNode(unique('bad'), {
    version: 'v1',
    key: () => unique('bad'),
    caches: [new Cache({ storage: 'local', ttl: TTL })],
    staleIfError: -5,
    load: async () => 'x',
  })
  await t.throwsAsync(get(new Built()), { instanceOf: NodeDefinitionError, message: /staleIfError/ })
})
