// The invalidation bus, measured. Two parts, each against a peer in the same run:
//
// 1. Propagation latency: from process A's write resolving to process B's local tier answering the
//    new value, at a steady 1k and 10k writes per second, with bentocache's Redis bus (memory L1 +
//    Redis L2) as the peer on the same server.
// 2. Cost on the hot path: `await get(node)` local hits of a class with a shared tier, with a bus
//    attached vs without, in interleaved rounds of one process.
//
//   node dist/benchmark/bus.js [--quick] [--json FILE]      REDIS_URL overrides redis://127.0.0.1:6379
//
// Propagation. Each contender runs in two fresh processes following one schedule: write i, due at
// T0 + i / rate, sets key i % KEYS to version ⌊i / KEYS⌋ + 1. A issues them (cacheme: the source
// changes, then `refresh`; bentocache: `set`) and notes when each resolved. B's local tier holds every
// key at its previous version; from each write's due time B watches its key until a read answers the
// new version. Both clocks are process.hrtime (CLOCK_MONOTONIC, one clock for every process on the
// machine), so B's time minus A's is the propagation latency: the message's trip, B dropping the key,
// and B's read of the shared tier that follows.
//
// The harness must not be what is measured. On 2 cores a busy-polling reader (or writer) competes
// with Redis and with the other process for CPU, and a reader that waits for a whole round of reads
// before looking again adds the slowest read of the round to every key. So neither process spins:
// A issues the writes due every millisecond from a timer; B looks at a watched key when its bus
// delivers a message naming it (a hook on each contender's bus: cacheme's invalidate handler,
// bentocache's `bus:message:received` event; both run before or as the key is dropped, and B reads
// on the next turn), each key on its own so that one slow read delays no other; it also looks once
// when a watch starts and sweeps every watched key each SWEEP_MS in case a message went unnoticed.
// The table says how many writes B saw through the hook.

import { type ChildProcess, fork } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createClient } from '@redis/client'
import { Redis } from 'ioredis'
import { Cache, close, get, Node, refresh, registerStorage, Storage, setBus, setPrefix } from '../lib'
import { Bus, type BusHandlers } from '../lib/bus/bus'
import { closeCoherence } from '../lib/coherence'
import { machine } from './machine'
import { emit, int, median, quantile, quick, table, times } from './section'
import { zipfIds } from './zipf'

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const KEYS = 10_000
const RATES = [1_000, 10_000]
const SECONDS = quick ? 1 : 4
/**
 * Seconds at the rate before the measured ones: both processes' code is optimised by then (the
 * first second of a cold run was several times slower for both contenders).
 */
const WARMUP_SECONDS = quick ? 0.5 : 1
/** How long B keeps watching a write after the schedule ends before counting it as never seen. */
const GRACE_MS = 3_000
/** The pace of A's writes and of B's new watches. */
const STEP_MS = 1
/**
 * B's fallback sweep of every watched key, in case a message went unnoticed. Not more often: when a
 * writer falls behind, thousands of keys are watched, and sweeping them every millisecond would make
 * the reader, not the bus, what is measured.
 */
const SWEEP_MS = 20
/** A's writes resolving this long after they were due: the writer fell behind the rate. */
const FELL_BEHIND_MS = 100
const CONTENDERS = ['cacheme', 'bentocache', 'floor'] as const

type Contender = (typeof CONTENDERS)[number]

/** The cache operations one contender needs, the same shape for both. */
interface Client {
  /** A: makes `key` hold `version` everywhere (source, shared tier, and other processes' local tiers). */
  write(key: number, version: number): Promise<void>
  /** B: the version this process's cache answers for `key`. */
  read(key: number): Promise<number>
  /** B: calls `listener` with the keys of every message its bus delivers (the watch's hint). */
  onMessage(listener: (keys: readonly number[]) => void): void
  close(): Promise<void>
}

type ToChild =
  | { readonly type: 'populate' }
  | { readonly type: 'warm' }
  | { readonly type: 'run'; readonly t0: number; readonly rate: number; readonly writes: number }
type FromChild =
  | { readonly type: 'ready' }
  | {
      readonly type: 'done'
      readonly times: number[]
      readonly hinted: number[]
      /** CPU time over wall time of the run (1 = one core busy all along). */
      readonly load?: number
    }
  | { readonly type: 'failed'; readonly message: string }

