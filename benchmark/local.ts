// Sync throughput of the local storage against lru-cache, mnemonist and the N-API floor, on the same
// 100k keys and the same Zipf(1.0) sequence, in one run with interleaved rounds; then memory per
// entry at 1M entries, each contender in a fresh process.
//
//   node dist/benchmark/local.js [--quick]

import { execFileSync } from 'node:child_process'
import { LRUCache } from 'lru-cache'
import { LRUCacheWithDelete } from 'mnemonist'

import { LocalStore } from '../lib'
import { native } from '../lib/native'
import { machine } from './machine'
import { zipfIds } from './zipf'

const KEYS = 100_000
const quick = process.argv.includes('--quick')
const REQUESTS = quick ? 200_000 : 2_000_000
const ROUNDS = quick ? 3 : 7

interface Contender {
  name: string
  get: (key: string) => unknown
  set: (key: string, value: number) => void
}

function contenders(): Contender[] {
  const tlfu = new LocalStore('tlfu', KEYS)
  const lru = new LocalStore('lru', KEYS)
  const lruCache = new LRUCache<string, number>({ max: KEYS })
  const mnemonist = new LRUCacheWithDelete<string, number>(KEYS)
  const floor = native.createBenchmarkFloor()
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
      get: (k) => native.benchmarkFloorNapiString(k),
      set: (k) => native.benchmarkFloorNapiString(k),
    },
    { name: 'cacheme local://tlfu', get: (k) => tlfu.get(k), set: (k, v) => tlfu.set(k, v) },
    { name: 'cacheme local://lru', get: (k) => lru.get(k), set: (k, v) => lru.set(k, v) },
    { name: 'lru-cache', get: (k) => lruCache.get(k), set: (k, v) => lruCache.set(k, v) },
    { name: 'mnemonist LRUCache', get: (k) => mnemonist.get(k), set: (k, v) => mnemonist.set(k, v) },
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

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] as number
}

function table(title: string, results: Map<string, number[]>, reference: string, floor: string): void {
  const ref = median(results.get(reference) ?? [1])
  const floorOps = median(results.get(floor) ?? [1])
  console.log(`\n### ${title}\n`)
  console.log(`| contender | M ops/s (median of ${ROUNDS}) | × lru-cache | × floor |`)
  console.log('|---|---:|---:|---:|')
  for (const [name, samples] of results) {
    const ops = median(samples)
    console.log(
      `| ${name} | ${(ops / 1e6).toFixed(2)} | ${(ops / ref).toFixed(2)} | ${(ops / floorOps).toFixed(2)} |`,
    )
  }
}

function runThroughput(): void {
  const keys = Array.from({ length: KEYS }, (_, i) => `user:${i}:info:v1`)
  const ids = zipfIds(KEYS, 1.0, REQUESTS)
  const sequence = Array.from(ids, (id) => keys[id] as string)
  const all = contenders()
  const hits = new Map<string, number[]>()
  const sets = new Map<string, number[]>()
  const mixed = new Map<string, number[]>()
  for (const c of all) {
    for (let i = 0; i < KEYS; i++) c.set(keys[i] as string, i)
    hits.set(c.name, [])
    sets.set(c.name, [])
    mixed.set(c.name, [])
  }
  // Interleaved rounds: every contender runs once per round, so drift hits all alike.
  for (let round = 0; round < ROUNDS; round++) {
    for (const c of all) {
      hits.get(c.name)?.push(throughput(sequence, c.get))
      sets.get(c.name)?.push(
        throughput(sequence, (k, i) => {
          c.set(k, i)
          return 1
        }),
      )
      mixed.get(c.name)?.push(
        throughput(sequence, (k, i) => {
          if (i % 10 === 0) {
            c.set(k, i)
            return 1
          }
          return c.get(k)
        }),
      )
    }
  }
  const floor = all[0]?.name ?? ''
  table('get (hit), 100k keys, Zipf(1.0)', hits, 'lru-cache', floor)
  table('set (overwrite), same sequence', sets, 'lru-cache', floor)
  table('mixed 90% get / 10% set', mixed, 'lru-cache', floor)
}

/** Run in a child: fill one contender with `entries` entries and print heap/RSS growth per entry. */
function measureMemory(name: string, entries: number): void {
  const gc = (globalThis as { gc?: () => void }).gc
  if (!gc) throw new Error('run with --expose-gc')
  gc()
  const before = process.memoryUsage()
  const values: Record<string, (k: string, v: number) => void> = {
    'cacheme local://tlfu': (
      (s) => (k: string, v: number) =>
        s.set(k, v)
    )(new LocalStore('tlfu', entries)),
    'cacheme local://lru': (
      (s) => (k: string, v: number) =>
        s.set(k, v)
    )(new LocalStore('lru', entries)),
    'lru-cache': (
      (s) => (k: string, v: number) =>
        s.set(k, v)
    )(new LRUCache<string, number>({ max: entries })),
  }
  const set = values[name]
  if (!set) throw new Error(`unknown contender ${name}`)
  for (let i = 0; i < entries; i++) set(`user:${i}:info:v1`, i)
  gc()
  const after = process.memoryUsage()
  console.log(
    JSON.stringify({
      heap: (after.heapUsed + after.external - before.heapUsed - before.external) / entries,
      rss: (after.rss - before.rss) / entries,
    }),
  )
}

function runMemory(): void {
  const entries = quick ? 100_000 : 1_000_000
  console.log(
    `\n### memory per entry, ${entries.toLocaleString('en')} entries (key "user:N:info:v1", value a small integer)\n`,
  )
  console.log('| contender | JS heap + external B/entry | RSS B/entry | RSS × lru-cache |')
  console.log('|---|---:|---:|---:|')
  const rows = ['cacheme local://tlfu', 'cacheme local://lru', 'lru-cache'].map((name) => {
    const out = execFileSync(process.execPath, [
      '--expose-gc',
      __filename,
      '--memory-child',
      name,
      String(entries),
    ])
    return { name, ...(JSON.parse(out.toString()) as { heap: number; rss: number }) }
  })
  const reference = rows.find((r) => r.name === 'lru-cache')?.rss ?? 1
  for (const r of rows) {
    console.log(
      `| ${r.name} | ${r.heap.toFixed(0)} | ${r.rss.toFixed(0)} | ${(r.rss / reference).toFixed(2)} |`,
    )
  }
}

const child = process.argv.indexOf('--memory-child')
if (child >= 0) {
  measureMemory(process.argv[child + 1] ?? '', Number(process.argv[child + 2]))
} else {
  console.log(`## Local storage, sync API\n\n${machine()}${quick ? ' (quick mode)' : ''}`)
  runThroughput()
  runMemory()
}
