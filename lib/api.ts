// The public API: get, getAll, invalidate, refresh, memoize, nodes, stats, setPrefix, close.
//
// The hot path is `get` on a hit in a local first tier: synchronous work — one property read for the
// class's runtime, one key() call, two concatenations, one LocalStore.get that also counts the hit
// in Rust — and a resolved promise of the value. Everything else (other tiers, coalescing, loading,
// metrics of misses) is in `readThrough`, one async frame that leads or joins the key's flight.
//
// getAll and the remote read paths are measured against the raw drivers (benchmark/remote.ts): per
// request they add one flight object per key (coalesce.ts), the key strings and the decode, and as
// few promises as the async steps need.

import type { Flight } from './coalesce'
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
  absorb,
  decode,
  EXPLICIT,
  FILL_BACK,
  fromLocal,
  MISS,
  readLocal,
  readTierMany,
  UNDEFINED,
  writesSettled,
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
export function get<T>(node: Node<T>): Promise<T> {
  // Not an async function, so that a read past the local tier runs in one async frame (readThrough)
  // rather than two; whatever throws here comes back as a rejection, as from an async function.
  let runtime: NodeRuntime
  let stored: string
  try {
    const cls = node?.constructor as Holder
    const known = cls?.[RUNTIME]
    runtime = known !== undefined && known.cls === cls ? known : runtimeOf(node, 'get')
    const key = node.key()
    if (typeof key !== 'string' || key.length === 0) throw badKey(runtime, key)
    stored = keyHead + key + runtime.suffix
    const local = runtime.local
    if (local !== undefined) {
      const value = local.get(stored, runtime.metricsId)
      if (value !== undefined) return Promise.resolve((value === UNDEFINED ? undefined : value) as T)
    }
  } catch (error) {
    return Promise.reject(error)
  }
  return readThrough(runtime, node, stored, undefined) as Promise<T>
}

/**
 * Everything after a miss in a local first tier (or from the start without one): join the key's
 * flight, or lead one. The leader does the work in this one async frame and settles its flight
 * itself, so a read that nobody joins costs no promise beyond its own.
 */
async function readThrough(
  runtime: NodeRuntime,
  node: Node<unknown>,
  key: string,
  loader: Loader | undefined,
): Promise<unknown> {
  if (key.length > runtime.maxKeyLength) throw keyTooLong(runtime, key)
  const flight = runtime.flights.get(key)
  if (flight !== undefined) {
    runtime.joined++
    native.metricsRecordHits(runtime.metricsId, 1)
    return await flight.promise
  }
  const own = runtime.flights.open(key)
  try {
    const tiers = runtime.tiers
    for (let i = runtime.firstRead; i < tiers.length; i++) {
      const tier = tiers[i] as Tier
      // The remote read inline, not in a helper: an async helper would be one more promise and
      // one more microtask turn on every remote round trip.
      let value: unknown
      if (tier.remote === undefined) value = readLocal(tier, key)
      else {
        let payload: Buffer | undefined
        try {
          payload = await tier.remote.get(key)
        } catch (error) {
          absorb(runtime, tier, 'read', key, error)
          continue
        }
        value = decode(runtime, tier, key, payload)
      }
      if (value === MISS) continue
      ;(runtime.tierHits[i] as number)++
      native.metricsRecordHits(runtime.metricsId, 1)
      if (i > 0 && !own.stale) await writeTiers(runtime, tiers.slice(0, i), key, value, FILL_BACK)
      own.resolve(value)
      return value
    }
    native.metricsRecordMisses(runtime.metricsId, 1)
    const value = await timedLoad(runtime, node, loader)
    // Doorkeeper: a key's first load only marks it; the second one caches it.
    const admitted = runtime.doorkeeper === undefined || runtime.doorkeeper.insert(key)
    if (admitted && !own.stale) await writeTiers(runtime, tiers, key, value, AFTER_LOAD)
    own.resolve(value)
    return value
  } catch (error) {
    own.reject(error)
    throw error
  }
}

/**
 * Nanoseconds since `start` (a performance.now() reading). performance.now() is a double with
 * sub-microsecond resolution: load times need no more, and unlike process.hrtime.bigint() it
 * allocates nothing, which shows on refresh, a load per call.
 */
function nanosSince(start: number): number {
  return (performance.now() - start) * 1e6
}