const now = () => Number(process.hrtime.bigint()) / 1e6
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** The key number at the end of a stored key (`…k123` or `…k123:v1`), or -1. */
function keyNumber(key: string): number {
  const match = /k(\d+)(?::v1)?$/.exec(key)
  return match === null ? -1 : Number(match[1])
}

/** A Bus that also tells the benchmark which keys each delivered message named. */
class HintedBus extends Bus {
  listener: ((keys: readonly number[]) => void) | undefined

  override open(handlers: BusHandlers, channel: string): Promise<void> {
    return super.open(
      {
        invalidate: (keys) => {
          handlers.invalidate(keys)
          this.listener?.(keys.map(keyNumber))
        },
        resync: () => handlers.resync(),
      },
      channel,
    )
  }
}

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
  const bus = new HintedBus({ url: REDIS_URL })
  await setBus(bus)
  return {
    async write(key, version) {
      source[key] = version
      await refresh(new VersionNode(key))
    },
    read: (key) => get(new VersionNode(key)),
    onMessage(listener) {
      bus.listener = listener
    },
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
    onMessage(listener) {
      // Emitted just before bentocache drops the keys from its L1, in the same synchronous run.
      bento.on('bus:message:received', ({ message }: { message: { keys: string[] } }) =>
        listener(message.keys.map(keyNumber)),
      )
    },
    close: () => bento.disconnectAll(),
  }
}

/**
 * The floor: the least work that does the job, on the drivers cacheme uses (node-redis for the data,
 * ioredis for pub/sub) and nothing else. A: SET, then the key in one PUBLISH per event-loop turn (as
 * cacheme batches); B: a Map in front of Redis, and a subscriber that deletes what a message names.
 * No coalescing, encoding, timeouts or error handling.
 */
async function floorClient(run: string): Promise<Client> {
  const channel = `bench-bus-${run}`
  const redis = createClient({ url: REDIS_URL })
  await redis.connect()
  const publisher = new Redis(REDIS_URL)
  const subscriber = new Redis(REDIS_URL)
  const local = new Map<number, number>()
  let batch: number[] = []
  let listener: ((keys: readonly number[]) => void) | undefined
  await subscriber.subscribe(channel)
  subscriber.on('message', (_channel: string, message: string) => {
    const keys = message.split(',').map(Number)
    for (const key of keys) local.delete(key)
    listener?.(keys)
  })
  const flush = () => {
    const keys = batch
    batch = []
    // A publish still in flight when the run closes fails with the connection: not an error here.
    publisher.publish(channel, keys.join(',')).catch(() => {})
  }
  return {
    async write(key, version) {
      await redis.set(`${channel}:k${key}`, String(version))
      if (batch.length === 0) setImmediate(flush)
      batch.push(key)
    },
    async read(key) {
      const known = local.get(key)
      if (known !== undefined) return known
      const version = Number((await redis.get(`${channel}:k${key}`)) ?? -1)
      local.set(key, version)
      return version
    },
    onMessage(handler) {
      listener = handler
    },
    async close() {
      await redis.close()
      await publisher.quit().catch(() => publisher.disconnect())
      subscriber.disconnect()
    },
  }
}

/** A: issues the writes due every STEP_MS; resolves with when each one resolved. */
async function issue(client: Client, t0: number, rate: number, writes: number): Promise<number[]> {
  const resolved = new Array<number>(writes).fill(Number.NaN)
  const pending: Promise<void>[] = []
  await sleep(Math.max(0, t0 - now()))
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
    await sleep(STEP_MS)
  }
  await Promise.all(pending)
  return resolved
}

/**
 * B: watches each write's key from its due time until a read answers the new version; looks when
 * the bus names the key and in a sweep every STEP_MS. Resolves with when each write was first seen
 * and whether that was on a look its bus asked for.
 */
