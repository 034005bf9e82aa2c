// Propagation latency of the invalidation bus: from process A's write resolving to process B's local
// tier answering the new value, at a steady 1k and 10k writes per second, with bentocache's Redis bus
// (memory L1 + Redis L2) as the peer on the same server in the same run.
//
//   node dist/benchmark/bus.js [--quick] [--json FILE]      REDIS_URL overrides redis://127.0.0.1:6379
//
// Each contender runs in two fresh processes. Both follow one schedule: write i, issued at
// T0 + i / rate, sets key i % KEYS to version ⌊i / KEYS⌋ + 1. A issues them (cacheme: the source
// changes, then `refresh`; bentocache: `set`) and notes when each resolved. B, whose local tier holds
// every key at its previous version, starts asking for key i at the same scheduled time and notes
// when the answer first carries the new version. Both clocks are process.hrtime (CLOCK_MONOTONIC,
// one clock for every process on the machine), so B's time minus A's is the propagation latency,
// including B's polling turn and its read of the shared tier after the eviction.

import { type ChildProcess, fork } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { Cache, close, get, Node, refresh, registerStorage, Storage, setBus, setPrefix } from '../lib'
import { Bus } from '../lib/bus/bus'
import { machine } from './machine'
import { emit, quantile, quick, table, times } from './section'

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const KEYS = 10_000
const RATES = [1_000, 10_000]
const SECONDS = quick ? 1 : 5
/** How long B keeps asking for a write after the schedule ends before counting it as never seen. */
const GRACE_MS = 3_000
const CONTENDERS = ['cacheme', 'bentocache'] as const

type Contender = (typeof CONTENDERS)[number]

/** The cache operations one contender needs, the same shape for both. */
interface Client {
  /** A: makes `key` hold `version` everywhere (source, shared tier, and other processes' local tiers). */
  write(key: number, version: number): Promise<void>
  /** B: the version this process's cache answers for `key`. */
  read(key: number): Promise<number>
  close(): Promise<void>
}

type ToChild =
  | { readonly type: 'populate' }
  | { readonly type: 'warm' }
  | { readonly type: 'run'; readonly t0: number; readonly rate: number; readonly writes: number }
type FromChild =
  | { readonly type: 'ready' }
  | { readonly type: 'done'; readonly times: number[] }
  | { readonly type: 'failed'; readonly message: string }

const now = () => Number(process.hrtime.bigint()) / 1e6
const tick = () => new Promise<void>((resolve) => setImmediate(resolve))

async function cachemeClient(run: string): Promise<Client> {
  setPrefix(`bench-bus-${run}`)
  /** This process's view of the source: A changes it before refreshing; B never needs to load. */
  const source = new Int32Array(KEYS)
  class VersionNode extends Node<number> {
    static meta = {
      version: 'v1',
      caches: [new Cache({ storage: 'local', ttl: 600_000 }), new Cache({ storage: 'redis', ttl: null })],
    }
    constructor(readonly id: number) {
      super()
    }
    key() {
      return `k${this.id}`
    }
    async load() {
      return source[this.id] as number
    }
  }
  await registerStorage('local', new Storage({ url: 'local://tlfu', size: KEYS * 2 }))
  await registerStorage('redis', new Storage({ url: REDIS_URL }))
  await setBus(new Bus({ url: REDIS_URL }))
  return {
    async write(key, version) {
      source[key] = version
      await refresh(new VersionNode(key))
    },
    read: (key) => get(new VersionNode(key)),
    close,
  }
}

async function bentocacheClient(run: string): Promise<Client> {
  // bentocache ships as ESM only: imported dynamically from this CommonJS build.
  const { BentoCache, bentostore } = await import('bentocache')
  const { memoryDriver } = await import('bentocache/drivers/memory')
  const { redisDriver, redisBusDriver } = await import('bentocache/drivers/redis')
  const { hostname, port } = new URL(REDIS_URL)
  const connection = { host: hostname, port: Number(port || 6379) }
  const bento = new BentoCache({
    default: 'tiered',
    prefix: `bench-bus-${run}`,
    stores: {
      tiered: bentostore()
        .useL1Layer(memoryDriver({ maxItems: KEYS * 2 }))
        .useL2Layer(redisDriver({ connection }))
        .useBus(redisBusDriver({ connection })),
    },
  })
  return {
    async write(key, version) {
      await bento.set({ key: `k${key}`, value: version, ttl: '1h' })
    },
    async read(key) {
      return (await bento.get<number>({ key: `k${key}` })) ?? -1
    },
    close: () => bento.disconnectAll(),
  }
}

/** A: issues the schedule's writes on time; resolves with when each one resolved. */
async function issue(client: Client, t0: number, rate: number, writes: number): Promise<number[]> {
  const resolved = new Array<number>(writes).fill(Number.NaN)
  const pending: Promise<void>[] = []
  let next = 0
  while (next < writes) {
    const due = Math.min(writes, Math.floor(((now() - t0) * rate) / 1000) + 1)
    for (; next < due; next++) {
      const i = next
      pending.push(
        client.write(i % KEYS, Math.floor(i / KEYS) + 1).then(() => {
          resolved[i] = now()
        }),
      )
    }
    await tick()
  }
  await Promise.all(pending)
  return resolved
}

