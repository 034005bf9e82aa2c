// Every figure cacheme exports, defined once: its OpenTelemetry name, its Prometheus name, kind, unit
// and attributes (the README's table lists the same), and `snapshot()`, which reads them all from
// what cacheme already counts — stats() per node class (Rust's metrics plus the JS counters), the
// local storages' counters in Rust, busStats(), and the absorbed errors by storage (events.ts).
//
// Exporters (otel.ts, prometheus.ts) call snapshot() when they are collected, never per request: the
// counters stay where they are, and an exported figure is what stats() says at that moment. The one
// exception is the load duration histogram, which needs each load's time: it is fed by 'load' events
// (on the load path only) from the moment an exporter is installed.

import { nodes, stats } from '../api/stats'
import { busStats } from '../coherence'
import { absorbedErrors } from '../events'
import { existingRecord, resolvedRecords } from '../runtime/record'
import type { LocalStore } from '../storages/local'
import { LocalTier } from '../tiers/local'
import { type EvictionEvent, setEvictionPoller } from './events'

export type FigureKind = 'counter' | 'gauge' | 'histogram'

export interface FigureDefinition {
  /** OpenTelemetry instrument name. */
  readonly name: string
  /** Prometheus metric name (counters end in _total, times are in seconds). */
  readonly prometheus: string
  readonly kind: FigureKind
  /** UCUM unit, as OpenTelemetry takes it. */
  readonly unit: string
  readonly description: string
  /** OpenTelemetry attribute keys; LABELS gives each one's Prometheus label. */
  readonly attributes: readonly string[]
}

/** Prometheus label of each attribute key. */
export const LABELS: Readonly<Record<string, string>> = {
  'cacheme.node': 'node',
  'cacheme.result': 'result',
  'cacheme.storage': 'storage',
  'cacheme.operation': 'operation',
  'cacheme.timeout': 'timeout',
  'cacheme.direction': 'direction',
  'error.type': 'code',
}

const NODE = 'cacheme.node'
const RESULT = 'cacheme.result'
const STORAGE = 'cacheme.storage'
const DIRECTION = 'cacheme.direction'

function define(
  name: string,
  prometheus: string,
  kind: FigureKind,
  unit: string,
  attributes: readonly string[],
  description: string,
): FigureDefinition {
  return { name, prometheus, kind, unit, attributes, description }
}

export const FIGURES = [
  define(
    'cacheme.requests',
    'cacheme_requests_total',
    'counter',
    '{request}',
    [NODE, RESULT, STORAGE],
    'Requests by node class and result: hit (with the storage of the tier that answered), coalesced (joined a read or load in flight), miss',
  ),
  define(
    'cacheme.loads',
    'cacheme_loads_total',
    'counter',
    '{load}',
    [NODE, RESULT],
    'Loads by node class and result (success, failure)',
  ),
  define(
    'cacheme.load.time',
    'cacheme_load_time_seconds_total',
    'counter',
    's',
    [NODE],
    'Time spent loading',
  ),
  define(
    'cacheme.load.timeouts',
    'cacheme_load_timeouts_total',
    'counter',
    '{load}',
    [NODE, 'cacheme.timeout'],
    'Loads that outlived softTimeout (answered stale meanwhile) or hardTimeout (abandoned)',
  ),
  define(
    'cacheme.stale.answers',
    'cacheme_stale_answers_total',
    'counter',
    '{request}',
    [NODE],
    'Stale entries answered at once while their key reloads (staleWhileRevalidate)',
  ),
  define(
    'cacheme.stale.reloads',
    'cacheme_stale_reloads_total',
    'counter',
    '{load}',
    [NODE],
    'Reloads started in the background behind a stale answer',
  ),
  define(
    'cacheme.stale.fallbacks',
    'cacheme_stale_fallbacks_total',
    'counter',
    '{request}',
    [NODE],
    'Failed or timed-out loads answered with a stale entry (staleIfError)',
  ),
  define(
    'cacheme.inflight',
    'cacheme_inflight',
    'gauge',
    '{key}',
    [NODE],
    'Keys with a read or load in flight',
  ),
  define(
    'cacheme.storage.errors',
    'cacheme_storage_errors_total',
    'counter',
    '{error}',
    [NODE, STORAGE, 'cacheme.operation', 'error.type'],
    'Storage errors absorbed on reads and writes (operation read, write, decode; error.type CACHEME_TIMEOUT for timeouts and circuit-breaker refusals)',
  ),
  define(
    'cacheme.local.entries',
    'cacheme_local_entries',
    'gauge',
    '{entry}',
    [STORAGE],
    'Entries in a local storage',
  ),
  define(
    'cacheme.local.capacity',
    'cacheme_local_capacity',
    'gauge',
    '{entry}',
    [STORAGE],
    'Capacity of a local storage',
  ),
  define(
    'cacheme.local.evictions',
    'cacheme_local_evictions_total',
    'counter',
    '{entry}',
    [STORAGE],
    'Entries a local storage evicted for room',
  ),
  define(
    'cacheme.local.expirations',
    'cacheme_local_expirations_total',
    'counter',
    '{entry}',
    [STORAGE],
    'Entries a local storage dropped at the end of their TTL',
  ),
  define(
    'cacheme.bus.messages',
    'cacheme_bus_messages_total',
    'counter',
    '{message}',
    [DIRECTION],
    'Invalidation messages sent and received (other processes)',
  ),
  define(
    'cacheme.bus.keys',
    'cacheme_bus_keys_total',
    'counter',
    '{key}',
    [DIRECTION],
    'Keys in messages sent, and keys received and dropped locally',
  ),
  define(
    'cacheme.bus.resyncs',
    'cacheme_bus_resyncs_total',
    'counter',
    '{resync}',
    [],
    'Local tiers dropped whole (resubscription, or a sender dropped keys)',
  ),
  define(
    'cacheme.bus.invalid',
    'cacheme_bus_invalid_total',
    'counter',
    '{message}',
    [],
    'Payloads on the channel that were not messages of this bus',
  ),
  define(
    'cacheme.bus.dropped',
    'cacheme_bus_dropped_total',
    'counter',
    '{key}',
    [],
    'Keys never published (queue overflow while down, or a key too large)',
  ),
  define('cacheme.bus.queued', 'cacheme_bus_queued', 'gauge', '{key}', [], 'Keys waiting to be published'),
] as const

