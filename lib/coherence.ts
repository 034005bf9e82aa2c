// Keeping every process's local tiers coherent with the shared ones: the framework's side of the
// invalidation bus (the transport and its wire format are in bus/).
//
// Outgoing: once a write to a shared tier settles (tiers/write.ts, api/write.ts), its keys are
// announced and the bus publishes them. Incoming: keys another process wrote are dropped from every
// local tier, and a read or load of them in flight here is retired, so it answers its callers but
// fills no tier with what it read before the change. After a resubscription the process cannot know
// what it missed, so it drops everything its local tiers hold in front of a shared tier.
//
// Tag and class records (tiers/tags.ts) travel as their reserved keys: a process drops its copies of
// them, so its next read of a tagged entry reads them again; records kept in this process alone (for
// classes without a shared tier) take the time of arrival as the invalidation time; and a class
// record makes the class checked from then on (api/tags.ts invalidateAll).

import type { Bus, BusStats } from './bus/bus'
import { InvalidArgumentError } from './errors'
import { classRecordKey, isRecordKey, keyHead } from './keys'
import { resolvedRecords } from './runtime/record'
import { setAnnouncer } from './tiers/announce'
import { activeStores, processRecords } from './tiers/tags'

let attached: Bus | undefined

/**
 * Attaches `bus`: resolves once it is subscribed; from then on this process publishes its writes to
 * shared tiers and drops from its local tiers what other processes write. close() detaches it.
 */
export async function setBus(bus: Bus): Promise<void> {
  for (const method of ['open', 'publish', 'stats', 'close'] as const) {
    if (typeof (bus as Partial<Bus> | null)?.[method] !== 'function') {
      throw new InvalidArgumentError(
        'CACHEME_INVALID_ARGUMENT',
        `setBus needs a new Bus({ url }); got no ${method}()`,
      )
    }
  }
  if (attached !== undefined) {
    throw new InvalidArgumentError(
      'CACHEME_INVALID_ARGUMENT',
      'a bus is already attached: close() detaches it before another can be set',
    )
  }
  attached = bus
  try {
    await bus.open({ invalidate: forgetKeys, resync: forgetAll }, `${keyHead}bus`)
  } catch (error) {
    attached = undefined
    throw error
  }
  if (attached === bus) setAnnouncer((keys) => bus.publish(keys))
}

/** The attached bus's counters (messages, keys, resyncs, invalid and dropped), or undefined without one. */
export function busStats(): BusStats | undefined {
  return attached?.stats()
}

/** Detaches and closes the bus, if any. */
export function closeCoherence(): Promise<void> {
  const bus = attached
  attached = undefined
  setAnnouncer(undefined)
  return bus === undefined ? Promise.resolve() : bus.close()
}

function forgetKeys(keys: readonly string[]): void {
  const records = keys.filter(isRecordKey)
  if (records.length > 0) forgetRecords(records)
  for (const runtime of resolvedRecords()) {
    if (!runtime.tiers.some((tier) => tier.shared)) continue
    for (const key of keys) runtime.flights.retire(key)
    for (const tier of runtime.tiers) tier.forget(keys)
  }
}

function forgetRecords(keys: readonly string[]): void {
  for (const store of activeStores) store.forget(keys)
  void processRecords.write(keys, Date.now(), null)
  for (const runtime of resolvedRecords()) {
    if (runtime.guard !== undefined || !keys.includes(classRecordKey(runtime))) continue
    runtime.invalidatedAll = true
    runtime.unresolve()
  }
}

function forgetAll(): void {
  for (const store of activeStores) store.forgetAll()
  for (const runtime of resolvedRecords()) {
    if (!runtime.tiers.some((tier) => tier.shared)) continue
    runtime.flights.retireAll()
    for (const tier of runtime.tiers) tier.forgetAll()
  }
}
