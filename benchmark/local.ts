// Sync throughput of the local storage against lru-cache, mnemonist, @isaacs/ttlcache and the N-API
// floor, on the same 100k keys and the same Zipf(1.0) sequence, in one run with interleaved rounds:
// get (hit), set (overwrite) and mixed 90% get / 10% set. Then memory per entry at 1M entries, each
// contender in a fresh process (--expose-gc).
//
//   node --expose-gc dist/benchmark/local.js [--quick] [--json FILE]

import { execFileSync } from 'node:child_process'
import { TTLCache } from '@isaacs/ttlcache'
import { LRUCache } from 'lru-cache'
import { LRUCacheWithDelete } from 'mnemonist'

import { LocalStore } from '../lib'
import { emit, median, quick, table, times } from './section'
import { zipfIds } from './zipf'

/** The no-op calls of the floor rows, in a binding built with the cargo feature `bench-floor`. */
interface FloorBinding {
  createBenchmarkFloor(): {
    readKey(key: string): number
    readKeyLatin1(key: string): number
    /** The key read plus a plain Rust HashMap lookup: slot or -1. */
    mapGet(key: string): number
    mapSet(key: string): number
  }
  benchmarkFloorNapiString(key: string): number
}

/** The benchmark binding is built apart so that the shipped one carries no benchmark code. */
function floorBinding(): FloorBinding {
  try {
    return require('../../native/bench/binding.js') as FloorBinding
  } catch (cause) {
    throw new Error('the benchmark floor is not built: run "npm run build:native:bench" first', { cause })
  }
}

const KEYS = 100_000
const REQUESTS = quick ? 200_000 : 500_000
const ROUNDS = quick ? 3 : 5
/** set and mixed run over the first half of the sequence (@isaacs/ttlcache sets are slow). */
const WRITE_REQUESTS = REQUESTS / 2
/** Keys per getMany call. */
const BATCH = 20
/** @isaacs/ttlcache keeps entries by expiry time; every entry gets this TTL. */
const TTL_MS = 3_600_000

interface Contender {
  name: string
  get: (key: string) => unknown
  set: (key: string, value: number) => void
  /** Values of many keys: one native call for cacheme, one `get` per key for the peers. */
  getMany?: (keys: string[]) => unknown[]
}

/** What a cache without a batch read does for many keys: one `get` each. */
function eachGet(get: (key: string) => unknown): (keys: string[]) => unknown[] {
  return (keys) => {
    const out = new Array<unknown>(keys.length)
    for (let i = 0; i < keys.length; i++) out[i] = get(keys[i] as string)
    return out
  }
}

function contenders(): Contender[] {
  const tlfu = new LocalStore('tlfu', KEYS)
  const lru = new LocalStore('lru', KEYS)
  const lruCache = new LRUCache<string, number>({ max: KEYS })
  const mnemonist = new LRUCacheWithDelete<string, number>(KEYS)
  const ttlCache = new TTLCache<string, number>({ max: KEYS, ttl: TTL_MS })
  const floorNative = floorBinding()
  const floor = floorNative.createBenchmarkFloor()
  return [
    {
      name: 'N-API floor (reads the key, no cache)',
      get: (k) => floor.readKey(k),
      set: (k) => floor.readKey(k),
    },
    {
      name: 'floor variant: Latin-1 read (lossy, not usable)',
      get: (k) => floor.readKeyLatin1(k),
      set: (k) => floor.readKeyLatin1(k),
    },
    {
      name: 'floor variant: napi-rs String argument',
      get: (k) => floorNative.benchmarkFloorNapiString(k),
      set: (k) => floorNative.benchmarkFloorNapiString(k),
    },
    {
      name: 'floor + bare Rust HashMap lookup (no policy, no expiry)',
      get: (k) => floor.mapGet(k),
      set: (k) => floor.mapSet(k),
    },
    {
      name: 'cacheme local://tlfu',
      get: (k) => tlfu.get(k),
      set: (k, v) => tlfu.set(k, v),
      getMany: (ks) => tlfu.getMany(ks),
    },
    {
      name: 'cacheme local://lru',
      get: (k) => lru.get(k),
      set: (k, v) => lru.set(k, v),
      getMany: (ks) => lru.getMany(ks),
    },
    {
      name: 'lru-cache',
      get: (k) => lruCache.get(k),
      set: (k, v) => lruCache.set(k, v),
      getMany: eachGet((k) => lruCache.get(k)),
    },
    {
      name: 'mnemonist LRUCache',
      get: (k) => mnemonist.get(k),
      set: (k, v) => mnemonist.set(k, v),
      getMany: eachGet((k) => mnemonist.get(k)),
    },
    {
      name: '@isaacs/ttlcache (1 h TTL)',
      get: (k) => ttlCache.get(k),
      set: (k, v) => ttlCache.set(k, v),
      getMany: eachGet((k) => ttlCache.get(k)),
    },
  ]
}