/** Recorded per load from 'load' events (load path only), from when an exporter is installed. */
export const LOAD_DURATION = define(
  'cacheme.load.duration',
  'cacheme_load_duration_seconds',
  'histogram',
  's',
  [NODE, RESULT],
  'Duration of each load, by node class and result',
)

/** Histogram buckets, seconds: from a local database's millisecond to a slow API's seconds. */
export const LOAD_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

export type FigureName = (typeof FIGURES)[number]['name']

export interface Figure {
  readonly name: FigureName
  readonly value: number
  readonly attributes: Readonly<Record<string, string>>
}

/** Every figure now, in FIGURES order within each source. */
export function snapshot(): Figure[] {
  const out: Figure[] = []
  const add = (name: FigureName, value: number, attributes: Record<string, string> = {}) => {
    out.push({ name, value, attributes })
  }
  for (const cls of nodes()) {
    const record = existingRecord(cls)
    if (record === undefined) continue
    const s = stats(cls)
    const node = record.name
    for (const [storage, hits] of Object.entries(s.hitsByCache)) {
      add('cacheme.requests', hits, { [NODE]: node, [RESULT]: 'hit', [STORAGE]: storage })
    }
    add('cacheme.requests', s.coalescedHits, { [NODE]: node, [RESULT]: 'coalesced' })
    add('cacheme.requests', s.missCount, { [NODE]: node, [RESULT]: 'miss' })
    add('cacheme.loads', s.loadSuccessCount, { [NODE]: node, [RESULT]: 'success' })
    add('cacheme.loads', s.loadFailureCount, { [NODE]: node, [RESULT]: 'failure' })
    add('cacheme.load.time', s.totalLoadTime / 1e9, { [NODE]: node })
    add('cacheme.load.timeouts', s.softTimeoutCount, { [NODE]: node, 'cacheme.timeout': 'soft' })
    add('cacheme.load.timeouts', s.hardTimeoutCount, { [NODE]: node, 'cacheme.timeout': 'hard' })
    add('cacheme.stale.answers', s.staleAnswerCount, { [NODE]: node })
    add('cacheme.stale.reloads', s.backgroundReloadCount, { [NODE]: node })
    add('cacheme.stale.fallbacks', s.staleIfErrorCount, { [NODE]: node })
    add('cacheme.inflight', s.inFlightCount, { [NODE]: node })
  }
  for (const error of absorbedErrors()) {
    add('cacheme.storage.errors', error.count, {
      [NODE]: error.node,
      [STORAGE]: error.storage,
      'cacheme.operation': error.kind,
      'error.type': error.code,
    })
  }
  for (const [store, storage] of localStores()) {
    const s = store.stats()
    add('cacheme.local.entries', s.size, { [STORAGE]: storage })
    add('cacheme.local.capacity', s.capacity, { [STORAGE]: storage })
    add('cacheme.local.evictions', s.evictions, { [STORAGE]: storage })
    add('cacheme.local.expirations', s.expirations, { [STORAGE]: storage })
  }
  const bus = busStats()
  if (bus !== undefined) {
    add('cacheme.bus.messages', bus.sent, { [DIRECTION]: 'sent' })
    add('cacheme.bus.messages', bus.received, { [DIRECTION]: 'received' })
    add('cacheme.bus.keys', bus.keysSent, { [DIRECTION]: 'sent' })
    add('cacheme.bus.keys', bus.keysInvalidated, { [DIRECTION]: 'received' })
    add('cacheme.bus.resyncs', bus.resyncs)
    add('cacheme.bus.invalid', bus.invalid)
    add('cacheme.bus.dropped', bus.dropped)
    add('cacheme.bus.queued', bus.queued)
  }
  return out
}

/** The local storages that node classes use now, with their registered names. */
function localStores(): Map<LocalStore, string> {
  const stores = new Map<LocalStore, string>()
  for (const runtime of resolvedRecords()) {
    for (const tier of runtime.tiers) if (tier instanceof LocalTier) stores.set(tier.store, tier.name)
  }
  return stores
}

/** Eviction events: the growth of each local storage's counters, sampled every second. */
const EVICTION_SAMPLE_MS = 1000

setEvictionPoller((emit: (event: EvictionEvent) => void) => {
  const seen = new WeakMap<LocalStore, { evictions: number; expirations: number }>()
  for (const store of localStores().keys()) seen.set(store, store.stats())
  const timer = setInterval(() => {
    for (const [store, storage] of localStores()) {
      const now = store.stats()
      const before = seen.get(store) ?? { evictions: 0, expirations: 0 }
      seen.set(store, now)
      const evictions = now.evictions - before.evictions
      const expirations = now.expirations - before.expirations
      if (evictions > 0 || expirations > 0) emit({ storage, evictions, expirations })
    }
  }, EVICTION_SAMPLE_MS)
  timer.unref()
  return () => clearInterval(timer)
})