async function observe(
  client: Client,
  t0: number,
  rate: number,
  writes: number,
): Promise<{ seen: number[]; hinted: number[] }> {
  const seen = new Array<number>(writes).fill(Number.NaN)
  /** 1 where the write was seen on a look its bus's message asked for, 0 where by the sweep. */
  const hinted = new Array<number>(writes).fill(0)
  /** Per key, the writes not seen yet (usually one: a key is rewritten every KEYS / rate seconds). */
  const watched = new Map<number, number[]>()
  /** Keys with a read in flight, and whether a message named the key meanwhile (look again then). */
  const reading = new Map<number, boolean>()

  const look = (key: number, hint: boolean) => {
    if (reading.has(key)) {
      if (hint) reading.set(key, true)
      return
    }
    reading.set(key, false)
    void client.read(key).then((version) => {
      const at = now()
      const again = reading.get(key) === true
      reading.delete(key)
      const waiting = watched.get(key)
      if (waiting === undefined) return
      const left = waiting.filter((i) => {
        if (version < Math.floor(i / KEYS) + 1) return true
        seen[i] = at
        if (hint) hinted[i] = 1
        return false
      })
      if (left.length === 0) watched.delete(key)
      else {
        watched.set(key, left)
        if (again) look(key, true)
      }
    })
  }
  client.onMessage((keys) => {
    // On the next turn: the key has been dropped by then, whichever way the contender's hook runs.
    setImmediate(() => {
      for (const key of keys) if (watched.has(key)) look(key, true)
    })
  })

  await sleep(Math.max(0, t0 - now()))
  const deadline = t0 + (writes / rate) * 1000 + GRACE_MS
  let next = 0
  let swept = now()
  while ((next < writes || watched.size > 0) && now() < deadline) {
    const due = Math.min(writes, Math.floor(((now() - t0) * rate) / 1000) + 1)
    for (; next < due; next++) {
      const key = next % KEYS
      const waiting = watched.get(key)
      if (waiting === undefined) watched.set(key, [next])
      else waiting.push(next)
      // A first look when the watch starts, in case the message came before it.
      look(key, false)
    }
    if (now() - swept >= SWEEP_MS) {
      swept = now()
      for (const key of watched.keys()) look(key, false)
    }
    await sleep(STEP_MS)
  }
  return { seen, hinted }
}

async function child(role: 'writer' | 'reader', contender: Contender, run: string): Promise<void> {
  const send = (message: FromChild) => process.send?.(message)
  const client =
    contender === 'cacheme'
      ? await cachemeClient(run)
      : contender === 'bentocache'
        ? await bentocacheClient(run)
        : await floorClient(run)
  process.on('message', (message: ToChild) => {
    const work = async (): Promise<FromChild> => {
      if (message.type === 'populate') {
        for (let key = 0; key < KEYS; key += 500) {
          await Promise.all(Array.from({ length: 500 }, (_, i) => client.write(key + i, 0)))
        }
        return { type: 'done', times: [], hinted: [], load: 0 }
      }
      if (message.type === 'warm') {
        for (let key = 0; key < KEYS; key += 500) {
          await Promise.all(Array.from({ length: 500 }, (_, i) => client.read(key + i)))
        }
        return { type: 'done', times: [], hinted: [], load: 0 }
      }
      const cpu = process.cpuUsage()
      const wall = now()
      const result =
        role === 'writer'
          ? { seen: await issue(client, message.t0, message.rate, message.writes), hinted: [] }
          : await observe(client, message.t0, message.rate, message.writes)
      const used = process.cpuUsage(cpu)
      const load = (used.user + used.system) / 1000 / (now() - wall)
      await client.close()
      return { type: 'done', times: result.seen, hinted: result.hinted, load }
    }
    work().then(send, (error: unknown) => send({ type: 'failed', message: String(error) }))
  })
  send({ type: 'ready' })
}

/** Sends `command` (if any) and resolves with the child's next message, rejecting on 'failed'. */
function exchange(
  peer: ChildProcess,
  command?: ToChild,
): Promise<{ times: number[]; hinted: number[]; load?: number }> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`benchmark child exited with ${code}`))
    peer.once('exit', onExit)
    peer.once('message', (message: FromChild) => {
      peer.off('exit', onExit)
      if (message.type === 'failed') reject(new Error(message.message))
      // JSON (IPC) turned the NaN of writes never resolved or never seen into null.
      else if (message.type === 'done')
        resolve({ ...message, times: message.times.map((at) => at ?? Number.NaN) })
      else resolve({ times: [], hinted: [] })
    })
    if (command !== undefined) peer.send(command)
  })
}

