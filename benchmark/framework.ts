// The framework's hot path against its peers, in one run on this machine (SPEC §5):
//   `await get(new UserNode(id))` on a local hit vs `await lruCache.get(key)` (the floor),
//   cache-manager `wrap` and bentocache `getOrSet` (both memory-only),
// every contender building its key from the id on each call, over the same Zipf id sequence, in
// interleaved rounds so drift of the machine hits all of them alike. Then the measurement behind the
// SQLite worker thread: how long a burst of writes stalls the event loop, on the main thread vs in a
// worker. Prints figures, asserts nothing.
//
// npm run bench:framework   (BENCH_OPS=… to change the operations per contender)

import { rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { createCache } from 'cache-manager'
import { LRUCache } from 'lru-cache'
import { Cache, close, get, Node, registerStorage, Storage } from '../lib'
import type { RemoteStorage } from '../lib/storages/remote'
import { machine } from './machine'
import { zipfIds } from './zipf'

const KEYS = 100_000
const OPS = Number(process.env.BENCH_OPS ?? 2_000_000)
const ROUNDS = 10

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

type Contender = { name: string; run(ids: Uint32Array, from: number, to: number): Promise<number> }

async function contenders(): Promise<Contender[]> {
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

  // Each loop sums a field so no contender's result can be dropped as unused.
  return [
    {
      name: 'lru-cache get (floor)',
      async run(ids, from, to) {
        let sum = 0
        for (let i = from; i < to; i++) sum += ((await lru.get(`user:${ids[i]}`)) as User).id
        return sum
      },
    },
    {
      name: 'cacheme get',
      async run(ids, from, to) {
        let sum = 0
        for (let i = from; i < to; i++) sum += (await get(new UserNode(ids[i] as number))).id
        return sum
      },
    },
    {
      name: 'cache-manager wrap',
      async run(ids, from, to) {
        let sum = 0
        for (let i = from; i < to; i++) {
          const id = ids[i] as number
          sum += (await manager.wrap(`user:${id}`, async () => users[id] as User)).id
        }
        return sum
      },
    },
    {
      name: 'bentocache getOrSet',
      async run(ids, from, to) {
        let sum = 0
        for (let i = from; i < to; i++) {
          const id = ids[i] as number
          sum += (await bento.getOrSet({ key: `user:${id}`, factory: () => users[id] as User, ttl: '1h' })).id
        }
        return sum
      },
    },
  ]
}

async function hitPath(): Promise<void> {
  const ids = zipfIds(KEYS, 0.99, OPS)
  const all = await contenders()
  const elapsed = new Map<string, number>(all.map((c) => [c.name, 0]))
  const chunk = Math.ceil(OPS / ROUNDS)
  // Warm-up (JIT), not timed.
  for (const contender of all) await contender.run(ids, 0, Math.min(OPS, 50_000))
  let check = 0
  for (let round = 0; round < ROUNDS; round++) {
    const from = round * chunk
    const to = Math.min(OPS, from + chunk)
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
  const opsPerSec = (name: string) => OPS / ((elapsed.get(name) ?? 1) / 1e9)
  console.log(`\nawait get on a local hit — ${OPS.toLocaleString()} ops each, Zipf(0.99) over ${KEYS} keys`)
  for (const contender of all) {
    console.log(
      `  ${contender.name.padEnd(24)} ${Math.round(opsPerSec(contender.name)).toLocaleString().padStart(12)} ops/s`,
    )
  }
  const cacheme = opsPerSec('cacheme get')
  console.log(
    `  cacheme / floor          ${(cacheme / opsPerSec('lru-cache get (floor)')).toFixed(2)}×  (target ≥ 0.7)`,
  )
  console.log(
    `  cacheme / cache-manager  ${(cacheme / opsPerSec('cache-manager wrap')).toFixed(2)}×  (target ≥ 2)`,
  )
  console.log(
    `  cacheme / bentocache     ${(cacheme / opsPerSec('bentocache getOrSet')).toFixed(2)}×  (target ≥ 6)`,
  )
  if (check === 0) console.log('(checksum 0)')
  await close()
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
  console.log(`machine: ${machine()}`)
  await hitPath()
  const writes = 20_000
  console.log(
    `\nSQLite event-loop stall — ${writes.toLocaleString()} concurrent 200-byte writes, 1,000 per tick`,
  )
  for (const [label, poolSize] of [
    ['main thread (poolSize 0)', 0],
    ['worker thread (poolSize 1)', 1],
  ] as const) {
    const { ms, medianGapMs, maxGapMs } = await sqliteStall(poolSize, writes)
    console.log(
      `  ${label.padEnd(28)} ${ms.toFixed(0).padStart(6)} ms total; event-loop turn gap median ` +
        `${medianGapMs.toFixed(1)} ms, longest ${maxGapMs.toFixed(1)} ms`,
    )
  }
}

main().catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
