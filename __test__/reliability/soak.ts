// A bounded soak: mixed operations with TTLs on the local storage, then through a local tier in
// front of Redis, with RSS and heap sampled after a full GC at regular intervals. The full form
// (10M + 1M operations) is `npm run soak` (scripts/soak.ts); soak.test.ts runs a short one in CI.
//
// Memory should rise while the storages fill and then stay flat: every key space is ten times the
// storage size, so eviction runs constantly, and TTLs from 1 ms to a few seconds make entries
// expire constantly too. A leak in either path (values kept after Rust frees their slot, flights or
// timers left behind, per-key bookkeeping) shows as growth after warm-up.
//
// Needs `node --expose-gc`. Registers its own storages and closes every storage when done, so run
// it in a process of its own.

import {
  Cache,
  close,
  get,
  getAll,
  invalidate,
  LocalStore,
  Node,
  type NodeMeta,
  onError,
  refresh,
  registerStorage,
  Storage,
  setPrefix,
} from '../../lib'

export type SoakPhase = 'local' | 'redis'

export interface SoakOptions {
  /** Operations on the local storage (LocalStore directly, and the framework over a local tier). */
  readonly localOps: number
  /** Operations through the framework over a local tier in front of Redis. */
  readonly redisOps: number
  /** Samples per phase, besides the one taken before it starts (default 20). */
  readonly samples?: number
  /** Default: REDIS_URL, else redis://127.0.0.1:6379. */
  readonly redisUrl?: string
  /** Redis phase: operations in flight at once (default 32). */
  readonly concurrency?: number
  /** Longest TTL, in ms (default 3000); TTLs are drawn log-uniformly from 1 ms to it. */
  readonly maxTtl?: number
  /** Seed of the operation mix (default 1; the local phase replays exactly, Redis's interleaving varies). */
  readonly seed?: number
  /** Called with each sample as it is taken (progress). */
  readonly onSample?: (sample: SoakSample) => void
}

export interface SoakSample {
  readonly phase: SoakPhase
  /** Operations of this phase done when the sample was taken. */
  readonly ops: number
  readonly rssBytes: number
  readonly heapUsedBytes: number
  /** Memory of C++ objects bound to JS (Buffers, the native storages' shared arrays). */
  readonly externalBytes: number
  /** Since the soak started (for the reader; nothing is asserted on time). */
  readonly elapsedMs: number
}

export interface SoakResult {
  readonly samples: SoakSample[]
  /** Storage and decode errors the framework absorbed (reported through onError). */
  readonly absorbedErrors: number
  /** Operations that rejected (a refresh or invalidate whose storage call failed). */
  readonly failedOps: number
  /** Evictions and expirations of each local storage: they must both have happened. */
  readonly storages: Readonly<Record<string, { readonly evictions: number; readonly expirations: number }>>
}

// Storage sizes; each key space is KEYS× the size it is drawn for.
/** Local phase: the storage driven directly. */
const LOCAL_SIZE = 10_000
/** Local phase: the framework's local tier. */
const FRAMEWORK_SIZE = 10_000
/** Redis phase: the local tier in front of Redis. */
const REDIS_LOCAL_SIZE = 5_000
const KEYS = 10
const BATCH = 8

