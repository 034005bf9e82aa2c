// Group invalidation on Redis. (a) One tag covering 100,000 entries (local tier + Redis): the time of
// one invalidation and the Redis commands it sends, for cacheme's invalidateTags and bentocache's
// deleteByTag (memory L1 + Redis L2, no bus for either), beside what a cache without tags does
// (SCAN the keys and UNLINK them). (b) `await get(node)` local hits of a tagged class against the
// same class without tags, in one process, taking turns.
//
// Commands are counted by the server (INFO commandstats before and after, the INFO itself left
// out), so the benchmark starts a redis-server of its own: nothing else talks to it.
//
//   node dist/benchmark/tags.js [--quick] [--json FILE]

import { type ChildProcess, spawn } from 'node:child_process'
import { connect } from 'node:net'
import { setTimeout as sleep, setImmediate as yieldToLoop } from 'node:timers/promises'
import { Redis } from 'ioredis'
import {
  Bus,
  Cache,
  close,
  get,
  invalidateTags,
  Node,
  registerStorage,
  Storage,
  setAll,
  setBus,
} from '../lib'
import { machine } from './machine'
import { emit, int, median, quick, table, times } from './section'
import { zipfIds } from './zipf'

/** A port of its own (the test suites' own servers use 6391–6397). */
const PORT = Number(process.env.TAGS_BENCH_REDIS_PORT ?? 6399)
const URL = `redis://127.0.0.1:${PORT}`
const ENTRIES = quick ? 10_000 : 100_000
const REPS = quick ? 5 : 21
const FILL_BATCH = 5_000
const HIT_KEYS = 10_000
const HIT_OPS = quick ? 200_000 : 1_000_000
const ROUNDS = 8
const TTL = 3_600_000
const GROUP = 'shop:3'

