// Errors cacheme absorbs instead of throwing: a payload that does not decode (read as a miss), a
// remote read that fails (read as a miss), a write-back or fill-back that fails (the value is still
// returned), a load that fails while a stale value answers for it (kind 'load': staleIfError, or a
// reload in the background), and the invalidation bus losing keys it could not publish (kind 'bus';
// lib/bus/). Each is counted (per node class, or in the bus's stats) and reported to the onError
// listeners; with no listener, the first of each kind per storage (per node for 'load') becomes a
// process warning so it is never silent.

import type { CachemeError } from './errors'

export type CacheErrorKind = 'decode' | 'read' | 'write' | 'load' | 'bus'

export interface CacheErrorEvent {
  readonly kind: CacheErrorKind
  /** Node class name; '' for kind 'bus'. */
  readonly node: string
  /** Registered storage name; for kind 'bus', 'bus'; for kind 'load', ''. */
  readonly storage: string
  /** Stored key (`{prefix}:{key}:{version}`); for kind 'bus', the bus channel. */
  readonly key: string
  readonly error: CachemeError
}

export type CacheErrorListener = (event: CacheErrorEvent) => void

const listeners = new Set<CacheErrorListener>()
const warned = new Set<string>()

/** Calls `listener` for every absorbed error; returns a function that removes it. */
export function onError(listener: CacheErrorListener): () => void {
  if (typeof listener !== 'function') throw new TypeError('onError needs a function')
  listeners.add(listener)
  return () => {
    listeners.delete(listener)
  }
}

export function report(event: CacheErrorEvent): void {
  if (listeners.size === 0) {
    const once = `${event.kind}:${event.kind === 'load' ? event.node : event.storage}`
    if (warned.has(once)) return
    warned.add(once)
    const where =
      event.kind === 'bus'
        ? `on channel ${JSON.stringify(event.key)}`
        : event.kind === 'load'
          ? `in node ${event.node} (key ${event.key}), answered with a stale value`
          : `on storage ${JSON.stringify(event.storage)} (node ${event.node}, key ${event.key})`
    process.emitWarning(
      `cacheme ${event.kind} error ${where}: ` +
        `${event.error.message}. Further ones are only counted; register cacheme.onError to see them.`,
      { code: event.error.code },
    )
    return
  }
  for (const listener of listeners) {
    try {
      listener(event)
    } catch {
      // A failing listener must not turn an absorbed error into a thrown one.
    }
  }
}
