// Reading what cacheme counted: stats(NodeClass), and nodes() listing the classes it knows.

import { native } from '../native'
import { knownNodes, type NodeClass } from '../node'
import { recordOf } from '../runtime/record'

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
  /** Stale entries answered at once while their key reloads (staleWhileRevalidate). */
  readonly staleAnswerCount: number
  /** Reloads started behind a stale answer (staleWhileRevalidate). */
  readonly backgroundReloadCount: number
  /** Failed or timed-out loads answered with a stale entry instead (staleIfError). */
  readonly staleIfErrorCount: number
  /** Loads that outlived softTimeout and were answered with a stale entry meanwhile. */
  readonly softTimeoutCount: number
  /** Loads abandoned at hardTimeout. */
  readonly hardTimeoutCount: number
}

export function stats(nodeClass: NodeClass): NodeStats {
  const runtime = recordOf(nodeClass, 'stats')
  if (runtime.pendingHits > 0) {
    native.metricsRecordHits(runtime.metricsId, runtime.pendingHits)
    runtime.pendingHits = 0
  }
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
    staleAnswerCount: runtime.staleAnswers,
    backgroundReloadCount: runtime.backgroundReloads,
    staleIfErrorCount: runtime.staleIfErrors,
    softTimeoutCount: runtime.softTimeouts,
    hardTimeoutCount: runtime.hardTimeouts,
  }
}