async function timedLoad(
  runtime: NodeRuntime,
  node: Node<unknown>,
  loader: Loader | undefined,
): Promise<unknown> {
  const start = performance.now()
  let ok = false
  try {
    const value = await (loader === undefined ? node.load() : loader())
    ok = true
    return value
  } finally {
    native.metricsRecordLoad(runtime.metricsId, ok, nanosSince(start))
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
  const runtime = runtimeOf(nodes[0], 'getAll')
  const keys = storedKeys(runtime, nodes)
  const tiers = runtime.tiers
  const values = new Array<unknown>(count)
  /** Where node i's value comes from: a tier index, LOADED, JOINED or REPEAT. */
  const source = new Array<number>(count).fill(LOADED)
  /** The flight node i leads: it is the first node of its key that the local tier did not answer. */
  const flights = new Array<Flight | undefined>(count)
  /** Nodes this call leads that still lack a value, and their keys. */
  let pending: number[] = []
  let pendingKeys: string[] = []
  /** Node i waits on another call's flight, or repeats this call's node j (flat pairs). */
  let joined: [node: number, promise: Promise<unknown>][] | undefined
  let repeats: number[] | undefined

  // A local first tier answers synchronously, before any flight is consulted (as in get). Every
  // other key joins the flight of a concurrent call, or gets one of ours that such calls can join;
  // a flight owned by `flights` means the key came earlier in this very call.
  const found = runtime.local?.getMany(keys)
  for (let i = 0; i < count; i++) {
    const stored = found?.[i]
    if (stored !== undefined) {
      values[i] = fromLocal(stored)
      source[i] = 0
      continue
    }
    const key = keys[i] as string
    const flight = runtime.flights.get(key)
    if (flight === undefined) {
      flights[i] = runtime.flights.open(key, flights, i)
      pending.push(i)
      pendingKeys.push(key)
    } else if (flight.owner === flights) {
      repeats ??= []
      repeats.push(i, flight.ownerIndex)
      source[i] = REPEAT
    } else {
      // The joined flight's promise now (a settled flight no longer has it), with a handler so
      // that its rejection while this call reads is not an unhandled one: it is awaited below.
      const promise = flight.promise
      promise.catch(ignore)
      joined ??= []
      joined.push([i, promise])
      source[i] = JOINED
    }
  }

  // A node whose value failed (load error, unencodable value) rejects its flight; the call fails
  // with the error of the first such node.
  let failedAt = count
  let failure: unknown
  const fail = (i: number, error: unknown) => {
    ;(flights[i] as Flight).reject(error)
    if (i < failedAt) {
      failedAt = i
      failure = error
    }
  }

  try {
    for (let t = runtime.firstRead; t < tiers.length && pending.length > 0; t++) {
      const read = await readTierMany(runtime, tiers[t] as Tier, pendingKeys)
      const hits: number[] = []
      const rest: number[] = []
      const restKeys: string[] = []
      for (let j = 0; j < pending.length; j++) {
        const i = pending[j] as number
        if (read[j] === MISS) {
          rest.push(i)
          restKeys.push(pendingKeys[j] as string)
        } else {
          values[i] = read[j]
          source[i] = t
          hits.push(i)
        }
      }
      if (t > 0 && hits.length > 0) {
        const live = hits.filter((i) => !(flights[i] as Flight).stale)
        await writeTiersMany(
          runtime,
          tiers.slice(0, t),
          live.map((i) => keys[i] as string),
          live.map((i) => values[i]),
        )
      }
      for (const i of hits) (flights[i] as Flight).resolve(values[i])
      pending = rest
      pendingKeys = restKeys
    }

    recordRequests(runtime, source, repeats)

    if (pending.length > 0) {
      const loaded = await loadMany(
        runtime,
        pending.map((i) => nodes[i] as N),
      )
      const ok: number[] = []
      for (let j = 0; j < pending.length; j++) {
        const i = pending[j] as number
        const result = loaded[j] as LoadResult
        if (result.ok) {
          values[i] = result.value
          ok.push(i)
        } else fail(i, result.error)
      }
      // Doorkeeper (a key's first load only marks it), then one write-back batch per tier.
      const door = runtime.doorkeeper
      const cache = ok.filter(
        (i) => !(flights[i] as Flight).stale && (door === undefined || door.insert(keys[i] as string)),
      )
      const unencodable = await writeTiersMany(
        runtime,
        tiers,
        cache.map((i) => keys[i] as string),
        cache.map((i) => values[i]),
      )
      for (const i of ok) {
        const error = unencodable.get(keys[i] as string)
        if (error === undefined) (flights[i] as Flight).resolve(values[i])
        else fail(i, error)
      }
    }
  } catch (error) {
    for (const flight of flights) flight?.reject(error)
    throw error
  }

  if (failedAt < count) throw failure
  if (repeats !== undefined) {
    for (let r = 0; r < repeats.length; r += 2)
      values[repeats[r] as number] = values[repeats[r + 1] as number]
  }
  if (joined !== undefined) for (const [i, promise] of joined) values[i] = await promise
  return values as NodeValue<N>[]
}

function ignore(): void {}

const LOADED = -1
const JOINED = -2
const REPEAT = -3

/** The stored key of every node, checking that all are of the first one's class. */
function storedKeys(runtime: NodeRuntime, nodes: readonly Node<unknown>[]): string[] {
  const count = nodes.length
  const cls = (nodes[0] as Node<unknown>).constructor
  const keys = new Array<string>(count)
  for (let i = 0; i < count; i++) {
    const node = nodes[i] as Node<unknown>
    if (node?.constructor !== cls) {
      const got = node === null || typeof node !== 'object' ? String(node) : node.constructor.name
      throw new InvalidArgumentError(
        'CACHEME_INVALID_NODE',
        `getAll needs nodes of one class: nodes[0] is a ${runtime.name}, nodes[${i}] is a ${got}`,
      )
    }
    const key = storedKey(runtime, node)
    if (key.length > runtime.maxKeyLength) throw keyTooLong(runtime, key)
    keys[i] = key
  }
  return keys
}

/**
 * One request per node: a miss for a node whose key is loaded, a hit for the rest (a repeat of a
 * loaded key, like a join, is a coalesced hit; a repeat of a tier hit is a hit in that tier).
 * Rewrites the repeats' entries of `source` with what they count as.
 */
function recordRequests(
  runtime: NodeRuntime,
  source: number[],
  repeats: readonly number[] | undefined,
): void {
  if (repeats !== undefined) {
    for (let r = 0; r < repeats.length; r += 2) {
      const from = source[repeats[r + 1] as number] as number
      source[repeats[r] as number] = from === LOADED ? JOINED : from
    }
  }
  let hits = 0
  let misses = 0
  for (const from of source) {
    if (from === LOADED) {
      misses++
      continue
    }
    hits++
    if (from === JOINED) runtime.joined++
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
  const start = performance.now()
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
  const share = nanosSince(start) / nodes.length
  for (const result of results) native.metricsRecordLoad(runtime.metricsId, result.ok, share)
  return results
}

/** Removes `node` from every tier. A load in flight for it will not write its (older) value. */
export async function invalidate(node: Node<unknown>): Promise<void> {
  const runtime = runtimeOf(node, 'invalidate')
  const key = storedKey(runtime, node)
  if (key.length > runtime.maxKeyLength) throw keyTooLong(runtime, key)
  const hold = runtime.flights.hold(key)
  try {
    for (const tier of runtime.tiers) tier.local?.delete(key)
    // Remote writes of this key already sent go first (tiers.ts, "Ordering of writes").
    const earlier = writesSettled(runtime, key)
    if (earlier !== undefined) await earlier
    const removals: Promise<void>[] = []
    for (const tier of runtime.tiers) {
      if (tier.remote !== undefined) removals.push(tier.remote.remove(key))
    }
    await Promise.all(removals)
  } finally {
    hold.release()
  }
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
  const own = runtime.flights.open(key)
  try {
    // The load timed here rather than through timedLoad: one async frame less on every refresh.
    const start = performance.now()
    let ok = false
    let value: unknown
    try {
      value = await node.load()
      ok = true
    } finally {
      native.metricsRecordLoad(runtime.metricsId, ok, nanosSince(start))
    }
    const earlier = writesSettled(runtime, key)
    if (earlier !== undefined) await earlier
    if (!own.stale) await writeTiers(runtime, runtime.tiers, key, value, EXPLICIT)
    own.resolve(value)
    return value as T
  } catch (error) {
    own.reject(error)
    throw error
  }
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
function getVia(nodeClass: NodeClass, node: Node<unknown>, loader: Loader): Promise<unknown> {
  let runtime: NodeRuntime
  let stored: string
  try {
    const cls = node?.constructor as Holder
    if (cls !== (nodeClass as unknown)) {
      throw new InvalidArgumentError(
        'CACHEME_INVALID_NODE',
        `toNode must return a ${nodeClass.name}; got ${node === null || typeof node !== 'object' ? String(node) : node.constructor.name}`,
      )
    }
    const known = cls?.[RUNTIME]
    runtime = known !== undefined && known.cls === cls ? known : runtimeOf(node, 'memoize')
    stored = storedKey(runtime, node)
    const local = runtime.local
    if (local !== undefined) {
      const value = local.get(stored, runtime.metricsId)
      if (value !== undefined) return Promise.resolve(value === UNDEFINED ? undefined : value)
    }
  } catch (error) {
    return Promise.reject(error)
  }
  return readThrough(runtime, node, stored, loader)
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