async function ownRedis(): Promise<ChildProcess> {
  const child = spawn(
    process.env.REDIS_SERVER ?? 'redis-server',
    ['--port', String(PORT), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  )
  const failed = new Promise<never>((_, reject) => {
    child.once('error', (error) => reject(new Error(`redis-server did not start: ${error.message}`)))
    child.once('exit', (code) => reject(new Error(`redis-server exited (${code}): is port ${PORT} taken?`)))
  })
  process.once('exit', () => child.kill('SIGKILL'))
  const listening = (async () => {
    for (let i = 0; i < 200; i++) {
      const open = await new Promise<boolean>((resolve) => {
        const socket = connect(PORT, '127.0.0.1')
        socket.once('connect', () => {
          socket.destroy()
          resolve(true)
        })
        socket.once('error', () => resolve(false))
      })
      if (open) return
      await sleep(50)
    }
    throw new Error(`nothing listens on ${PORT}`)
  })()
  await Promise.race([listening, failed])
  failed.catch(() => {})
  return child
}

/** The server's calls per command so far. */
async function commandStats(admin: Redis): Promise<Map<string, number>> {
  const counts = new Map<string, number>()
  for (const match of (await admin.info('commandstats')).matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    counts.set(match[1] as string, Number(match[2]))
  }
  return counts
}

interface Measured {
  /** Milliseconds per invalidation, median of REPS. */
  ms: number
  /** Commands the server ran per invalidation (the same every time), and which. */
  commands: number
  which: string
  /** Seconds to write the ENTRIES tagged entries. */
  fillSeconds: number
}

/** Runs `invalidate` REPS times; its time and the commands the server counted. */
async function measure(admin: Redis, invalidate: () => Promise<unknown>, fillSeconds: number) {
  const elapsed: number[] = []
  let commands = 0
  let which = ''
  for (let rep = 0; rep < REPS; rep++) {
    const before = await commandStats(admin)
    const start = performance.now()
    await invalidate()
    elapsed.push(performance.now() - start)
    const after = await commandStats(admin)
    const delta = [...after]
      .filter(([name]) => name !== 'info')
      .map(([name, calls]) => [name, calls - (before.get(name) ?? 0)] as const)
      .filter(([, calls]) => calls > 0)
    commands = delta.reduce((sum, [, calls]) => sum + calls, 0)
    which = delta.map(([name, calls]) => `${name} ×${calls}`).join(', ')
  }
  return { ms: median(elapsed), commands, which, fillSeconds } satisfies Measured
}

const seconds = (since: number) => (performance.now() - since) / 1000

let loads = 0

class Product extends Node<number> {
  static meta = {
    version: 'v1',
    caches: [new Cache({ storage: 'local', ttl: TTL }), new Cache({ storage: 'redis', ttl: TTL })],
  }
  constructor(readonly id: number) {
    super()
  }
  key() {
    return `product:${this.id}`
  }
  override tags() {
    return [GROUP]
  }
  async load() {
    loads++
    return -this.id
  }
}

async function cacheme(admin: Redis): Promise<Measured> {
  const start = performance.now()
  for (let from = 0; from < ENTRIES; from += FILL_BATCH) {
    const ids = Array.from({ length: Math.min(FILL_BATCH, ENTRIES - from) }, (_, i) => from + i)
    await setAll(
      ids.map((id) => new Product(id)),
      ids,
    )
  }
  const fill = seconds(start)
  if ((await get(new Product(ENTRIES - 1))) !== ENTRIES - 1 || loads !== 0) throw new Error('cacheme: fill')
  const measured = await measure(admin, () => invalidateTags([GROUP]), fill)
  if ((await get(new Product(1))) !== -1) throw new Error('cacheme: an entry of the tag was still served')
  return measured
}

async function bentocache(admin: Redis): Promise<Measured> {
  // bentocache ships as ESM only: imported dynamically from this CommonJS build.
  const { BentoCache, bentostore } = await import('bentocache')
  const { memoryDriver } = await import('bentocache/drivers/memory')
  const { redisDriver } = await import('bentocache/drivers/redis')
  const bento = new BentoCache({
    default: 'tiered',
    prefix: 'bench-tags',
    stores: {
      tiered: bentostore()
        .useL1Layer(memoryDriver({ maxItems: ENTRIES * 2 }))
        .useL2Layer(redisDriver({ connection: { host: '127.0.0.1', port: PORT } })),
    },
  })
  try {
    const start = performance.now()
    for (let from = 0; from < ENTRIES; from += FILL_BATCH) {
      const ids = Array.from({ length: Math.min(FILL_BATCH, ENTRIES - from) }, (_, i) => from + i)
      await Promise.all(
        ids.map((id) => bento.set({ key: `product:${id}`, value: id, ttl: TTL, tags: [GROUP] })),
      )
    }
    const fill = seconds(start)
    if ((await bento.get<number>({ key: `product:${ENTRIES - 1}` })) !== ENTRIES - 1) {
      throw new Error('bentocache: fill')
    }
    const measured = await measure(admin, () => bento.deleteByTag({ tags: [GROUP] }), fill)
    if ((await bento.get<number>({ key: 'product:1' })) !== undefined) {
      throw new Error('bentocache: an entry of the tag was still served')
    }
    return measured
  } finally {
    await bento.disconnectAll()
  }
}

/** A cache without tags: find the group's keys (SCAN) and remove them (UNLINK), batch by batch. */
async function scanAndUnlink(admin: Redis): Promise<Measured> {
  const start = performance.now()
  for (let from = 0; from < ENTRIES; from += FILL_BATCH) {
    const pipeline = admin.pipeline()
    for (let id = from; id < Math.min(ENTRIES, from + FILL_BATCH); id++) {
      pipeline.set(`scan:${GROUP}:product:${id}`, String(id), 'PX', TTL)
    }
    await pipeline.exec()
  }
  const fill = seconds(start)
  const client = new Redis(URL)
  try {
    const unlinkAll = async () => {
      let cursor = '0'
      do {
        const [next, keys] = await client.scan(cursor, 'MATCH', `scan:${GROUP}:*`, 'COUNT', 1000)
        cursor = next
        if (keys.length > 0) await client.unlink(...keys)
      } while (cursor !== '0')
    }
    // Once: the keys are gone after it.
    const before = await commandStats(admin)
    const started = performance.now()
    await unlinkAll()
    const ms = performance.now() - started
    const after = await commandStats(admin)
    if ((await admin.exists(`scan:${GROUP}:product:1`)) !== 0) throw new Error('scan: a key is left')
    const calls = (name: string) => (after.get(name) ?? 0) - (before.get(name) ?? 0)
    return {
      ms,
      commands: calls('scan') + calls('unlink'),
      which: `scan ×${calls('scan')}, unlink ×${calls('unlink')}`,
      fillSeconds: fill,
    }
  } finally {
    client.disconnect()
  }
}

class Plain extends Node<number> {
  static meta = {
    version: 'v1',
    caches: [new Cache({ storage: 'local', ttl: TTL }), new Cache({ storage: 'redis', ttl: TTL })],
  }
  constructor(readonly id: number) {
    super()
  }
  key() {
    return `plain:${this.id}`
  }
  async load() {
    return this.id
  }
}

/** The same class with two tags per entry: one of 100 teams, and its own. */
class Tagged extends Plain {
  override key() {
    return `tagged:${this.id}`
  }
  override tags() {
    return [`team:${this.id % 100}`, `member:${this.id}`]
  }
}

async function hits(): Promise<{ plain: number; tagged: number }> {
  const ids = zipfIds(HIT_KEYS, 1.0, HIT_OPS, 7)
  const classes = { plain: Plain, tagged: Tagged } as const
  for (let id = 0; id < HIT_KEYS; id++) await Promise.all([get(new Plain(id)), get(new Tagged(id))])
  const run = async (cls: typeof Plain, from: number, to: number) => {
    let sum = 0
    for (let i = from; i < to; i++) {
      sum += await get(new cls(ids[i] as number))
      // A turn of the event loop now and then, as a server gets between requests: without it the
      // background re-reads of tag records could not be answered.
      if ((i & 1023) === 0) await yieldToLoop()
    }
    return sum
  }
  // JIT warm-up of both paths, not timed.
  await run(Plain, 0, Math.min(200_000, HIT_OPS))
  await run(Tagged, 0, Math.min(200_000, HIT_OPS))
  const elapsed = { plain: 0, tagged: 0 }
  const chunk = Math.ceil(HIT_OPS / ROUNDS)
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? (['plain', 'tagged'] as const) : (['tagged', 'plain'] as const)
    for (const name of order) {
      const start = process.hrtime.bigint()
      await run(classes[name], round * chunk, Math.min(HIT_OPS, (round + 1) * chunk))
      elapsed[name] += Number(process.hrtime.bigint() - start)
    }
  }
  return { plain: HIT_OPS / (elapsed.plain / 1e9), tagged: HIT_OPS / (elapsed.tagged / 1e9) }
}

