// The public API: get, getAll, invalidate, refresh, memoize, nodes, stats, setPrefix, close.
//
// The hot path is `get` on a hit in a local first tier: it is synchronous work inside an async
// function — one property read for the class's runtime, one key() call, two concatenations, one
// LocalStore.get that also counts the hit in Rust — and returns the value. Everything else (other
// tiers, coalescing, loading, metrics of misses) is in `readThrough`.

import type { OpenFlight } from './coalesce'
import { InvalidArgumentError, NodeDefinitionError } from './errors'
import { native } from './native'
import { knownNodes, type Node, type NodeClass, type NodeValue } from './node'
import {
  badKey,
  keyHead,
  keyTooLong,
  type NodeRuntime,
  RUNTIME,
  runtimeOf,
  stateOf,
  storedKey,
  type Tier,
  unresolveAll,
} from './runtime'
import { closeStorages } from './storages/storage'
import {
  AFTER_LOAD,
  EXPLICIT,
  FILL_BACK,
  fromLocal,
  MISS,
  readTier,
  readTierMany,
  UNDEFINED,
  writeTiers,
  writeTiersMany,
} from './tiers'

export { setPrefix } from './runtime'

type Loader = () => unknown

// getAll accepts nodes of one class only; a union of node types (mixed classes) does not compile.
type IsUnion<T, U = T> = T extends unknown ? ([U] extends [T] ? false : true) : never
export type OneClass<N> = [IsUnion<N>] extends [false]
  ? unknown
  : { readonly 'getAll needs nodes of one class': never }
type Holder = { [RUNTIME]?: NodeRuntime } | undefined

/**
 * The value of `node`: from the first tier that has it (filling every tier before it), else loaded
 * once however many callers ask concurrently, written to every tier, and returned.
 */
export async function get<T>(node: Node<T>): Promise<T> {
  const cls = node?.constructor as Holder
  let runtime = cls?.[RUNTIME]
  if (runtime === undefined || runtime.cls !== cls) runtime = runtimeOf(node, 'get')
  const key = node.key()
  if (typeof key !== 'string' || key.length === 0) throw badKey(runtime, key)
  const stored = keyHead + key + runtime.suffix
  const local = runtime.local
  if (local !== undefined) {
    const value = local.get(stored, runtime.metricsId)
    if (value !== undefined) return (value === UNDEFINED ? undefined : value) as T
  }
  return (await readThrough(runtime, node, stored, undefined)) as T
}

/** Everything after a miss in a local first tier (or from the start without one). */
function readThrough(runtime: NodeRuntime, node: Node<unknown>, key: string, loader: Loader | undefined) {
  if (key.length > runtime.maxKeyLength) throw keyTooLong(runtime, key)
  const flight = runtime.flights.get(key)
  if (flight !== undefined) {
    runtime.joined++
    native.metricsRecordHits(runtime.metricsId, 1)
    return flight.promise
  }
  return runtime.flights.lead(key, async (own) => {
    const tiers = runtime.tiers
    for (let i = runtime.firstRead; i < tiers.length; i++) {
      const tier = tiers[i] as Tier
      const value = await readTier(runtime, tier, key)
      if (value === MISS) continue
      ;(runtime.tierHits[i] as number)++
      native.metricsRecordHits(runtime.metricsId, 1)
      if (i > 0 && !own.stale) await writeTiers(runtime, tiers.slice(0, i), key, value, FILL_BACK)
      return value
    }
    native.metricsRecordMisses(runtime.metricsId, 1)
    const value = await timedLoad(runtime, node, loader)
    // Doorkeeper: a key's first load only marks it; the second one caches it.
    if (runtime.doorkeeper !== undefined && !runtime.doorkeeper.insert(key)) return value
    if (!own.stale) await writeTiers(runtime, tiers, key, value, AFTER_LOAD)
    return value
  })
}

async function timedLoad(
  runtime: NodeRuntime,
  node: Node<unknown>,
  loader: Loader | undefined,
): Promise<unknown> {
  const start = process.hrtime.bigint()
  let ok = false
  try {
    const value = await (loader === undefined ? node.load() : loader())
    ok = true
    return value
  } finally {
    native.metricsRecordLoad(runtime.metricsId, ok, Number(process.hrtime.bigint() - start))
  }
}

/**
 * Values of `nodes` (all of one class) in input order. Per tier, one batch read of the keys still
 * missing; the rest loaded by the class's static loadAll if it has one (else concurrent loads), then
 * written back in one batch per tier. Keys being loaded by concurrent calls are joined, not reloaded;
 * a repeated node is read once. Every node counts as one request; repeats and joins count as hits.
 */