/** mulberry32: small, fast and seedable, so a soak can be replayed. */
function random(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function collector(): () => void {
  const gc = (globalThis as { gc?: () => void }).gc
  if (typeof gc !== 'function')
    throw new Error('the soak samples memory after a full GC: run node with --expose-gc')
  return gc
}

interface Item {
  readonly id: number
  readonly at: number
  readonly tags: number[]
}

const item = (id: number, at: number): Item => ({ id, at, tags: [id & 7, id & 15, at & 31] })

/** Node classes over the given tiers, one per TTL pair, with keys `name:<class>:<id>`. */
function nodeClasses(
  name: string,
  ttls: readonly (readonly [number | null, number | undefined])[],
  tiers: string[],
) {
  let loads = 0
  return ttls.map(([first, second], c) => {
    const caches = [new Cache({ storage: tiers[0] as string, ttl: first })]
    if (second !== undefined) caches.push(new Cache({ storage: tiers[1] as string, ttl: second }))
    return class SoakNode extends Node<Item> {
      static meta: NodeMeta = { version: 'v1', caches }
      constructor(readonly id: number) {
        super()
      }
      key() {
        return `${name}:${c}:${this.id}`
      }
      async load() {
        return item(this.id, ++loads)
      }
    }
  })
}

export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const gc = collector()
  const started = performance.now()
  const perPhase = Math.max(1, options.samples ?? 20)
  const samples: SoakSample[] = []
  let absorbedErrors = 0
  let failedOps = 0
  const stopListening = onError(() => {
    absorbedErrors++
  })
  const sample = (phase: SoakPhase, ops: number) => {
    gc()
    const memory = process.memoryUsage()
    const taken: SoakSample = {
      phase,
      ops,
      rssBytes: memory.rss,
      heapUsedBytes: memory.heapUsed,
      externalBytes: memory.external,
      elapsedMs: Math.round(performance.now() - started),
    }
    samples.push(taken)
    options.onSample?.(taken)
  }
  const rng = random(options.seed ?? 1)
  const pick = (keys: number) => {
    // Half the picks from a hot tenth of the keys, so hits happen as well as misses.
    const span = rng() < 0.5 ? Math.max(1, Math.floor(keys / 10)) : keys
    return Math.floor(rng() * span)
  }
  const maxTtl = Math.max(1, options.maxTtl ?? 3000)
  // Three sets in ten have no TTL: those fill the storage whatever the pace (a slow machine lets
  // more of the others expire first), so eviction always runs.
  const ttl = () => (rng() < 0.3 ? null : Math.max(1, Math.round(Math.exp(rng() * Math.log(maxTtl)))))
  /** Four TTLs spread over 1 ms .. maxTtl, one per node class. */
  const spread = [1, maxTtl ** (1 / 3), maxTtl ** (2 / 3), maxTtl].map(Math.round)
  setPrefix(`soak-${process.pid}-${Date.now().toString(36)}`)
  const storages: Record<string, { evictions: number; expirations: number }> = {}
  const count = (name: string, store: LocalStore | undefined) => {
    const counters = store?.stats()
    if (counters !== undefined)
      storages[name] = { evictions: counters.evictions, expirations: counters.expirations }
  }

  try {
    if (options.localOps > 0) {
      const store = new LocalStore('tlfu', LOCAL_SIZE)
      const tier = new Storage({ url: 'local://lru', size: FRAMEWORK_SIZE })
      await registerStorage('soak-local', tier)
      // Plus one class without a TTL: its entries stay until evicted, so the tier fills and evicts
      // however fast this host runs (with TTLs alone, a slow run never filled it: 0 evictions).
      const classes = nodeClasses(
        'local',
        [...spread.map((t) => [t, undefined] as const), [null, undefined] as const],
        ['soak-local'],
      )
      const keys = KEYS * LOCAL_SIZE
      const nodeKeys = KEYS * FRAMEWORK_SIZE
      const node = () =>
        new (classes[Math.floor(rng() * classes.length)] as (typeof classes)[number])(pick(nodeKeys))
      const every = Math.ceil(options.localOps / perPhase)
      sample('local', 0)
      let ops = 0
      const pending: Promise<void>[] = []
      const track = (call: Promise<unknown>) => {
        pending.push(
          call.then(
            () => {},
            () => {
              failedOps++
            },
          ),
        )
      }
      while (ops < options.localOps) {
        // A chunk of synchronous work, then the framework calls it started are awaited.
        const end = Math.min(options.localOps, ops + 1024)
        for (; ops < end; ops++) {
          const r = rng()
          if (r < 0.35) store.get(`k:${pick(keys)}`)
          else if (r < 0.55) store.set(`k:${pick(keys)}`, item(ops, ops), ttl())
          else if (r < 0.6) store.getMany(Array.from({ length: BATCH }, () => `k:${pick(keys)}`))
          else if (r < 0.63) {
            const batch = Array.from({ length: BATCH }, () => `k:${pick(keys)}`)
            store.setMany(
              batch,
              batch.map((_, i) => item(i, ops)),
              ttl(),
            )
          } else if (r < 0.7) store.delete(`k:${pick(keys)}`)
          else if (r < 0.9) track(get(node()))
          else if (r < 0.95) {
            const cls = classes[Math.floor(rng() * classes.length)] as (typeof classes)[number]
            track(getAll(Array.from({ length: BATCH }, () => new cls(pick(nodeKeys)))))
          } else if (r < 0.98) track(invalidate(node()))
          else track(refresh(node()))
          if ((ops + 1) % every === 0) {
            await Promise.all(pending.splice(0))
            sample('local', ops + 1)
          }
        }
        await Promise.all(pending.splice(0))
      }
      if (ops % every !== 0) sample('local', ops)
      count('direct (tlfu)', store)
      count('framework local tier (lru)', tier.local)
      store.clear()
    }

    if (options.redisOps > 0) {
      const url = options.redisUrl ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
      const tier = new Storage({ url: 'local://tlfu', size: REDIS_LOCAL_SIZE })
      await registerStorage('soak-redis-local', tier)
      await registerStorage('soak-redis', new Storage({ url }))
      // Every Redis write has a TTL, so the soak leaves nothing behind on the server; one class keeps
      // its local copies until evicted.
      const ttls: [local: number | null, redis: number][] = [
        [spread[0] as number, spread[2] as number],
        [spread[1] as number, spread[3] as number],
        [null, spread[3] as number],
      ]
      const classes = nodeClasses('redis', ttls, ['soak-redis-local', 'soak-redis'])
      const keys = KEYS * REDIS_LOCAL_SIZE
      const every = Math.ceil(options.redisOps / perPhase)
      sample('redis', 0)
      let started = 0
      let done = 0
      const one = async () => {
        const cls = classes[Math.floor(rng() * classes.length)] as (typeof classes)[number]
        const r = rng()
        if (r < 0.6) await get(new cls(pick(keys)))
        else if (r < 0.75) await getAll(Array.from({ length: BATCH }, () => new cls(pick(keys))))
        else if (r < 0.9) await invalidate(new cls(pick(keys)))
        else await refresh(new cls(pick(keys)))
      }
      const worker = async () => {
        while (started < options.redisOps) {
          started++
          try {
            await one()
          } catch {
            failedOps++
          }
          done++
          if (done % every === 0) sample('redis', done)
        }
      }
      await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 32) }, worker))
      if (done % every !== 0) sample('redis', done)
      count('Redis phase local tier (tlfu)', tier.local)
    }
  } finally {
    stopListening()
    setPrefix('cacheme')
    await close()
  }
  return { samples, absorbedErrors, failedOps, storages }
}