/** B: asks for each scheduled write's key from its scheduled time until the new version shows. */
async function observe(client: Client, t0: number, rate: number, writes: number): Promise<number[]> {
  const seen = new Array<number>(writes).fill(Number.NaN)
  const watching = new Set<number>()
  let next = 0
  const deadline = t0 + (writes / rate) * 1000 + GRACE_MS
  while ((next < writes || watching.size > 0) && now() < deadline) {
    const due = Math.min(writes, Math.floor(((now() - t0) * rate) / 1000) + 1)
    for (; next < due; next++) watching.add(next)
    await Promise.all(
      [...watching].map(async (i) => {
        const version = await client.read(i % KEYS)
        if (version >= Math.floor(i / KEYS) + 1 && watching.delete(i)) seen[i] = now()
      }),
    )
    await tick()
  }
  return seen
}

async function child(role: 'writer' | 'reader', contender: Contender, run: string): Promise<void> {
  const send = (message: FromChild) => process.send?.(message)
  const client = contender === 'cacheme' ? await cachemeClient(run) : await bentocacheClient(run)
  process.on('message', (message: ToChild) => {
    const work = async (): Promise<number[]> => {
      if (message.type === 'populate') {
        for (let key = 0; key < KEYS; key += 500) {
          await Promise.all(Array.from({ length: 500 }, (_, i) => client.write(key + i, 0)))
        }
        return []
      }
      if (message.type === 'warm') {
        for (let key = 0; key < KEYS; key += 500) {
          await Promise.all(Array.from({ length: 500 }, (_, i) => client.read(key + i)))
        }
        return []
      }
      const times =
        role === 'writer'
          ? await issue(client, message.t0, message.rate, message.writes)
          : await observe(client, message.t0, message.rate, message.writes)
      await client.close()
      return times
    }
    work().then(
      (times) => send({ type: 'done', times }),
      (error: unknown) => send({ type: 'failed', message: String(error) }),
    )
  })
  send({ type: 'ready' })
}

/** Sends `command` (if any) and resolves with the child's next message, rejecting on 'failed'. */
function exchange(peer: ChildProcess, command?: ToChild): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`benchmark child exited with ${code}`))
    peer.once('exit', onExit)
    peer.once('message', (message: FromChild) => {
      peer.off('exit', onExit)
      if (message.type === 'failed') reject(new Error(message.message))
      else resolve(message.type === 'done' ? message.times : [])
    })
    if (command !== undefined) peer.send(command)
  })
}

interface Measured {
  contender: Contender
  rate: number
  writes: number
  unseen: number
  p50: number
  p99: number
  max: number
}

async function measure(contender: Contender, rate: number): Promise<Measured> {
  const run = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`
  const spawn = (role: string) => fork(__filename, ['child', role, contender, run], { stdio: 'inherit' })
  const writer = spawn('writer')
  const reader = spawn('reader')
  try {
    await Promise.all([exchange(writer), exchange(reader)])
    await exchange(writer, { type: 'populate' })
    await exchange(reader, { type: 'warm' })
    const writes = rate * SECONDS
    const start = { type: 'run', t0: now() + 200, rate, writes } as const
    const [resolved, seen] = await Promise.all([exchange(writer, start), exchange(reader, start)])
    const latencies = seen
      .map((at, i) => at - (resolved[i] as number))
      .filter((ms) => Number.isFinite(ms))
      .sort((a, b) => a - b)
    return {
      contender,
      rate,
      writes,
      unseen: writes - latencies.length,
      p50: quantile(latencies, 0.5),
      p99: quantile(latencies, 0.99),
      max: latencies[latencies.length - 1] ?? Number.NaN,
    }
  } finally {
    writer.kill()
    reader.kill()
  }
}

async function main(): Promise<void> {
  const results: Measured[] = []
  // Contenders alternate at each rate, so drift of the machine affects both alike.
  for (const rate of RATES) for (const contender of CONTENDERS) results.push(await measure(contender, rate))
  const ms = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : 'n/a')
  const rows = RATES.flatMap((rate) => {
    const ours = results.find((r) => r.contender === 'cacheme' && r.rate === rate) as Measured
    const peer = results.find((r) => r.contender === 'bentocache' && r.rate === rate) as Measured
    return [ours, peer].map((r) => [
      r.contender,
      `${rate / 1000}k/s`,
      r.writes,
      r.unseen,
      ms(r.p50),
      ms(r.p99),
      ms(r.max),
      r === ours ? times(ours.p99 / peer.p99) : '',
    ])
  })
  const markdown = [
    `Machine: ${machine()}; Redis at ${REDIS_URL.replace(/\/\/[^@/]*@/, '//')}; ${SECONDS} s per run, ${KEYS} keys.`,
    '',
    "Milliseconds from A's write resolving to B's local tier answering the new value (lower is better).",
    '',
    table(
      ['contender', 'rate', 'writes', 'never seen', 'p50 ms', 'p99 ms', 'max ms', 'p99 vs bentocache'],
      rows,
    ),
  ].join('\n')
  emit('bus', 'Invalidation bus: propagation latency', markdown, { machine: machine(), results })
}

if (process.argv[2] === 'child') {
  child(
    process.argv[3] as 'writer' | 'reader',
    process.argv[4] as Contender,
    process.argv[5] as string,
  ).catch((error: unknown) => {
    process.send?.({ type: 'failed', message: String(error) } satisfies FromChild)
  })
} else {
  main().catch((error: unknown) => {
    console.error(error)
    process.exitCode = 1
  })
}