export async function getAll<N extends Node<unknown>>(
  nodes: readonly N[] & OneClass<N>,
): Promise<NodeValue<N>[]> {
  if (!Array.isArray(nodes)) {
    throw new InvalidArgumentError('CACHEME_INVALID_ARGUMENT', 'getAll needs an array of nodes')
  }
  const count = nodes.length
  if (count === 0) return []
  const first = nodes[0] as N
  const runtime = runtimeOf(first, 'getAll')
  const cls = first.constructor

  // Stored keys, deduplicated: slot s holds unique key keys[s]; slotOf[i] is node i's slot.
  const slotOf = new Array<number>(count)
  const keys: string[] = []
  const owners: N[] = []
  const slots = new Map<string, number>()
  for (let i = 0; i < count; i++) {
    const node = nodes[i] as N
    if (node?.constructor !== cls) {
      const got = node === null || typeof node !== 'object' ? String(node) : node.constructor.name
      throw new InvalidArgumentError(
        'CACHEME_INVALID_NODE',
        `getAll needs nodes of one class: nodes[0] is a ${runtime.name}, nodes[${i}] is a ${got}`,
      )
    }
    const key = storedKey(runtime, node)
    let slot = slots.get(key)
    if (slot === undefined) {
      if (key.length > runtime.maxKeyLength) throw keyTooLong(runtime, key)
      slot = keys.length
      slots.set(key, slot)
      keys.push(key)
      owners.push(node)
    }
    slotOf[i] = slot
  }

  const values = new Array<unknown>(keys.length).fill(MISS)
  /** Where each slot's value came from: a tier index, JOINED or LOADED. */
  const source = new Array<number>(keys.length).fill(LOADED)
  const tiers = runtime.tiers

  // Tier 0 when local: synchronous, before any flight is consulted (as in get).
  let missing: number[] = []
  if (runtime.local !== undefined) {
    const found = runtime.local.getMany(keys)
    for (let s = 0; s < keys.length; s++) {
      const stored = found[s]
      if (stored === undefined) missing.push(s)
      else {
        values[s] = fromLocal(stored)
        source[s] = 0
      }
    }
  } else missing = keys.map((_, s) => s)

  // Join keys already in flight; open flights for the rest, so concurrent callers join this call.
  const joined = new Map<number, Promise<unknown>>()
  const owned = new Map<number, OpenFlight>()
  for (const s of missing) {
    const key = keys[s] as string
    const flight = runtime.flights.get(key)
    if (flight !== undefined) {
      joined.set(s, flight.promise)
      source[s] = JOINED
    } else owned.set(s, runtime.flights.open(key))
  }

  try {
    let pending = [...owned.keys()]
    for (let t = runtime.firstRead; t < tiers.length && pending.length > 0; t++) {
      const tier = tiers[t] as Tier
      const found = await readTierMany(
        runtime,
        tier,
        pending.map((s) => keys[s] as string),
      )
      const hits: number[] = []
      const rest: number[] = []
      for (let j = 0; j < pending.length; j++) {
        const s = pending[j] as number
        if (found[j] === MISS) rest.push(s)
        else {
          values[s] = found[j]
          source[s] = t
          hits.push(s)
        }
      }
      if (t > 0 && hits.length > 0) {
        const live = hits.filter((s) => !owned.get(s)?.stale)
        await writeTiersMany(
          runtime,
          tiers.slice(0, t),
          live.map((s) => keys[s] as string),
          live.map((s) => values[s]),
        )
      }
      for (const s of hits) owned.get(s)?.resolve(values[s])
      pending = rest
    }

    recordRequests(runtime, slotOf, source)

    if (pending.length > 0) {
      const loaded = await loadMany(
        runtime,
        pending.map((s) => owners[s] as N),
      )
      const ok: number[] = []
      for (let j = 0; j < pending.length; j++) {
        const s = pending[j] as number
        const result = loaded[j] as LoadResult
        if (result.ok) {
          values[s] = result.value
          ok.push(s)
        } else owned.get(s)?.reject(result.error)
      }
      // Doorkeeper (a key's first load only marks it), then one write-back batch per tier.
      const door = runtime.doorkeeper
      const cache = ok.filter(
        (s) => !owned.get(s)?.stale && (door === undefined || door.insert(keys[s] as string)),
      )
      const unencodable = await writeTiersMany(
        runtime,
        tiers,
        cache.map((s) => keys[s] as string),
        cache.map((s) => values[s]),
      )
      for (const s of ok) {
        const error = unencodable.get(keys[s] as string)
        if (error === undefined) owned.get(s)?.resolve(values[s])
        else owned.get(s)?.reject(error)
      }
    }
  } catch (error) {
    for (const flight of owned.values()) flight.reject(error)
    throw error
  }

  // Every owned flight is settled; a rejected one is this call's error (the first, in slot order).
  for (const flight of owned.values()) await flight.promise
  for (const [s, promise] of joined) values[s] = await promise
  return slotOf.map((s) => values[s]) as NodeValue<N>[]
}

