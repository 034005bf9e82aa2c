// Typed events: on('hit' | 'miss' | 'load' | 'eviction' | 'error', listener).
//
// The verbs call the emitters below only while someone listens: each event has a flag in `watching`
// that the verbs test before doing any work for it, so a request pays one boolean test, not a call,
// when nobody listens. Evictions are decided inside Rust, which reports counts, not keys: while an
// 'eviction' listener exists, the local storages' counters are sampled every second and the growth
// is emitted per storage (a poller that telemetry/figures.ts provides, as only it knows the stores).

import type { CachemeError } from '../errors'

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

/** A request answered from a tier or by joining a read or load already in flight. */
export interface HitEvent {
  /** Node class name. */
  readonly node: string
  /** Stored key (`{prefix}:{key}:{version}`). */
  readonly key: string
  /** Storage name of the tier that answered; '' when the request joined one in flight. */
  readonly storage: string
  readonly coalesced: boolean
}

/** A request that no tier answered: it loads (or joins nothing and leads the load). */
export interface MissEvent {
  readonly node: string
  readonly key: string
}

/** One node's load ended (a loadAll call emits one per node, each with an even share of its time). */
export interface LoadEvent {
  readonly node: string
  readonly ok: boolean
  /** Milliseconds. */
  readonly duration: number
  /** What the loader threw, when `ok` is false. */
  readonly error?: unknown
}

/** Entries a local storage dropped since the previous eviction event (sampled every second). */
export interface EvictionEvent {
  readonly storage: string
  /** Evicted for room (size policy). */
  readonly evictions: number
  /** Dropped because their TTL ended. */
  readonly expirations: number
}

export interface CacheEvents {
  hit: HitEvent
  miss: MissEvent
  load: LoadEvent
  eviction: EvictionEvent
  error: CacheErrorEvent
}

export type CacheEventName = keyof CacheEvents
export type CacheEventListener<E extends CacheEventName> = (event: CacheEvents[E]) => void

const listeners: { [E in CacheEventName]: Set<CacheEventListener<E>> } = {
  hit: new Set(),
  miss: new Set(),
  load: new Set(),
  eviction: new Set(),
  error: new Set(),
}

/** What the verbs test before building an event: true while the event has listeners. */
export const watching = { requests: false, loads: false }

/** Starts sampling local storages for eviction events; returns the function that stops it. */
export type EvictionPoller = (emit: (event: EvictionEvent) => void) => () => void
let evictionPoller: EvictionPoller | undefined
let stopEvictions: (() => void) | undefined

export function setEvictionPoller(poller: EvictionPoller): void {
  evictionPoller = poller
  if (listeners.eviction.size > 0 && stopEvictions === undefined) stopEvictions = poller(emitEviction)
}

/** Calls `listener` for every `event`; returns a function that removes it. */
export function on<E extends CacheEventName>(event: E, listener: CacheEventListener<E>): () => void {
  if (!Object.hasOwn(listeners, event)) {
    throw new TypeError(
      `cacheme.on: unknown event ${JSON.stringify(event)}; one of ${Object.keys(listeners)}`,
    )
  }
  const set = listeners[event] as Set<CacheEventListener<E>>
  if (typeof listener !== 'function') throw new TypeError(`cacheme.on('${event}') needs a function`)
  set.add(listener)
  changed()
  return () => {
    set.delete(listener)
    changed()
  }
}

function changed(): void {
  watching.requests = listeners.hit.size > 0 || listeners.miss.size > 0
  watching.loads = listeners.load.size > 0
  if (listeners.eviction.size > 0) {
    if (stopEvictions === undefined && evictionPoller !== undefined)
      stopEvictions = evictionPoller(emitEviction)
  } else if (stopEvictions !== undefined) {
    stopEvictions()
    stopEvictions = undefined
  }
}

export function hasErrorListeners(): boolean {
  return listeners.error.size > 0
}

function emit<E extends CacheEventName>(event: E, payload: CacheEvents[E]): void {
  for (const listener of listeners[event] as Set<CacheEventListener<E>>) {
    try {
      listener(payload)
    } catch {
      // A failing listener must not fail the request (or turn an absorbed error into a thrown one).
    }
  }
}

/** The class a request was for, as the emitters need it (a NodeRuntime fits). */
export interface Requested {
  readonly name: string
  readonly tierNames: readonly string[]
}

/** `from`: for requested(): a tier index, or one of these. */
export const MISSED = -1
export const COALESCED = -2

/** A request of `key` answered by tier `from`, or MISSED, or COALESCED. Call only while watching.requests. */
export function requested(runtime: Requested, key: string, from: number): void {
  if (from === MISSED) emit('miss', { node: runtime.name, key })
  else if (from === COALESCED) emit('hit', { node: runtime.name, key, storage: '', coalesced: true })
  else emit('hit', { node: runtime.name, key, storage: runtime.tierNames[from] ?? '', coalesced: false })
}

/** A load of a `node` class ended after `nanos`. Call only while watching.loads. */
export function loadEnded(node: string, ok: boolean, nanos: number, error?: unknown): void {
  emit('load', ok ? { node, ok, duration: nanos / 1e6 } : { node, ok, duration: nanos / 1e6, error })
}

export function emitError(event: CacheErrorEvent): void {
  emit('error', event)
}

function emitEviction(event: EvictionEvent): void {
  emit('eviction', event)
}