/** Operations per second of `op` over the sequence, best of the rounds it is given. */
function throughput(sequence: string[], op: (key: string, i: number) => unknown): number {
  const start = process.hrtime.bigint()
  let sink = 0
  for (let i = 0; i < sequence.length; i++) {
    if (op(sequence[i] as string, i) !== undefined) sink++
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9
  if (sink < 0) console.log(sink)
  return sequence.length / seconds
}

/** Keys per second read through `getMany`, one call per batch. */
function batchThroughput(batches: string[][], getMany: (keys: string[]) => unknown[]): number {
  const start = process.hrtime.bigint()
  let sink = 0
  for (const batch of batches) sink += getMany(batch).length
  const seconds = Number(process.hrtime.bigint() - start) / 1e9
  if (sink < 0) console.log(sink)
  return (batches.length * BATCH) / seconds
}

interface ThroughputRow {
  name: string
  opsPerSec: number
  vsLruCache: number
  vsFloor: number
}

function rowsOf(results: Map<string, number[]>, reference: string, floor: string): ThroughputRow[] {
  const ref = median(results.get(reference) ?? [1])
  const floorOps = results.has(floor) ? median(results.get(floor) ?? []) : Number.NaN
  return [...results].map(([name, samples]) => {
    const ops = median(samples)
    return { name, opsPerSec: ops, vsLruCache: ops / ref, vsFloor: ops / floorOps }
  })
}

function markdownOf(title: string, rows: ThroughputRow[]): string {
  return `#### ${title}\n\n${table(
    ['contender', `M ops/s (median of ${ROUNDS})`, '× lru-cache', '× N-API floor'],
    rows.map((r) => [
      r.name,
      (r.opsPerSec / 1e6).toFixed(2),
      times(r.vsLruCache),
      Number.isNaN(r.vsFloor) ? '—' : times(r.vsFloor),
    ]),
  )}`
}

function runThroughput(): Record<string, ThroughputRow[]> {
  const keys = Array.from({ length: KEYS }, (_, i) => `user:${i}:info:v1`)
  const ids = zipfIds(KEYS, 1.0, REQUESTS)
  const sequence = Array.from(ids, (id) => keys[id] as string)
  const writes = sequence.slice(0, WRITE_REQUESTS)
  const all = contenders()
  const hits = new Map<string, number[]>()
  const sets = new Map<string, number[]>()
  const mixed = new Map<string, number[]>()
  const batched = new Map<string, number[]>()
  const batches = Array.from({ length: Math.floor(sequence.length / BATCH) }, (_, i) =>
    sequence.slice(i * BATCH, (i + 1) * BATCH),
  )
  for (const c of all) {
    for (let i = 0; i < KEYS; i++) c.set(keys[i] as string, i)
    hits.set(c.name, [])
    sets.set(c.name, [])
    mixed.set(c.name, [])
    if (c.getMany) batched.set(c.name, [])
  }
  // Interleaved rounds: every contender runs once per round, so drift hits all alike.
  for (let round = 0; round < ROUNDS; round++) {
    for (const c of all) {
      hits.get(c.name)?.push(throughput(sequence, c.get))
      sets.get(c.name)?.push(
        throughput(writes, (k, i) => {
          c.set(k, i)
          return 1
        }),
      )
      mixed.get(c.name)?.push(
        throughput(writes, (k, i) => {
          if (i % 10 === 0) {
            c.set(k, i)
            return 1
          }
          return c.get(k)
        }),
      )
      const getMany = c.getMany
      if (getMany) {
        batched.get(c.name)?.push(batchThroughput(batches, getMany))
      } else batched.delete(c.name)
    }
  }
  const floor = all[0]?.name ?? ''
  return {
    get: rowsOf(hits, 'lru-cache', floor),
    set: rowsOf(sets, 'lru-cache', floor),
    mixed: rowsOf(mixed, 'lru-cache', floor),
    getMany: rowsOf(batched, 'lru-cache', floor),
  }
}

/** Run in a child: fill one contender with `entries` entries and print heap/RSS growth per entry. */
function measureMemory(name: string, entries: number): void {
  const gc = (globalThis as { gc?: () => void }).gc
  if (!gc) throw new Error('run with --expose-gc')
  gc()
  const before = process.memoryUsage()
  const stores: Record<string, () => { set(k: string, v: number): unknown }> = {
    'cacheme local://tlfu': () => new LocalStore('tlfu', entries),
    'cacheme local://lru': () => new LocalStore('lru', entries),
    'lru-cache': () => new LRUCache<string, number>({ max: entries }),
    'mnemonist LRUCache': () => new LRUCacheWithDelete<string, number>(entries),
    '@isaacs/ttlcache (1 h TTL)': () => new TTLCache<string, number>({ max: entries, ttl: TTL_MS }),
  }
  const create = stores[name]
  if (!create) throw new Error(`unknown contender ${name}`)
  const store = create()
  for (let i = 0; i < entries; i++) store.set(`user:${i}:info:v1`, i)
  gc()
  const after = process.memoryUsage()
  // The store must still be reachable when memory is read, or the forced GC collects it and the
  // row measures only what the fill left behind.
  retained.push(store)
  console.log(
    JSON.stringify({
      heap: (after.heapUsed + after.external - before.heapUsed - before.external) / entries,
      rss: (after.rss - before.rss) / entries,
    }),
  )
}

/** Keeps the measured store alive past the measurement. */
const retained: unknown[] = []

interface MemoryRow {
  name: string
  heap: number
  rss: number
}

function runMemory(entries: number): MemoryRow[] {
  const names = [
    'cacheme local://tlfu',
    'cacheme local://lru',
    'lru-cache',
    'mnemonist LRUCache',
    '@isaacs/ttlcache (1 h TTL)',
  ]
  return names.map((name) => {
    const out = execFileSync(process.execPath, [
      '--expose-gc',
      __filename,
      '--memory-child',
      name,
      String(entries),
    ])
    return { name, ...(JSON.parse(out.toString()) as { heap: number; rss: number }) }
  })
}

const child = process.argv.indexOf('--memory-child')
if (child >= 0) {
  measureMemory(process.argv[child + 1] ?? '', Number(process.argv[child + 2]))
} else {
  const throughput = runThroughput()
  const entries = quick ? 100_000 : 1_000_000
  const memory = runMemory(entries)
  const reference = memory.find((r) => r.name === 'lru-cache') ?? { heap: 1, rss: 1 }
  const markdown = [
    `${KEYS.toLocaleString('en-US')} keys (\`user:N:info:v1\`), all present; the same Zipf(1.0) sequence of ` +
      `${REQUESTS.toLocaleString('en-US')} requests for every contender (set and mixed: its first ` +
      `${WRITE_REQUESTS.toLocaleString('en-US')}), ${ROUNDS} interleaved rounds, ` +
      'median. The N-API floor is a no-op native call that reads the same string key (what any ' +
      'Rust-backed get must at least pay); its variants show what other ways of reading the key cost. ' +
      '`LocalStore` is the sync API of `local://` storages.',
    markdownOf('get (hit)', throughput.get ?? []),
    markdownOf('set (overwrite of a present key)', throughput.set ?? []),
    markdownOf('mixed: 90% get / 10% set', throughput.mixed ?? []),
    markdownOf(
      `getMany(${BATCH}): keys/s, the same sequence in batches (peers: one \`get\` per key)`,
      throughput.getMany ?? [],
    ),
    `#### Memory per entry, ${entries.toLocaleString('en-US')} entries\n\nEach contender alone in a fresh ` +
      'process: heap + external and RSS growth after filling it with `user:N:info:v1` → small integer, ' +
      `after a forced GC.\n\n${table(
        ['contender', 'JS heap + external B/entry', 'RSS B/entry', 'heap × lru-cache', 'RSS × lru-cache'],
        memory.map((r) => [
          r.name,
          r.heap.toFixed(0),
          r.rss.toFixed(0),
          times(r.heap / reference.heap),
          times(r.rss / reference.rss),
        ]),
      )}`,
  ].join('\n\n')
  emit('local', 'Local storage, sync API', markdown, {
    keys: KEYS,
    requests: REQUESTS,
    rounds: ROUNDS,
    throughput,
    memory,
  })
}