const LOADED = -1
const JOINED = -2

/** One request per input node: a miss for the first node of each loaded key, a hit for the rest. */
function recordRequests(runtime: NodeRuntime, slotOf: readonly number[], source: readonly number[]): void {
  let hits = 0
  let misses = 0
  const seen = new Set<number>()
  for (const s of slotOf) {
    const from = source[s] as number
    if (from === LOADED && !seen.has(s)) {
      seen.add(s)
      misses++
      continue
    }
    hits++
    if (from === LOADED || from === JOINED) runtime.joined++
    // Hits in a local first tier are derived in stats(), as get counts them in Rust.
    else if (from > 0 || runtime.local === undefined) (runtime.tierHits[from] as number)++
  }
  if (hits > 0) native.metricsRecordHits(runtime.metricsId, hits)
  if (misses > 0) native.metricsRecordMisses(runtime.metricsId, misses)
}

type LoadResult =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly error: unknown }

/** Loads `nodes` with the class's loadAll (one call, its time split evenly), else concurrently. */
async function loadMany(runtime: NodeRuntime, nodes: readonly Node<unknown>[]): Promise<LoadResult[]> {
  const loadAll = runtime.loadAll
  if (loadAll === undefined) {
    return Promise.all(
      nodes.map((node) =>
        timedLoad(runtime, node, undefined).then(
          (value): LoadResult => ({ ok: true, value }),
          (error: unknown): LoadResult => ({ ok: false, error }),
        ),
      ),
    )
  }
  const start = process.hrtime.bigint()
  let results: LoadResult[]
  try {
    const loaded = await loadAll(nodes)
    if (!Array.isArray(loaded) || loaded.length !== nodes.length) {
      throw new NodeDefinitionError(
        'CACHEME_INVALID_NODE',
        `${runtime.name}.loadAll must resolve to an array with one value per node, in order ` +
          `(${nodes.length} nodes; got ${Array.isArray(loaded) ? `${loaded.length} values` : typeof loaded})`,
      )
    }
    results = loaded.map((value): LoadResult => ({ ok: true, value }))
  } catch (error) {
    results = nodes.map((): LoadResult => ({ ok: false, error }))
  }
  const share = Number(process.hrtime.bigint() - start) / nodes.length
  for (const result of results) native.metricsRecordLoad(runtime.metricsId, result.ok, share)
  return results
}

/** Removes `node` from every tier. A load in flight for it will not write its (older) value. */
export async function invalidate(node: Node<unknown>): Promise<void> {
  const runtime = runtimeOf(node, 'invalidate')
  const key = storedKey(runtime, node)
  if (key.length > runtime.maxKeyLength) throw keyTooLong(runtime, key)
  runtime.flights.retire(key)
  const removals: Promise<void>[] = []
  for (const tier of runtime.tiers) {
    if (tier.local !== undefined) tier.local.delete(key)
    else removals.push((tier.remote as NonNullable<Tier['remote']>).remove(key))
  }
  await Promise.all(removals)
}

/**
 * Loads `node` from the source now, writes every tier (doorkeeper or not) and returns the value.
 * Concurrent gets join it; a load already in flight will not write its older value afterwards.
 */
export async function refresh<T>(node: Node<T>): Promise<T> {
  const runtime = runtimeOf(node, 'refresh')
  const key = storedKey(runtime, node)
  if (key.length > runtime.maxKeyLength) throw keyTooLong(runtime, key)
  runtime.flights.retire(key)
  const value = await runtime.flights.lead(key, async (own) => {
    const loaded = await timedLoad(runtime, node, undefined)
    if (!own.stale) await writeTiers(runtime, runtime.tiers, key, loaded, EXPLICIT)
    return loaded
  })
  return value as T
}

/** Result of `memoize(NodeClass)(fn)`: say which node caches a call. */
export interface Memoizer<A extends unknown[], T, This> {
  /** `mapper` gets the same arguments (and `this`) as the function and returns its node. */
  toNode(mapper: (this: This, ...args: A) => Node<T>): (this: This, ...args: A) => Promise<T>
}

