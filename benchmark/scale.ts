// Scale of the local storage: a cacheme local tier of 30,000,000 entries against lru-cache, whose
// key index is one JS Map and so cannot pass 2^24 entries. Each contender runs alone in a fresh
// process and is filled with `user:N:info:v1` → N; then it reports fill time, RSS per entry after a
// forced GC, the rate of sync gets of present keys in random order (each one misses the CPU cache:
// the table is far larger), and the GC pauses seen during traffic (90% gets, 10% sets of new keys,
// which evict).
//
//   node --expose-gc dist/benchmark/scale.js [--quick] [--json FILE]

import { execFileSync } from 'node:child_process'
import { PerformanceObserver } from 'node:perf_hooks'
import { setImmediate as yieldToLoop } from 'node:timers/promises'
import { LRUCache } from 'lru-cache'

import { LocalStore } from '../lib'
import { emit, int, quantile, quick, table, times } from './section'

/** The largest size both contenders reach, and the size only cacheme reaches. */
const SIZES = quick ? [200_000, 400_000] : [16_000_000, 30_000_000]
const GETS = quick ? 200_000 : 1_000_000
const TRAFFIC_MS = quick ? 500 : 3_000
/** Operations between yields to the event loop during traffic (GC entries are delivered then). */
const CHUNK = 10_000
/** Room for lru-cache's 2^24 keys as JS strings in the heap. */
const HEAP_MB = 20_000

const CONTENDERS = ['cacheme local://tlfu', 'lru-cache'] as const
type Contender = (typeof CONTENDERS)[number]

interface Store {
  get(key: string): unknown
  set(key: string, value: number): void
}

interface Measured {
  contender: Contender
  size: number
  /** Entries held when filling stopped: `size`, or fewer when the store failed. */
  reached: number
  error?: string
  fillSeconds: number
  rssPerEntry: number
  heapPerEntry: number
  getsPerSecond: number
  gcPauseP99Ms: number
  gcPauseMaxMs: number
  gcPauses: number
}

function open(contender: Contender, size: number): Store {
  return contender === 'lru-cache'
    ? new LRUCache<string, number>({ max: size })
    : new LocalStore('tlfu', size)
}

const keyOf = (i: number) => `user:${i}:info:v1`

/** A permutation step coprime with `size`: visits present keys in an order the CPU cannot predict. */
function stride(size: number): number {
  let step = Math.floor(size * 0.618_033_988_7) | 1
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b))
  while (gcd(step, size) !== 1) step += 2
  return step
}

/** Run in a child: one contender, one size; prints one Measured as JSON. */
async function measure(contender: Contender, size: number): Promise<Measured> {
  const gc = (globalThis as { gc?: () => void }).gc
  if (!gc) throw new Error('run with --expose-gc')
  gc()
  const before = process.memoryUsage()
  const store = open(contender, size)
  let reached = 0
  let error: string | undefined
  const fillStart = performance.now()
  try {
    for (; reached < size; reached++) store.set(keyOf(reached), reached)
  } catch (cause) {
    error = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause)
  }
  const fillSeconds = (performance.now() - fillStart) / 1000
  gc()
  const after = process.memoryUsage()
  const held = Math.max(1, reached)
  const perEntry = {
    rssPerEntry: (after.rss - before.rss) / held,
    heapPerEntry: (after.heapUsed + after.external - before.heapUsed - before.external) / held,
  }
  // A store that failed mid-fill is not used further: its state after the failure is its own affair.
  if (error !== undefined) {
    const none = {
      getsPerSecond: Number.NaN,
      gcPauseP99Ms: Number.NaN,
      gcPauseMaxMs: Number.NaN,
      gcPauses: 0,
    }
    return { contender, size, reached, error, fillSeconds, ...perEntry, ...none }
  }
  const step = stride(held)
  let found = 0
  const getStart = performance.now()
  for (let i = 0, at = 0; i < GETS; i++, at = (at + step) % held)
    if (store.get(keyOf(at)) !== undefined) found++
  const getsPerSecond = GETS / ((performance.now() - getStart) / 1000)
  if (found !== GETS) throw new Error(`${contender}: ${GETS - found} gets missed`)

  const pauses: number[] = []
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) pauses.push(entry.duration)
  })
  observer.observe({ entryTypes: ['gc'] })
  let next = held
  const trafficEnd = performance.now() + TRAFFIC_MS
  for (let at = 0; performance.now() < trafficEnd; ) {
    for (let i = 0; i < CHUNK; i++, at = (at + step) % held) {
      if (i % 10 === 0) store.set(keyOf(next++), next)
      else store.get(keyOf(at))
    }
    await yieldToLoop()
  }
  await yieldToLoop()
  observer.disconnect()
  pauses.sort((a, b) => a - b)
  return {
    contender,
    size,
    reached,
    fillSeconds,
    ...perEntry,
    getsPerSecond,
    gcPauseP99Ms: quantile(pauses, 0.99),
    gcPauseMaxMs: pauses.at(-1) ?? 0,
    gcPauses: pauses.length,
  }
}

