// The verbs that exist to write: invalidate and refresh. Unlike reads, they surface every failure
// (StorageError), and they win over reads and loads already in flight (coalesce.ts).

import { storedKey } from '../keys'
import type { Node } from '../node'
import { runtimeOf } from '../runtime/resolve'
import { announceAfter } from '../tiers/announce'
import { EXPLICIT, writesSettled, writeTiers } from '../tiers/write'
import { timedLoad } from './load'

/** Removes `node` from every tier. A load in flight for it will not write its (older) value. */
export async function invalidate(node: Node<unknown>): Promise<void> {
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
export async function refresh<T>(node: Node<T>): Promise<T> {
  const runtime = runtimeOf(node, 'refresh')
  const key = storedKey(runtime, node)
  runtime.flights.retire(key)
  const own = runtime.flights.open(key)
  try {
    const value = await timedLoad(runtime, node, undefined)
    const earlier = writesSettled(runtime, key)
    if (earlier !== undefined) await earlier
    if (!own.retired) await writeTiers(runtime, runtime.tiers, key, value, EXPLICIT)
    own.resolve(value)
    return value as T
  } catch (error) {
    own.reject(error)
    throw error
  }
}