/**
 * Caches an existing async function (or method) under a node class: the function is the loader,
 * and `.toNode(mapper)` maps its arguments to the node.
 *
 *     const getUser = memoize(UserNode)(async (id: number) => db.user(id)).toNode((id) => new UserNode(id))
 */
export function memoize<T>(
  nodeClass: NodeClass<T>,
): <A extends unknown[], This = unknown>(fn: (this: This, ...args: A) => Promise<T>) => Memoizer<A, T, This> {
  stateOf(nodeClass, 'memoize')
  return <A extends unknown[], This>(fn: (this: This, ...args: A) => Promise<T>): Memoizer<A, T, This> => {
    if (typeof fn !== 'function') {
      throw new InvalidArgumentError('CACHEME_INVALID_ARGUMENT', 'memoize(NodeClass) wraps a function')
    }
    return {
      toNode(mapper) {
        if (typeof mapper !== 'function') {
          throw new InvalidArgumentError(
            'CACHEME_INVALID_ARGUMENT',
            'toNode needs a function from arguments to a node',
          )
        }
        return function memoized(this: This, ...args: A): Promise<T> {
          return getVia(nodeClass, mapper.apply(this, args), () => fn.apply(this, args)) as Promise<T>
        }
      },
    }
  }
}

/** `get` with another loader than node.load (memoize): the same path, hot hit included. */
async function getVia(nodeClass: NodeClass, node: Node<unknown>, loader: Loader): Promise<unknown> {
  const cls = node?.constructor as Holder
  if (cls !== (nodeClass as unknown)) {
    throw new InvalidArgumentError(
      'CACHEME_INVALID_NODE',
      `toNode must return a ${nodeClass.name}; got ${node === null || typeof node !== 'object' ? String(node) : node.constructor.name}`,
    )
  }
  let runtime = cls?.[RUNTIME]
  if (runtime === undefined || runtime.cls !== cls) runtime = runtimeOf(node, 'memoize')
  const stored = storedKey(runtime, node)
  const local = runtime.local
  if (local !== undefined) {
    const value = local.get(stored, runtime.metricsId)
    if (value !== undefined) return value === UNDEFINED ? undefined : value
  }
  return await readThrough(runtime, node, stored, loader)
}

/** Every node class with caches that cacheme knows of (built by buildNode, or used once). */
export function nodes(): NodeClass[] {
  return [...knownNodes].filter((cls) => Array.isArray(cls.meta?.caches) && cls.meta.caches.length > 0)
}

/** The metrics of a node class: the eleven counted in Rust, plus per-tier hits and absorbed errors. */
export interface NodeStats {
  readonly requestCount: number
  readonly hitCount: number
  readonly hitRate: number
  /** requestCount − hitCount. */
  readonly missCount: number
  readonly missRate: number
  readonly loadSuccessCount: number
  readonly loadFailureCount: number
  readonly loadFailureRate: number
  readonly loadCount: number
  /** Nanoseconds. */
  readonly totalLoadTime: number
  /** Nanoseconds. */
  readonly averageLoadTime: number
  /** Hits answered by each tier, by storage name. */
  readonly hitsByCache: Readonly<Record<string, number>>
  /** Hits that joined a load or read already in flight (or repeated a node within one getAll). */
  readonly coalescedHits: number
  /** Stored payloads that did not decode (each read as a miss). */
  readonly decodeErrorCount: number
  /** Remote reads and writes that failed and were absorbed. */
  readonly storageErrorCount: number
  /** Keys with a read-through or load in flight right now. */
  readonly inFlightCount: number
}

export function stats(nodeClass: NodeClass): NodeStats {
  const runtime = stateOf(nodeClass, 'stats')
  const metrics = native.metricsSnapshot(runtime.metricsId)
  const hitsByCache: Record<string, number> = {}
  runtime.tierNames.forEach((name, i) => {
    hitsByCache[name] = runtime.tierHits[i] ?? 0
  })
  // Hits in a local first tier are counted in Rust with the request; they are the remainder.
  const first = runtime.tierNames[0]
  if (runtime.localFirst && first !== undefined) {
    const elsewhere = runtime.tierHits.reduce((sum, n) => sum + n, runtime.joined)
    hitsByCache[first] = metrics.hitCount - elsewhere
  }
  return {
    ...metrics,
    hitsByCache,
    coalescedHits: runtime.joined,
    decodeErrorCount: runtime.decodeErrors,
    storageErrorCount: runtime.storageErrors,
    inFlightCount: runtime.flights.size,
  }
}

/** Closes every storage (connections, worker threads) so the process can exit; names can be registered again. */
export async function close(): Promise<void> {
  unresolveAll()
  await closeStorages()
}
