// The verbs that exist to write: invalidate, refresh, set and setAll. Unlike reads, they surface
// every failure (StorageError, and InvalidArgumentError for a bad TTL), and they win over reads and
// loads already in flight (coalesce.ts).

import { InvalidArgumentError } from '../errors'
import { storedKey } from '../keys'
import type { Node, NodeValue } from '../node'
import { runtimeOf } from '../runtime/resolve'
import { channels, operation, trace, traced } from '../telemetry/channels'
import { announceAfter } from '../tiers/announce'
import { EXPLICIT, writesSettled, writeTiers, writeTiersMany } from '../tiers/write'
import { timedLoad } from './load'
import type { OneClass } from './read'
import { stampOf } from './tags'

/** Removes `node` from every tier. A load in flight for it will not write its (older) value. */
export function invalidate(node: Node<unknown>): Promise<void> {
  if (!traced(channels.invalidate)) return invalidateNode(node)
  return trace(channels.invalidate, operation('invalidate', [node]), () => invalidateNode(node))
}

async function invalidateNode(node: Node<unknown>): Promise<void> {
  const runtime = runtimeOf(node, 'invalidate')
  const key = storedKey(runtime, node)
  const hold = runtime.flights.hold(key)
  try {
    for (const tier of runtime.tiers) if (!tier.shared) tier.remove(key)
    // Shared-tier writes of this key already sent go first (tiers/write.ts, "Ordering of writes").
    const earlier = writesSettled(runtime, key)
    if (earlier !== undefined) await earlier
    const removals: Promise<void>[] = []
    for (const tier of runtime.tiers) if (tier.shared) removals.push(tier.remove(key) as Promise<void>)
    if (removals.length === 0) return
    const removed = Promise.all(removals)
    announceAfter(removed, [key])
    await removed
  } finally {
    hold.release()
  }
}

/**
 * Loads `node` from the source now, writes every tier (doorkeeper or not) and returns the value.
 * Concurrent gets join it; a load already in flight will not write its older value afterwards.
 */
export function refresh<T>(node: Node<T>): Promise<T> {
  if (!traced(channels.refresh)) return refreshNode(node)
  return trace(channels.refresh, operation('refresh', [node]), () => refreshNode(node))
}

async function refreshNode<T>(node: Node<T>): Promise<T> {
  const runtime = runtimeOf(node, 'refresh')
  const key = storedKey(runtime, node)
  runtime.flights.retire(key)
  const own = runtime.flights.open(key)
  try {
    const stamp = stampOf(runtime, node)
    const value = await timedLoad(runtime, node, undefined)
    const earlier = writesSettled(runtime, key)
    if (earlier !== undefined) await earlier
    if (!own.retired) await writeTiers(runtime, runtime.tiers, key, value, EXPLICIT, stamp)
    own.resolve(value)
    return value as T
  } catch (error) {
    own.reject(error)
    throw error
  }
}

/**
 * Writes `value` as the value of `node` in every tier (each with its TTL) with no load. A read or
 * load in flight for the key answers its callers but writes nothing, nor does one that starts before
 * the writes are done: the newer value wins.
 */
export async function set<N extends Node<unknown>>(node: N, value: NodeValue<N>): Promise<void> {
  const runtime = runtimeOf(node, 'set')
  const key = storedKey(runtime, node)
  const stamp = stampOf(runtime, node)
  const hold = runtime.flights.hold(key)
  try {
    const earlier = writesSettled(runtime, key)
    if (earlier !== undefined) await earlier
    await writeTiers(runtime, runtime.tiers, key, value, EXPLICIT, stamp)
  } finally {
    hold.release()
  }
}

/**
 * set for many nodes of one class: `values[i]` is the value of `nodes[i]`; one batch per tier (and
 * per TTL, when the TTL depends on the value). A bad TTL or a value that cannot be encoded rejects
 * before anything is written.
 */
export async function setAll<N extends Node<unknown>>(
  nodes: readonly N[] & OneClass<N>,
  values: readonly NodeValue<N>[],
): Promise<void> {
  if (!Array.isArray(nodes) || !Array.isArray(values) || nodes.length !== values.length) {
    throw new InvalidArgumentError(
      'CACHEME_INVALID_ARGUMENT',
      `setAll needs an array of nodes and an array of as many values; got ${describe(nodes)} and ${describe(values)}`,
    )
  }
  if (nodes.length === 0) return
  const runtime = runtimeOf(nodes[0], 'setAll')
  const cls = (nodes[0] as Node<unknown>).constructor
  const keys: string[] = []
  const stamps = runtime.guard === undefined ? undefined : new Array(nodes.length)
  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[i] as Node<unknown>
    if (node?.constructor !== cls) {
      throw new InvalidArgumentError(
        'CACHEME_INVALID_NODE',
        `setAll needs nodes of one class: nodes[0] is a ${runtime.name}, nodes[${i}] is a ${describe(node)}`,
      )
    }
    keys.push(storedKey(runtime, node))
    if (stamps !== undefined) stamps[i] = stampOf(runtime, node)
  }
  // A key named twice keeps its last value, as writing them one by one would.
  const last = new Map<string, number>()
  for (let i = 0; i < keys.length; i++) last.set(keys[i] as string, i)
  const order = [...last.values()]
  const holds = order.map((i) => runtime.flights.hold(keys[i] as string))
  try {
    const earlier = order.map((i) => writesSettled(runtime, keys[i] as string)).filter((p) => p !== undefined)
    if (earlier.length > 0) await Promise.all(earlier)
    await writeTiersMany(
      runtime,
      runtime.tiers,
      order.map((i) => keys[i] as string),
      order.map((i) => values[i]),
      { strict: true, stamps: stamps && order.map((i) => stamps[i]) },
    )
  } finally {
    for (const hold of holds) hold.release()
  }
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return `an array of ${value.length}`
  if (value === null || typeof value !== 'object') return String(value)
  return value.constructor?.name ?? 'object'
}