async function main(): Promise<void> {
  console.log(`tags: one tag over ${ENTRIES} entries on Redis, ${REPS} invalidations each; then local hits`)
  console.log(machine())
  const server = await ownRedis()
  const admin = new Redis(URL)
  try {
    await registerStorage('local', new Storage({ url: 'local://tlfu', size: ENTRIES + 2 * HIT_KEYS + 1_000 }))
    await registerStorage('redis', new Storage({ url: URL }))
    const results = {
      cacheme: await cacheme(admin),
      bentocache: await bentocache(admin),
      scan: await scanAndUnlink(admin),
    }
    const rate = await hits()
    // With a bus, changed records arrive as messages and copies are re-read only after a long
    // bound; without one, every copy in use is re-read each second in the background.
    await setBus(new Bus({ url: URL }))
    const withBus = await hits()
    for (const [name, r] of Object.entries(results)) {
      console.log(
        `${name}: ${r.ms.toFixed(3)} ms, ${r.commands} commands (${r.which}), fill ${r.fillSeconds}s`,
      )
    }
    console.log(`hits: untagged ${int(rate.plain)}/s, tagged ${int(rate.tagged)}/s`)
    console.log(`hits with a bus: untagged ${int(withBus.plain)}/s, tagged ${int(withBus.tagged)}/s`)
    const n = int(ENTRIES)
    const row = (name: string, r: Measured) => [
      name,
      r.ms.toFixed(3),
      times(r.ms / results.bentocache.ms),
      `${r.commands} (${r.which})`,
      r.fillSeconds.toFixed(1),
    ]
    const markdown = [
      machine(),
      '',
      `(a) One tag covering ${n} entries (local tier + Redis ${ENTRIES === 100_000 ? '' : '(--quick) '}on a redis-server of the benchmark's own): one invalidation, median of ${REPS}, and the commands the server ran for it (INFO commandstats). cacheme \`invalidateTags\` and bentocache \`deleteByTag\` (memory L1 + Redis L2, no bus for either) both write one record per tag and leave the entries to be judged when read; a cache without tags must find and remove every key (SCAN + UNLINK, once). Lower is better.`,
      '',
      table(
        ['contender', 'ms per invalidation', '× bentocache', 'Redis commands', `s to write the ${n} entries`],
        [
          row('cacheme invalidateTags', results.cacheme),
          row('bentocache deleteByTag', results.bentocache),
          row('no tags: SCAN + UNLINK (ioredis)', results.scan),
        ],
      ),
      '',
      `(b) \`await get(node)\` local hits, ${int(HIT_KEYS)} keys, Zipf(1.0), ${int(HIT_OPS)} gets per class in ${ROUNDS} rounds taking turns: a class without tags, and the same class with two tags per entry (one of 100 teams and its own), whose hits compare the entry's stamp with the process's copies of those records; first without a bus (each copy in use is re-read every second), then with a bus attached (copies change on messages). Higher is better.`,
      '',
      table(
        ['class', 'gets/s', '× untagged'],
        [
          ['untagged, no bus', int(rate.plain), '1.00×'],
          ['tagged (2 tags), no bus', int(rate.tagged), times(rate.tagged / rate.plain)],
          ['untagged, with a bus', int(withBus.plain), '1.00×'],
          ['tagged (2 tags), with a bus', int(withBus.tagged), times(withBus.tagged / withBus.plain)],
        ],
      ),
    ].join('\n')
    emit('tags', 'Group invalidation: invalidateTags on Redis, and tagged local hits', markdown, {
      entries: ENTRIES,
      reps: REPS,
      invalidation: results,
      hits: { keys: HIT_KEYS, ops: HIT_OPS, rounds: ROUNDS, ...rate, ratio: rate.tagged / rate.plain },
      hitsWithBus: { ...withBus, ratio: withBus.tagged / withBus.plain },
    })
  } finally {
    await close()
    admin.disconnect()
    server.kill('SIGKILL')
  }
}

main().catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