export interface PhaseGrowth {
  readonly phase: SoakPhase
  /** The first sample at or after the warm-up, and the last one. */
  readonly from: SoakSample
  readonly to: SoakSample
  readonly rssGrowthBytes: number
  readonly heapGrowthBytes: number
  /** Largest heapUsed after warm-up minus the one at warm-up (a leak may not end at its peak). */
  readonly heapPeakGrowthBytes: number
}

/**
 * Memory growth of `phase` from the end of its warm-up (the first `warmup` fraction of its
 * operations, by default a fifth) to its last sample; undefined if the phase did not run.
 */
export function growth(
  samples: readonly SoakSample[],
  phase: SoakPhase,
  warmup = 0.2,
): PhaseGrowth | undefined {
  const own = samples.filter((s) => s.phase === phase)
  const last = own[own.length - 1]
  if (last === undefined || last.ops === 0) return undefined
  const from = own.find((s) => s.ops >= warmup * last.ops) as SoakSample
  const after = own.filter((s) => s.ops >= from.ops)
  return {
    phase,
    from,
    to: last,
    rssGrowthBytes: last.rssBytes - from.rssBytes,
    heapGrowthBytes: last.heapUsedBytes - from.heapUsedBytes,
    heapPeakGrowthBytes: Math.max(...after.map((s) => s.heapUsedBytes)) - from.heapUsedBytes,
  }
}