function runChild(contender: Contender, size: number): Measured {
  const out = execFileSync(
    process.execPath,
    [
      '--expose-gc',
      `--max-old-space-size=${HEAP_MB}`,
      __filename,
      '--scale-child',
      contender,
      String(size),
      ...(quick ? ['--quick'] : []),
    ],
    { encoding: 'utf8', maxBuffer: 1 << 20 },
  )
  return JSON.parse(out.trim().split('\n').at(-1) as string) as Measured
}

function markdownOf(results: Measured[]): string {
  const rows = results.map((r) => {
    const peer = results.find((p) => p.size === r.size && p.contender === 'lru-cache')
    const comparable = peer !== undefined && peer !== r && peer.error === undefined
    return [
      r.contender,
      int(r.size),
      r.error === undefined ? int(r.reached) : `${int(r.reached)}: ${r.error}`,
      r.fillSeconds.toFixed(1),
      r.rssPerEntry.toFixed(0),
      r.heapPerEntry.toFixed(0),
      r.error === undefined ? int(r.getsPerSecond) : 'n/a',
      r.error === undefined ? r.gcPauseP99Ms.toFixed(1) : 'n/a',
      r.error === undefined ? r.gcPauseMaxMs.toFixed(1) : 'n/a',
      comparable ? times(r.rssPerEntry / peer.rssPerEntry) : '',
      comparable ? times(r.getsPerSecond / peer.getsPerSecond) : '',
    ]
  })
  return [
    'Each contender alone in a fresh process, filled with `user:N:info:v1` → N up to the size (or until it ' +
      `fails). RSS and heap per entry after a forced GC; ${int(GETS)} sync gets of present keys in a ` +
      `scattered order; then ${TRAFFIC_MS / 1000} s of traffic (90% gets, 10% sets of new keys, which ` +
      'evict) yielding to the event loop every ' +
      `${int(CHUNK)} operations, with every GC pause recorded (perf_hooks). lru-cache indexes its keys in ` +
      'one JS `Map`, which V8 caps at 2^24 entries.',
    table(
      [
        'contender',
        'size',
        'entries reached',
        'fill s',
        'RSS B/entry',
        'JS heap + external B/entry',
        'gets/s',
        'GC pause p99 ms',
        'GC pause max ms',
        'RSS × lru-cache',
        'gets × lru-cache',
      ],
      rows,
    ),
  ].join('\n\n')
}

async function main(): Promise<void> {
  const results: Measured[] = []
  for (const size of SIZES) {
    for (const contender of CONTENDERS) {
      const result = runChild(contender, size)
      console.log(
        `  ${contender} ${int(size)}: reached ${int(result.reached)}${result.error ? ` (${result.error})` : ''}, ` +
          `fill ${result.fillSeconds.toFixed(1)} s, RSS ${result.rssPerEntry.toFixed(0)} B/entry`,
      )
      results.push(result)
    }
  }
  emit('scale', 'Local storage at scale: 30 million entries', markdownOf(results), { sizes: SIZES, results })
}

const child = process.argv.indexOf('--scale-child')
if (child >= 0) {
  void measure(process.argv[child + 1] as Contender, Number(process.argv[child + 2])).then((result) =>
    console.log(JSON.stringify(result)),
  )
} else {
  void main()
}
