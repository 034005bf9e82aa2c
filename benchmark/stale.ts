// The TTL-boundary spike: 1,000 keys read with Zipf popularity at a steady rate, TTL 1 s, a source
// that answers in 20 ms. Without stale serving, every key's expiry makes its next callers wait for
// the source (the hottest keys most); with it, they are answered at once while one reload runs.
// Per contender: request latency p50 / p99 / max and source loads. Then the same traffic with the
// source failing for the middle half of a second run: requests answered vs failed.
//
// Contenders: cacheme without the options, cacheme with staleWhileRevalidate + staleIfError,
// bentocache getOrSet with a grace period and a 0 ms soft timeout (its own stale-while-revalidate),
// lru-cache fetch with allowStale and allowStaleOnFetchRejection. All in-process (a local tier).
//
//   node dist/benchmark/stale.js [--quick] [--json FILE]

import { setTimeout as sleep, setImmediate as yieldToLoop } from 'node:timers/promises'
import { LRUCache } from 'lru-cache'
import {
  Cache,
  close,
  get,
  Node,
  type NodeClass,
  type NodeMeta,
  onError,
  registerStorage,
  Storage,
  stats,
} from '../lib'
import { machine } from './machine'
import { emit, int, quantile, quick, table, times } from './section'
import { zipfIds } from './zipf'

const KEYS = 1000
const TTL_MS = 1000
const SOURCE_MS = 20
/** Requests per second, issued open-loop (on schedule, whether earlier ones have answered or not). */
const RATE = 20_000
const WARM_MS = quick ? 500 : 1000
/** Four TTLs of spike measurement: each key expires four times under load. */
const SPIKE_MS = quick ? 2000 : 4_000
const OUTAGE_RUN_MS = quick ? 2000 : 4_000
/** The source fails from a quarter to three quarters of the outage run (2.5 s of 5 in a full run). */
const OUTAGE_FROM = OUTAGE_RUN_MS / 4
const OUTAGE_TO = (OUTAGE_RUN_MS * 3) / 4
const WINDOW_MS = 60_000

interface Contender {
  name: string
  get(key: string): Promise<string>
}

/** cacheme's node class with the options, for its counters. */
let staleClass: NodeClass | undefined
let loads = 0
let failing = false
async function source(key: string): Promise<string> {
  loads++
  await sleep(SOURCE_MS)
  if (failing) throw new Error('source down')
  return `value of ${key}`
}

async function contenders(): Promise<Contender[]> {
  await registerStorage('stale-bench', new Storage({ url: 'local://tlfu', size: 10 * KEYS }))
  const nodeOf = (name: string, options: Partial<NodeMeta>) =>
    class extends Node<string> {
      static meta: NodeMeta = {
        version: name,
        caches: [new Cache({ storage: 'stale-bench', ttl: TTL_MS })],
        ...options,
      }
      constructor(readonly id: string) {
        super()
      }
      key() {
        return this.id
      }
      load() {
        return source(this.id)
      }
    }
  const Plain = nodeOf('plain', {})
  const Stale = nodeOf('stale', { staleWhileRevalidate: WINDOW_MS, staleIfError: WINDOW_MS })
  staleClass = Stale
  // Failed loads are reported; counting them is enough here.
  onError(() => {})

  const { BentoCache, bentostore } = await import('bentocache')
  const { memoryDriver } = await import('bentocache/drivers/memory')
  const bento = new BentoCache({
    default: 'memory',
    stores: { memory: bentostore().useL1Layer(memoryDriver({ maxItems: 10 * KEYS })) },
  })
  const lru = new LRUCache<string, string>({
    max: 10 * KEYS,
    ttl: TTL_MS,
    allowStale: true,
    allowStaleOnFetchRejection: true,
    fetchMethod: (key) => source(key),
  })
  return [
    { name: 'cacheme (no options)', get: (key) => get(new Plain(key)) },
    { name: 'cacheme staleWhileRevalidate + staleIfError', get: (key) => get(new Stale(key)) },
    {
      name: 'bentocache getOrSet, grace + soft timeout 0',
      get: (key) =>
        bento.getOrSet({ key, factory: () => source(key), ttl: TTL_MS, grace: WINDOW_MS, timeout: 0 }),
    },
    {
      name: 'lru-cache fetch, allowStale',
      get: async (key) => {
        const value = await lru.fetch(key)
        if (value === undefined) throw new Error('no value')
        return value
      },
    },
  ]
}

interface Run {
  latencies: Float64Array
  answered: number
  failed: number
  loads: number
}

/**
 * `ms` of traffic at RATE through `c`, keys drawn from `ids` starting at `offset`; with `outage`,
 * the source fails within that interval (ms since the start). Latencies are of answered requests.
 */