interface Measured {
  contender: Contender
  rate: number
  writes: number
  unseen: number
  hinted: number
  /** p99 of A's writes from due to resolved: when it grows, A could not keep up with the rate. */
  writeP99: number
  /** CPU used by A and by B over the run, in cores. */
  loadA: number
  loadB: number
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
    // The populating writes' messages reach B before it warms its local tier, not after.
    await sleep(500)
    await exchange(reader, { type: 'warm' })
    const warmup = rate * WARMUP_SECONDS
    const writes = rate * SECONDS
    const start = { type: 'run', t0: now() + 200, rate, writes: warmup + writes } as const
    const [resolved, seen] = await Promise.all([exchange(writer, start), exchange(reader, start)])
    /** The measured writes' values of `per` (one per write), sorted, without NaN. */
    const measured = (per: (i: number) => number) =>
      Array.from({ length: writes }, (_, j) => per(warmup + j))
        .filter((value) => Number.isFinite(value))
        .sort((x, y) => x - y)
    const latencies = measured((i) => (seen.times[i] as number) - (resolved.times[i] as number))
    const writeTimes = measured((i) => (resolved.times[i] as number) - (start.t0 + (i * 1000) / rate))
    return {
      contender,
      rate,
      writes,
      unseen: writes - latencies.length,
      hinted: measured((i) =>
        Number.isFinite(seen.times[i]) ? (seen.hinted[i] as number) : Number.NaN,
      ).reduce((sum, one) => sum + one, 0),
      writeP99: quantile(writeTimes, 0.99),
      loadA: resolved.load ?? Number.NaN,
      loadB: seen.load ?? Number.NaN,
      p50: quantile(latencies, 0.5),
      p99: quantile(latencies, 0.99),
      max: latencies[latencies.length - 1] ?? Number.NaN,
    }
  } finally {
    writer.kill()
    reader.kill()
  }
}

// ---- hot path: await get(node), local hits, bus attached vs not ----

const HOT_KEYS = 10_000
const HOT_OPS = quick ? 400_000 : 4_000_000
const HOT_ROUNDS = quick ? 4 : 6

interface HotPath {
  ops: number
  rounds: number
  without: number
  with: number
}

async function hotPath(): Promise<HotPath> {
  setPrefix(`bench-bus-hot-${randomBytes(3).toString('hex')}`)
  class HotNode extends Node<number> {
    static meta = {
      version: 'v1',
      caches: [new Cache({ storage: 'local', ttl: null }), new Cache({ storage: 'redis', ttl: 600_000 })],
    }
    constructor(readonly id: number) {
      super()
    }
    key() {
      return `hot:${this.id}`
    }
    async load() {
      return this.id
    }
  }
  await registerStorage('local', new Storage({ url: 'local://lru', size: HOT_KEYS }))
  await registerStorage('redis', new Storage({ url: REDIS_URL }))
  for (let id = 0; id < HOT_KEYS; id++) await get(new HotNode(id))
  const ids = zipfIds(HOT_KEYS, 0.99, HOT_OPS / HOT_ROUNDS)
  const round = async (): Promise<number> => {
    let sum = 0
    const t0 = performance.now()
    for (let i = 0; i < ids.length; i++) sum += await get(new HotNode(ids[i] as number))
    const ms = performance.now() - t0
    if (sum < 0) throw new Error('unreachable: keeps the sum alive')
    return (ids.length / ms) * 1000
  }
  const without: number[] = []
  const attached: number[] = []
  await round() // warm-up, not counted
  for (let r = 0; r < HOT_ROUNDS; r++) {
    // The order alternates, so drift of the machine affects both alike.
    for (const withBus of r % 2 === 0 ? [false, true] : [true, false]) {
      if (withBus) await setBus(new Bus({ url: REDIS_URL }))
      ;(withBus ? attached : without).push(await round())
      if (withBus) await closeCoherence()
    }
  }
  await close()
  return { ops: HOT_OPS, rounds: HOT_ROUNDS, without: median(without), with: median(attached) }
}

