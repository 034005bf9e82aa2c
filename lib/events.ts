// Errors cacheme absorbs instead of throwing: a payload that does not decode (read as a miss), a
// remote read that fails (read as a miss), a write-back or fill-back that fails (the value is still
// returned), a load that fails while a stale value answers for it (kind 'load': staleIfError, or a
// reload in the background), and the invalidation bus losing keys it could not publish (kind 'bus';
// lib/bus/). Each is counted (per node class, or in the bus's stats) and reported to the 'error'
// listeners (telemetry/events.ts; onError is one); with no listener, the first of each kind per
// storage (per node for 'load') becomes a process warning so it is never silent.
//
// Report also counts storage errors by node, storage, kind and code: the per-class counters say how
// many, not where, and the exporters (telemetry/figures.ts) need the breakdown by storage.

import type { CachemeErrorCode } from './errors'
import {
  type CacheErrorEvent,
  type CacheErrorKind,
  type CacheEventListener,
  emitError,
  hasErrorListeners,
  on,
} from './telemetry/events'

export type { CacheErrorEvent, CacheErrorKind } from './telemetry/events'
export type CacheErrorListener = CacheEventListener<'error'>

/** Calls `listener` for every absorbed error; returns a function that removes it. Same as on('error'). */
export function onError(listener: CacheErrorListener): () => void {
  if (typeof listener !== 'function') throw new TypeError('onError needs a function')
  return on('error', listener)
}

/** Absorbed storage errors (kinds read, write, decode) counted by where they happened. */
export interface AbsorbedErrors {
  readonly node: string
  readonly storage: string
  readonly kind: CacheErrorKind
  readonly code: CachemeErrorCode
  count: number
}

const absorbed = new Map<string, AbsorbedErrors>()

/** Every absorbed storage error so far, by node, storage, kind and code. */
export function absorbedErrors(): Iterable<Readonly<AbsorbedErrors>> {
  return absorbed.values()
}

const warned = new Set<string>()

export function report(event: CacheErrorEvent): void {
  if (event.kind === 'read' || event.kind === 'write' || event.kind === 'decode') tally(event)
  if (hasErrorListeners()) {
    emitError(event)
    return
  }
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
}

function tally(event: CacheErrorEvent): void {
  const id = `${event.node}\0${event.storage}\0${event.kind}\0${event.error.code}`
  const known = absorbed.get(id)
  if (known !== undefined) known.count++
  else
    absorbed.set(id, {
      node: event.node,
      storage: event.storage,
      kind: event.kind,
      code: event.error.code,
      count: 1,
    })
}
