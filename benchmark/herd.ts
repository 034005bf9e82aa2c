// Thundering herd: 10,000 concurrent gets of 100 cold keys (100 callers per key, all issued in one
// tick), the load sleeping LOAD_MS like a database call. Loads per key (1 means every caller of a key
// shared one load) and the callers' latency, p50 / p99, against peers that coalesce concurrent
// misses (bentocache getOrSet, async-cache-dedupe, cache-manager wrap, which coalesces since v6) and
// one that does not (lru-cache: get, load on a miss, set — what hand-written caching does).
//
//   node dist/benchmark/herd.js [--quick] [--json FILE]

import { setTimeout as sleep } from 'node:timers/promises'
import { createCache as createDedupe } from 'async-cache-dedupe'
import { createCache as createManager } from 'cache-manager'
import { LRUCache } from 'lru-cache'
import { Cache, close, get, Node, registerStorage, Storage } from '../lib'
import { emit, int, median, quantile, quick, table, times } from './section'

const KEYS = 100
const CALLERS = 10_000
const LOAD_MS = 20
const ROUNDS = quick ? 2 : 5

interface Contender {
  name: string
  /** Gets `key` through the contender, which calls `source(key)` on a miss. */
  get(key: string): Promise<string>
}

/** The data source every contender loads from; each round installs its own (to count loads). */
let source: (key: string) => Promise<string> = async (key) => key
const load = (key: string) => source(key)

async function contenders(): Promise<Contender[]> {
  await registerStorage('herd', new Storage({ url: 'local://tlfu', size: 100_000 }))
  class HerdNode extends Node<string> {
    static meta = { version: 'v1', caches: [new Cache({ storage: 'herd', ttl: null })] }
    constructor(readonly id: string) {
      super()
    }
    key() {
      return this.id
    }
    load(): Promise<string> {
      return load(this.id)
    }
  }
  const { BentoCache, bentostore } = await import('bentocache')
  const { memoryDriver } = await import('bentocache/drivers/memory')
  const bento = new BentoCache({
    default: 'memory',
    stores: { memory: bentostore().useL1Layer(memoryDriver({ maxItems: 100_000 })) },
  })
  const manager = createManager()
  const lru = new LRUCache<string, string>({ max: 100_000 })
  const dedupe = createDedupe({ ttl: 3600, storage: { type: 'memory', options: { size: 100_000 } } }).define(
    'load',
    load,
  )
  return [
    { name: 'cacheme get', get: (key) => get(new HerdNode(key)) },
    {
      name: 'bentocache getOrSet',
      get: (key) => bento.getOrSet({ key, factory: () => load(key), ttl: '1h' }),
    },
    { name: 'async-cache-dedupe', get: (key) => dedupe.load(key) },
    { name: 'cache-manager wrap', get: (key) => manager.wrap(key, () => load(key)) },
    {
      name: 'lru-cache, get → load → set (no coalescing)',
      async get(key) {
        const hit = lru.get(key)
        if (hit !== undefined) return hit
        const value = await load(key)
        lru.set(key, value)
        return value
      },
    },
  ]
}

interface Result {
  name: string
  maxLoadsPerKey: number
  meanLoadsPerKey: number
  p50: number
  p99: number
  wallMs: number
}

async function round(c: Contender, prefix: string) {
  const loads = new Map<string, number>()
  const latencies = new Float64Array(CALLERS)
  source = async (key) => {
    loads.set(key, (loads.get(key) ?? 0) + 1)
    await sleep(LOAD_MS)
    return `value of ${key}`
  }
  const start = performance.now()
  await Promise.all(
    Array.from({ length: CALLERS }, async (_, i) => {
      const key = `${prefix}:${i % KEYS}`
      const t0 = performance.now()
      const value = await c.get(key)
      latencies[i] = performance.now() - t0
      if (value !== `value of ${key}`) throw new Error(`${c.name} returned ${value} for ${key}`)
    }),
  )
  return { wallMs: performance.now() - start, loads: [...loads.values()], latencies }
}

async function main(): Promise<void> {
  const all = await contenders()
  const samples = new Map<string, { loads: number[]; latencies: number[]; walls: number[] }>(
    all.map((c) => [c.name, { loads: [], latencies: [], walls: [] }]),
  )
  // Warm-up round (JIT), not counted; then rounds with the order rotated, every round on fresh keys.
  for (const [i, c] of all.entries()) await round(c, `warm${i}`)
  for (let r = 0; r < ROUNDS; r++) {
    for (let k = 0; k < all.length; k++) {
      const index = (r + k) % all.length
      const c = all[index] as Contender
      const { wallMs, loads, latencies } = await round(c, `r${r}c${index}`)
      const s = samples.get(c.name)
      s?.walls.push(wallMs)
      s?.loads.push(...loads)
      for (const l of latencies) s?.latencies.push(l)
    }
  }
  await close()
  const results: Result[] = all.map((c) => {
    const s = samples.get(c.name) ?? { loads: [], latencies: [], walls: [] }
    const sorted = Float64Array.from(s.latencies).sort()
    return {
      name: c.name,
      maxLoadsPerKey: Math.max(...s.loads),
      meanLoadsPerKey: s.loads.reduce((a, b) => a + b, 0) / Math.max(1, s.loads.length),
      p50: quantile(sorted, 0.5),
      p99: quantile(sorted, 0.99),
      wallMs: median(s.walls),
    }
  })
  const peer = results.find((r) => r.name === 'bentocache getOrSet') as Result
  const markdown = [
    `${int(CALLERS)} concurrent gets of ${KEYS} cold keys (${CALLERS / KEYS} callers per key, all issued in ` +
      `one tick), load = ${LOAD_MS} ms sleep; ${ROUNDS} rounds per contender on fresh keys, order rotated, ` +
      'after one warm-up round. Latency is per caller, from its call to its result; the floor is the load ' +
      `itself (${LOAD_MS} ms). Ratios are to bentocache getOrSet (lower is better).`,
    table(
      [
        'contender',
        'loads per key (max)',
        'loads per key (mean)',
        'p50 ms',
        'p99 ms',
        'wall ms (median)',
        'p50 × bentocache',
        'p99 × bentocache',
        'wall × bentocache',
      ],
      results.map((r) => [
        r.name,
        int(r.maxLoadsPerKey),
        r.meanLoadsPerKey.toFixed(2),
        r.p50.toFixed(1),
        r.p99.toFixed(1),
        r.wallMs.toFixed(1),
        times(r.p50 / peer.p50),
        times(r.p99 / peer.p99),
        times(r.wallMs / peer.wallMs),
      ]),
    ),
  ].join('\n\n')
  emit('herd', 'Thundering herd', markdown, {
    keys: KEYS,
    callers: CALLERS,
    loadMs: LOAD_MS,
    rounds: ROUNDS,
    results,
  })
}

main().catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
