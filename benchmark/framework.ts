// The framework's hot path against its peers, in one run on this machine (SPEC §5):
//   `await get(new UserNode(id))` on a local hit vs `await lruCache.get(key)` (the floor),
//   cache-manager `wrap`, bentocache `getOrSet` (both memory-only) and async-cache-dedupe (memory),
//   and `await getAll(20 nodes)` vs the same peers asked for 20 keys at once (Promise.all; the floor
//   is 20 lru-cache gets behind one await),
// every contender building its keys from the ids on each call, over the same Zipf id sequence, in
// interleaved rounds so drift of the machine hits all of them alike. Then the measurement behind the
// SQLite worker thread: how long a burst of writes stalls the event loop, on the main thread vs in a
// worker. Prints figures, asserts nothing.
//
//   node dist/benchmark/framework.js [--quick] [--json FILE]   (BENCH_OPS=… operations per contender)

import { rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { createCache as createDedupe } from 'async-cache-dedupe'
import { createCache } from 'cache-manager'
import { LRUCache } from 'lru-cache'
import { Cache, close, get, getAll, Node, registerStorage, Storage } from '../lib'
import type { RemoteStorage } from '../lib/storages/remote'
import { emit, int, quick, table, times } from './section'
import { zipfIds } from './zipf'

const KEYS = 100_000
const OPS = Number(process.env.BENCH_OPS ?? (quick ? 100_000 : 500_000))
const BATCH = 20
const ROUNDS = quick ? 3 : 5

interface User {
  id: number
  name: string
}

const users: User[] = Array.from({ length: KEYS }, (_, id) => ({ id, name: `user ${id}` }))

class UserNode extends Node<User> {
  static meta = { version: 'v1', caches: [new Cache({ storage: 'local', ttl: null })] }
  constructor(readonly id: number) {
    super()
  }
  key() {
    return `user:${this.id}`
  }
  async load(): Promise<User> {
    return users[this.id] as User
  }
}

/** `run` serves requests from..to − 1 of the id sequence (one id per get, BATCH ids per getAll). */
type Contender = { name: string; run(ids: Uint32Array, from: number, to: number): Promise<number> }

interface Peers {
  get: Contender[]
  getAll: Contender[]
}

async function contenders(): Promise<Peers> {
  await registerStorage('local', new Storage({ url: 'local://lru', size: KEYS }))
  for (let id = 0; id < KEYS; id++) await get(new UserNode(id))

  const lru = new LRUCache<string, User>({ max: KEYS })
  for (let id = 0; id < KEYS; id++) lru.set(`user:${id}`, users[id] as User)

  const manager = createCache()
  for (let id = 0; id < KEYS; id++) await manager.set(`user:${id}`, users[id] as User)

  // bentocache ships as ESM only: imported dynamically from this CommonJS build.
  const { BentoCache, bentostore } = await import('bentocache')
  const { memoryDriver } = await import('bentocache/drivers/memory')
  const bento = new BentoCache({
    default: 'memory',
    stores: { memory: bentostore().useL1Layer(memoryDriver({ maxItems: KEYS * 2 })) },
  })
  for (let id = 0; id < KEYS; id++)
    await bento.set({ key: `user:${id}`, value: users[id] as User, ttl: '1h' })

  // async-cache-dedupe: a memoized function per name, keyed by its (serialized) argument.
  const dedupe = createDedupe({ ttl: 3600, storage: { type: 'memory', options: { size: KEYS * 2 } } }).define(
    'user',
    async (id: number) => users[id] as User,
  )
  for (let id = 0; id < KEYS; id++) await dedupe.user(id)

  const one: Record<string, (id: number) => Promise<User> | User | undefined> = {
    'lru-cache get (floor)': (id) => lru.get(`user:${id}`),
    'cacheme get': (id) => get(new UserNode(id)),
    'cache-manager wrap': (id) => manager.wrap(`user:${id}`, async () => users[id] as User),
    'bentocache getOrSet': (id) =>
      bento.getOrSet({ key: `user:${id}`, factory: () => users[id] as User, ttl: '1h' }),
    'async-cache-dedupe': (id) => dedupe.user(id),
  }
  // Each loop sums a field so no contender's result can be dropped as unused.
  const single: Contender[] = Object.entries(one).map(([name, fetch]) => ({
    name,
    async run(ids, from, to) {
      let sum = 0
      for (let i = from; i < to; i++) sum += ((await fetch(ids[i] as number)) as User).id
      return sum
    },
  }))
  const batchOf = (ids: Uint32Array, i: number) => ids.subarray(i * BATCH, i * BATCH + BATCH)
  const sum = (values: (User | undefined)[]) => values.reduce((s, u) => s + (u as User).id, 0)
  const batch: Contender[] = [
    {
      name: `lru-cache × ${BATCH}, one await (floor)`,
      async run(ids, from, to) {
        let total = 0
        for (let i = from; i < to; i++) {
          total += sum(await Array.from(batchOf(ids, i), (id) => lru.get(`user:${id}`)))
        }
        return total
      },
    },
    {
      name: `cacheme getAll(${BATCH})`,
      async run(ids, from, to) {
        let total = 0
        for (let i = from; i < to; i++) {
          total += sum(await getAll(Array.from(batchOf(ids, i), (id) => new UserNode(id))))
        }
        return total
      },
    },
    ...Object.entries(one)
      .filter(([name]) => !name.includes('floor') && !name.startsWith('cacheme'))
      .map(
        ([name, fetch]): Contender => ({
          name: `${name} × ${BATCH} (Promise.all)`,
          async run(ids, from, to) {
            let total = 0
            for (let i = from; i < to; i++) {
              total += sum(await Promise.all(Array.from(batchOf(ids, i), (id) => fetch(id))))
            }
            return total
          },
        }),
      ),
  ]
  return { get: single, getAll: batch }
}

/** Operations per second of each contender over `total` operations split into ROUNDS rounds. */
async function measure(all: Contender[], ids: Uint32Array, total: number): Promise<Map<string, number>> {
  const elapsed = new Map<string, number>(all.map((c) => [c.name, 0]))
  const chunk = Math.ceil(total / ROUNDS)
  // Warm-up (JIT), not timed.
  for (const contender of all) await contender.run(ids, 0, Math.min(total, Math.max(1000, chunk >> 2)))
  let check = 0
  for (let round = 0; round < ROUNDS; round++) {
    const from = round * chunk
    const to = Math.min(total, from + chunk)
    // Rotate the order each round so none always runs first (or right after a GC-heavy peer).
    for (let k = 0; k < all.length; k++) {
      const contender = all[(round + k) % all.length] as Contender
      const start = process.hrtime.bigint()
      check += await contender.run(ids, from, to)
      elapsed.set(
        contender.name,
        (elapsed.get(contender.name) ?? 0) + Number(process.hrtime.bigint() - start),
      )
    }
  }
  if (check === 0) console.log('(checksum 0)')
  return new Map(all.map((c) => [c.name, total / ((elapsed.get(c.name) ?? 1) / 1e9)]))
}

interface HitRow {
  name: string
  opsPerSec: number
}

/** One table: ops/s, × the floor (first row), and cacheme × each peer. */
function hitTable(rows: HitRow[], unit: string): string {
  const floor = rows[0] as HitRow
  const cacheme = rows.find((r) => r.name.startsWith('cacheme')) as HitRow
  return table(
    ['contender', `${unit}/s`, '× floor', 'cacheme × this'],
    rows.map((r) => [
      r.name,
      int(r.opsPerSec),
      times(r.opsPerSec / floor.opsPerSec),
      times(cacheme.opsPerSec / r.opsPerSec),
    ]),
  )
}

async function hitPath(): Promise<{ get: HitRow[]; getAll: HitRow[] }> {
  const ids = zipfIds(KEYS, 0.99, OPS)
  const peers = await contenders()
  const rows = (m: Map<string, number>) => [...m].map(([name, opsPerSec]) => ({ name, opsPerSec }))
  const single = rows(await measure(peers.get, ids, OPS))
  const batch = rows(await measure(peers.getAll, ids, Math.floor(OPS / BATCH)))
  await close()
  return { get: single, getAll: batch }
}

/** Event-loop stalls while `writes` concurrent 200-byte writes go to SQLite. */
async function sqliteStall(
  poolSize: number,
  writes: number,
): Promise<{ ms: number; medianGapMs: number; maxGapMs: number }> {
  const file = join(tmpdir(), `cacheme-bench-${process.pid}-${poolSize}.db`)
  const storage = new Storage({ url: `sqlite://${file}`, poolSize })
  await registerStorage(`stall${poolSize}`, storage)
  const adapter = storage.adapter as RemoteStorage
  const payload = Buffer.alloc(200, 7)
  const delay = monitorEventLoopDelay({ resolution: 1 })
  // A 1 ms ticker measures the gaps between turns of the loop directly.
  let last = performance.now()
  const gaps: number[] = []
  const ticker = setInterval(() => {
    const now = performance.now()
    gaps.push(now - last)
    last = now
  }, 1)
  await new Promise((resolve) => setTimeout(resolve, 20))
  delay.enable()
  gaps.length = 0
  last = performance.now()
  const start = performance.now()
  const pending: Promise<void>[] = []
  // Bursts of 1,000 writes per tick, as a busy service would issue them.
  for (let i = 0; i < writes; i++) {
    pending.push(adapter.set(`key:${i}`, payload, 60_000))
    if (i % 1000 === 999) await new Promise((resolve) => setImmediate(resolve))
  }
  await Promise.all(pending)
  const ms = performance.now() - start
  delay.disable()
  clearInterval(ticker)
  await close()
  for (const suffix of ['', '-wal', '-shm']) rmSync(file + suffix, { force: true })
  gaps.sort((a, b) => a - b)
  return {
    ms,
    medianGapMs: gaps[gaps.length >> 1] ?? 0,
    maxGapMs: Math.max(gaps[gaps.length - 1] ?? 0, delay.max / 1e6),
  }
}

async function main(): Promise<void> {
  const hits = await hitPath()
  const writes = quick ? 5_000 : 20_000
  const stalls: { label: string; ms: number; medianGapMs: number; maxGapMs: number }[] = []
  for (const [label, poolSize] of [
    ['main thread (poolSize 0)', 0],
    ['worker thread (poolSize 1)', 1],
  ] as const) {
    stalls.push({ label, ...(await sqliteStall(poolSize, writes)) })
  }
  const worker = stalls[1] as (typeof stalls)[number]
  const markdown = [
    `Local hits only (every key present), ${int(KEYS)} keys, the same Zipf(0.99) id sequence for every ` +
      `contender (${int(OPS)} gets; ${int(OPS / BATCH)} batches of ${BATCH} ids), ${ROUNDS} interleaved ` +
      'rounds with the order rotated. Every contender builds its key(s) from the id on each call; ' +
      'cacheme uses a `local://lru` tier; the peers their in-memory stores.',
    `#### \`await get(node)\`\n\n${hitTable(hits.get, 'gets')}`,
    `#### \`await getAll(${BATCH} nodes)\`\n\n${hitTable(hits.getAll, 'calls')}\n\nNo peer has a batch get ` +
      `that loads on a miss, so each peer does ${BATCH} of its single gets under one Promise.all.`,
    `#### SQLite: event-loop stall during ${int(writes)} concurrent 200-byte writes (1,000 per tick)\n\n` +
      table(
        [
          'where SQLite runs',
          'total ms',
          'event-loop turn gap, median ms',
          'longest gap ms',
          'median gap × worker',
        ],
        stalls.map((s) => [
          s.label,
          s.ms.toFixed(0),
          s.medianGapMs.toFixed(1),
          s.maxGapMs.toFixed(1),
          times(s.medianGapMs / worker.medianGapMs),
        ]),
      ),
  ].join('\n\n')
  emit('framework', 'Framework: await get / getAll on local hits', markdown, { ...hits, stalls })
}

main().catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
