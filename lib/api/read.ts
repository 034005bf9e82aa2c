// The read verbs: get and getAll (memoize reads through `cachedRead` too).
//
// The hot path is a hit in a local first tier: synchronous work — one property read for the class's
// runtime, one key() call, two concatenations, one LocalStore.get that also counts the hit in Rust —
// and a resolved promise of the value. Everything else (other tiers, coalescing, loading, metrics of
// misses) is in `readThrough`, one async frame that leads or joins the key's flight. A tagged node's
// local hit is as synchronous, through its tier, which checks the entry's tags. Nodes with stale
// options (runtime.fresh) read through api/stale.ts instead, chosen once per call past the hot path.

import type { Flight } from '../coalesce'
import { InvalidArgumentError } from '../errors'
import { fallsBack, revalidates, Stale, type Stamp } from '../freshness'
import { badKey, keyHead, keyTooLong, storedKey } from '../keys'
import { native } from '../native'
import type { Node, NodeValue } from '../node'
import { type NodeRuntime, RUNTIME } from '../runtime/record'
import { runtimeOf } from '../runtime/resolve'
import { channels, operation, trace, traced } from '../telemetry/channels'
import { COALESCED, MISSED, requested, watching } from '../telemetry/events'
import { fromLocal, UNDEFINED } from '../tiers/local'
import { MISS, type Tier } from '../tiers/tier'
import { AFTER_LOAD, FILL_BACK, writeTiers, writeTiersMany } from '../tiers/write'
import { type Loader, type LoadResult, loadMany, timedLoad } from './load'
import { loadFailed, outlives, readStale } from './stale'
import { stampOf } from './tags'

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
  if (traced(channels.get)) {
    const context = operation('get', [node])
    return trace(channels.get, context, () => cachedRead(node, undefined, 'get')) as Promise<T>
  }
  return cachedRead(node, undefined, 'get') as Promise<T>
}

/**
 * get with `loader` in place of node.load when given (memoize). Not an async function, so that a
 * read past the local tier runs in one async frame (readThrough) rather than two; whatever throws
 * here comes back as a rejection, as from an async function.
 */
export function cachedRead(
  node: Node<unknown>,
  loader: Loader | undefined,
  caller: string,
): Promise<unknown> {
  let runtime: NodeRuntime
  let stored: string
  try {
    const cls = node?.constructor as Holder
    const known = cls?.[RUNTIME]
    runtime = known !== undefined && known.cls === cls ? known : runtimeOf(node, caller)
    const key = node.key()
    if (typeof key !== 'string' || key.length === 0) throw badKey(runtime, key)
    stored = keyHead + key + runtime.suffix
    const store = runtime.syncStore
    if (store !== undefined) {
      const value = store.get(stored, runtime.metricsId)
      if (value !== undefined) {
        if (watching.requests) requested(runtime, stored, 0)
        return Promise.resolve(value === UNDEFINED ? undefined : value)
      }
    }
    const tagged = runtime.taggedLocal
    if (tagged !== undefined) {
      // The hit is counted with the others in a batch (pendingHits), as on the stale read path.
      const value = tagged.read(stored)
      if (value !== MISS) {
        runtime.pendingHits++
        if (watching.requests) requested(runtime, stored, 0)
        return Promise.resolve(value)
      }
    }
  } catch (error) {
    return Promise.reject(error)
  }
  return runtime.fresh === undefined
    ? readThrough(runtime, node, stored, loader)
    : readStale(runtime, node, stored, loader)
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
    if (watching.requests) requested(runtime, key, COALESCED)
    return await flight.promise
  }
  const own = runtime.flights.open(key)
  try {
    const stamp = stampOf(runtime, node)
    const tiers = runtime.tiers
    for (let i = runtime.firstRead; i < tiers.length; i++) {
      const value = await (tiers[i] as Tier).read(key)
      if (value === MISS) continue
      ;(runtime.tierHits[i] as number)++
      native.metricsRecordHits(runtime.metricsId, 1)
      if (watching.requests) requested(runtime, key, i)
      if (i > 0 && !own.retired) await writeTiers(runtime, tiers.slice(0, i), key, value, FILL_BACK, stamp)
      own.resolve(value)
      return value
    }
    native.metricsRecordMisses(runtime.metricsId, 1)
    if (watching.requests) requested(runtime, key, MISSED)
    const value = await timedLoad(runtime, node, loader)
    // Doorkeeper: a key's first load only marks it; the second one caches it.
    const admitted = runtime.doorkeeper === undefined || runtime.doorkeeper.insert(key)
    if (admitted && !own.retired) await writeTiers(runtime, tiers, key, value, AFTER_LOAD, stamp)
    own.resolve(value)
    return value
  } catch (error) {
    own.reject(error)
    throw error
  }
}