async function traffic(c: Contender, ids: Uint32Array, ms: number, outage?: [number, number]): Promise<Run> {
  const total = Math.ceil((ms * RATE) / 1000)
  const latencies = new Float64Array(total)
  let answered = 0
  let failed = 0
  let outstanding = 0
  const loadsBefore = loads
  const start = performance.now()
  let issued = 0
  while (issued < total) {
    const now = performance.now() - start
    failing = outage !== undefined && now >= outage[0] && now < outage[1]
    const due = Math.min(total, Math.floor((now * RATE) / 1000))
    for (; issued < due; issued++) {
      const key = `k${ids[issued % ids.length]}`
      const t0 = performance.now()
      outstanding++
      c.get(key).then(
        () => {
          latencies[answered++] = performance.now() - t0
          outstanding--
        },
        () => {
          failed++
          outstanding--
        },
      )
    }
    await yieldToLoop()
  }
  failing = false
  for (let waited = 0; outstanding > 0 && waited < 5000; waited += 5) await sleep(5)
  return { latencies: latencies.slice(0, answered).sort(), answered, failed, loads: loads - loadsBefore }
}

const us = (ms: number) => (ms * 1000).toFixed(1)
const msFixed = (ms: number) => ms.toFixed(2)

async function main(): Promise<void> {
  const all = await contenders()
  const ids = zipfIds(KEYS, 1, Math.ceil(((WARM_MS + SPIKE_MS + OUTAGE_RUN_MS) * RATE) / 1000))
  const spike: { name: string; p50: number; p99: number; max: number; loads: number; requests: number }[] = []
  const outage: { name: string; requests: number; answered: number; failed: number; loads: number }[] = []
  for (const c of all) {
    process.stdout.write(
      `${c.name}: warm-up, spike ${SPIKE_MS / 1000} s, outage run ${OUTAGE_RUN_MS / 1000} s\n`,
    )
    await traffic(c, ids, WARM_MS)
    const run = await traffic(c, ids.subarray(Math.ceil((WARM_MS * RATE) / 1000)), SPIKE_MS)
    spike.push({
      name: c.name,
      p50: quantile(run.latencies, 0.5),
      p99: quantile(run.latencies, 0.99),
      max: run.latencies[run.latencies.length - 1] ?? Number.NaN,
      loads: run.loads,
      requests: run.answered + run.failed,
    })
    const down = await traffic(c, ids, OUTAGE_RUN_MS, [OUTAGE_FROM, OUTAGE_TO])
    outage.push({
      name: c.name,
      requests: down.answered + down.failed,
      answered: down.answered,
      failed: down.failed,
      loads: down.loads,
    })
  }
  const counters = stats(staleClass as NodeClass)
  await close()

  const ours = spike[1] as (typeof spike)[number]
  const plain = spike[0] as (typeof spike)[number]
  const markdown = [
    `${KEYS} keys, Zipf(1), ${int(RATE)} requests/s issued on schedule, TTL ${TTL_MS} ms, a source answering ` +
      `in ${SOURCE_MS} ms; ${SPIKE_MS / 1000} s measured per contender after ${WARM_MS / 1000} s of warm-up, ` +
      `one contender at a time in one process. Stale windows ${WINDOW_MS / 1000} s. Machine: ${machine()}.`,
    '',
    table(
      ['contender', 'requests', 'p50 µs', 'p99 ms', 'max ms', 'source loads', 'p99 × cacheme stale'],
      spike.map((r) => [
        r.name,
        int(r.requests),
        us(r.p50),
        msFixed(r.p99),
        msFixed(r.max),
        int(r.loads),
        times(r.p99 / ours.p99),
      ]),
    ),
    '',
    `cacheme's p99 with staleWhileRevalidate is ${(ours.p99 / plain.p99).toPrecision(2)}× its p99 without ` +
      `(${int(counters.staleAnswerCount)} stale answers, ${int(counters.backgroundReloadCount)} background reloads over the whole run).`,
    '',
    `The source failing from ${OUTAGE_FROM / 1000} s to ${OUTAGE_TO / 1000} s of a ${OUTAGE_RUN_MS / 1000} s run ` +
      '(same traffic, entries warm):',
    '',
    table(
      ['contender', 'requests', 'answered', 'failed', 'source loads (attempts)'],
      outage.map((r) => [r.name, int(r.requests), int(r.answered), int(r.failed), int(r.loads)]),
    ),
  ].join('\n')
  emit('stale', 'Stale serving: the TTL-boundary spike and a source outage', markdown, { spike, outage })
}

main().catch((error: unknown) => {
  console.error(error)
  process.exit(1)
})