async function main(): Promise<void> {
  const hot = await hotPath()
  const results: Measured[] = []
  // Contenders alternate at each rate, so drift of the machine affects both alike.
  for (const rate of RATES) for (const contender of CONTENDERS) results.push(await measure(contender, rate))
  const ms = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : 'n/a')
  /** Its writer could not keep up with the rate: its latencies from "write resolved" mean little. */
  const behind = (r: Measured) => r.writeP99 > FELL_BEHIND_MS
  const rows = RATES.flatMap((rate) => {
    const ours = results.find((r) => r.contender === 'cacheme' && r.rate === rate) as Measured
    const peer = results.find((r) => r.contender === 'bentocache' && r.rate === rate) as Measured
    const floor = results.find((r) => r.contender === 'floor' && r.rate === rate) as Measured
    return [ours, peer, floor].map((r) => {
      // A writer behind the rate resolves its writes after B has seen them: negative "latencies".
      const latency = (n: number) => (behind(r) ? 'n/a: writer fell behind' : ms(n))
      return [
        r.contender,
        `${rate / 1000}k/s`,
        int(r.writes),
        r.unseen,
        ms(r.writeP99),
        `${r.loadA.toFixed(2)} / ${r.loadB.toFixed(2)}`,
        `${((100 * r.hinted) / Math.max(1, r.writes - r.unseen)).toFixed(0)}%`,
        latency(r.p50),
        latency(r.p99),
        latency(r.max),
        r !== ours ? '' : behind(peer) ? 'n/a: peer fell behind' : times(ours.p50 / peer.p50),
        r !== ours ? '' : behind(peer) ? 'n/a: peer fell behind' : times(ours.p99 / peer.p99),
        r !== ours ? '' : times(ours.p99 / floor.p99),
      ]
    })
  })
  const markdown = [
    `Machine: ${machine()}; Redis at ${REDIS_URL.replace(/\/\/[^@/]*@/, '//')}, loopback.`,
    '',
    '#### Propagation latency',
    '',
    `Milliseconds from A's write resolving (cacheme \`refresh\`, bentocache \`set\`) to B's local tier ` +
      `answering the new value, ${SECONDS} s per run after ${WARMUP_SECONDS} s of warm-up at the same rate, ` +
      `${int(KEYS)} keys, each contender in two fresh ` +
      'processes on the same Redis (bentocache: memory L1, Redis L2, its Redis bus; the floor: the bare drivers cacheme uses, node-redis for data and ioredis for pub/sub, ' +
      'SET then one PUBLISH of the keys written per event-loop turn, B a Map that a subscriber clears, nothing ' +
      'else). B looks at a key when ' +
      `its bus names it, and in a sweep of every watched key each ${SWEEP_MS} ms; "seen on a message" is the share ` +
      'B noticed through its bus rather than the sweep. "A\'s write p99" is from a write\'s due time to its ' +
      `promise resolving: over ${FELL_BEHIND_MS} ms, the writer fell behind the rate (its process could not ` +
      "issue that many writes on this machine) and B may see a value before A's promise resolves, so " +
      'its latencies are not compared. Lower is better; a ' +
      'ratio below 1 is cacheme faster.',
    '',
    table(
      [
        'contender',
        'rate',
        'writes',
        'never seen',
        "A's write p99 ms",
        'CPU A / B (cores)',
        'seen on a message',
        'p50 ms',
        'p99 ms',
        'max ms',
        'p50 vs bentocache',
        'p99 vs bentocache',
        'p99 vs floor',
      ],
      rows,
    ),
    '',
    '#### Cost on the hot path',
    '',
    `\`await get(node)\` local hits of a class with a local tier in front of Redis, ${int(HOT_KEYS)} keys, ` +
      `Zipf(0.99) ids, ${int(hot.ops)} gets in ${hot.rounds} rounds per setting, the order alternating; ` +
      'median of the rounds. "With a bus": attached and subscribed (idle).',
    '',
    table(
      ['setting', 'gets/s', '× without'],
      [
        ['without a bus', int(hot.without), '1.00×'],
        ['with a bus', int(hot.with), times(hot.with / hot.without)],
      ],
    ),
  ].join('\n')
  emit('bus', 'Invalidation bus', markdown, { machine: machine(), results, hotPath: hot })
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