/**
 * Values of `nodes` (all of one class) in input order. Per tier, one batch read of the keys still
 * missing; the rest loaded by the class's static loadAll if it has one (else concurrent loads), then
 * written back in one batch per tier. Keys being loaded by concurrent calls are joined, not reloaded;
 * a repeated node is read once. Every node counts as one request; repeats and joins count as hits.
 */
export function getAll<N extends Node<unknown>>(nodes: readonly N[] & OneClass<N>): Promise<NodeValue<N>[]> {
  if (traced(channels.getAll)) {
    const context = operation('getAll', Array.isArray(nodes) ? nodes : [])
    return trace(channels.getAll, context, () => readAll(nodes))
  }
  return readAll(nodes)
}

async function readAll<N extends Node<unknown>>(nodes: readonly N[] & OneClass<N>): Promise<NodeValue<N>[]> {
  if (!Array.isArray(nodes)) {
    throw new InvalidArgumentError('CACHEME_INVALID_ARGUMENT', 'getAll needs an array of nodes')
  }
  const count = nodes.length
  if (count === 0) return []
  const runtime = runtimeOf(nodes[0], 'getAll')
  const keys = storedKeys(runtime, nodes)
  /** Tagged nodes: what each entry records (freshness.ts), taken before any tier is read. */
  const stamps = runtime.guard === undefined ? undefined : nodes.map((node) => stampOf(runtime, node))
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
  // Nodes with stale options (runtime.fresh): nodes answered with a stale entry whose key this call
  // reloads, and the staleIfError fallback of nodes still pending.
  const fresh = runtime.fresh
  let reload: number[] | undefined
  let fallbacks: Map<number, Stale> | undefined

  // A local first tier answers synchronously, before any flight is consulted (as in get). Every
  // other key joins the flight of a concurrent call, or gets one of ours that such calls can join;
  // a flight owned by `flights` means the key came earlier in this very call.
  const found = runtime.syncStore?.getMany(keys)
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
      const read = await (tiers[t] as Tier).readMany(pendingKeys)
      const hits: number[] = []
      const rest: number[] = []
      const restKeys: string[] = []
      for (let j = 0; j < pending.length; j++) {
        const i = pending[j] as number
        let found = read[j]
        if (fresh !== undefined && found instanceof Stale) {
          if (revalidates(fresh, found)) {
            values[i] = found.value
            source[i] = t
            ;(flights[i] as Flight).answer(found.value)
            runtime.staleAnswers++
            reload ??= []
            reload.push(i)
            continue
          }
          if (fallsBack(fresh, found) && fallbacks?.has(i) !== true) {
            fallbacks ??= new Map()
            fallbacks.set(i, found)
          }
          found = MISS
        }
        if (found === MISS) {
          rest.push(i)
          restKeys.push(pendingKeys[j] as string)
        } else {
          values[i] = read[j]
          source[i] = t
          hits.push(i)
        }
      }
      if (t > 0 && hits.length > 0) {
        const live = hits.filter((i) => !(flights[i] as Flight).retired)
        await writeTiersMany(
          runtime,
          tiers.slice(0, t),
          live.map((i) => keys[i] as string),
          live.map((i) => values[i]),
          stamps && { stamps: live.map((i) => stamps[i]) },
        )
      }
      for (const i of hits) (flights[i] as Flight).resolve(values[i])
      pending = rest
      pendingKeys = restKeys
    }

    recordRequests(runtime, source, repeats)
    if (watching.requests) {
      for (let i = 0; i < count; i++) {
        const from = source[i] as number
        requested(runtime, keys[i] as string, from === LOADED ? MISSED : from === JOINED ? COALESCED : from)
      }
    }

    if (reload !== undefined) {
      runtime.backgroundReloads += reload.length
      // With nothing else to load, the stale keys reload in the background; else with the rest.
      if (pending.length === 0) reloadAll(runtime, nodes, keys, reload, flights)
      else pending = pending.concat(reload)
    }
    if (pending.length > 0) {
      const loading = pending
      const settle = async () => {
        const loaded = await loadMany(
          runtime,
          loading.map((i) => nodes[i] as N),
        )
        const ok: number[] = []
        /** Loaded values by node: a node answered stale keeps its answer, its loaded value is written. */
        const fetched = new Array<unknown>(count)
        for (let j = 0; j < loading.length; j++) {
          const i = loading[j] as number
          const result = loaded[j] as LoadResult
          if (result.ok) {
            fetched[i] = result.value
            if (!(flights[i] as Flight).answered) values[i] = result.value
            ok.push(i)
            continue
          }
          const fallback = fallbacks?.get(i)
          if ((flights[i] as Flight).answered) loadFailed(runtime, keys[i] as string, result.error)
          else if (fallback === undefined) fail(i, result.error)
          else {
            values[i] = fallback.value
            runtime.staleIfErrors++
            loadFailed(runtime, keys[i] as string, result.error)
          }
          ;(flights[i] as Flight).resolve(values[i])
        }
        // Doorkeeper (a key's first load only marks it), then one write-back batch per tier.
        const door = runtime.doorkeeper
        const cache = ok.filter(
          (i) => !(flights[i] as Flight).retired && (door === undefined || door.insert(keys[i] as string)),
        )
        const unencodable = await writeTiersMany(
          runtime,
          tiers,
          cache.map((i) => keys[i] as string),
          cache.map((i) => fetched[i]),
          stamps && { stamps: cache.map((i) => stamps[i]) },
        )
        for (const i of ok) {
          const error = unencodable.get(keys[i] as string)
          if (error === undefined || (flights[i] as Flight).answered)
            (flights[i] as Flight).resolve(values[i])
          else fail(i, error)
        }
      }
      const settling = settle()
      // softTimeout: when every node still waiting has a staleIfError entry, a slow load answers
      // them; it goes on in the background and writes the tiers when it ends.
      const soft = fresh?.softTimeout ?? 0
      const answerable = (i: number) => (flights[i] as Flight).answered || fallbacks?.has(i) === true
      if (soft > 0 && loading.every(answerable) && (await outlives(settling, soft))) {
        settling.catch((error: unknown) => {
          for (const flight of flights) flight?.reject(error)
        })
        for (const i of loading) {
          const flight = flights[i] as Flight
          if (flight.answered) continue
          values[i] = (fallbacks?.get(i) as Stale).value
          flight.answer(values[i])
          runtime.softTimeouts++
        }
      } else await settling
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

/**
 * getAll's reload of keys it answered stale, when nothing else in the call needs loading: one
 * loadMany in the background, the loaded values written to every tier (unless invalidated meanwhile),
 * failures counted and reported. Never rejects.
 */
function reloadAll(
  runtime: NodeRuntime,
  nodes: readonly Node<unknown>[],
  keys: readonly string[],
  reload: readonly number[],
  flights: readonly (Flight | undefined)[],
): void {
  const settle = async () => {
    const reloading = reload.map((i) => nodes[i] as Node<unknown>)
    const stamps = runtime.guard && reloading.map((node) => stampOf(runtime, node))
    const loaded = await loadMany(runtime, reloading)
    const door = runtime.doorkeeper
    const writeKeys: string[] = []
    const writeValues: unknown[] = []
    const writeStamps: (Stamp | undefined)[] = []
    reload.forEach((i, j) => {
      const key = keys[i] as string
      const result = loaded[j] as LoadResult
      if (!result.ok) loadFailed(runtime, key, result.error)
      else if (!(flights[i] as Flight).retired && (door === undefined || door.insert(key))) {
        writeKeys.push(key)
        writeValues.push(result.value)
        writeStamps.push(stamps?.[j])
      }
    })
    await writeTiersMany(runtime, runtime.tiers, writeKeys, writeValues, { stamps: writeStamps })
  }
  void settle()
    .catch(ignore)
    .finally(() => {
      for (const i of reload) (flights[i] as Flight).resolve(undefined)
    })
}

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
    keys[i] = storedKey(runtime, node)
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
    else if (from > 0 || !runtime.localFirst) (runtime.tierHits[from] as number)++
  }
  if (hits > 0) native.metricsRecordHits(runtime.metricsId, hits)
  if (misses > 0) native.metricsRecordMisses(runtime.metricsId, misses)
}
