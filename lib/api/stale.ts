// get and memoize for a node with stale options (freshness.ts): the counterpart of read.ts's
// readThrough, taken only by nodes whose runtime has `fresh` set, so that other nodes' reads stay as
// they were.
//
// A read leads the key's flight as readThrough does, but the flight's work runs detached (`drive`)
// and callers wait on the flight's promise, because the answer may come before the work ends: a
// stale entry within staleWhileRevalidate answers at once, the staleIfError fallback answers after a
// soft timeout; then the load goes on in the background and writes the tiers when it ends, unless an
// invalidate or refresh retired the flight meanwhile. A failure that a stale value answered for (or
// that nobody waits for any more) is counted, reported through onError (kind 'load'), and never an
// unhandled rejection.

import type { Flight } from '../coalesce'
import { type CachemeError, LoadError } from '../errors'
import { report } from '../events'
import { type Freshness, fallsBack, revalidates, Stale } from '../freshness'
import { keyTooLong } from '../keys'
import { native } from '../native'
import type { Node } from '../node'
import type { NodeRuntime } from '../runtime/record'
import { COALESCED, MISSED, requested, watching } from '../telemetry/events'
import { LocalTier } from '../tiers/local'
import { MISS, type Tier } from '../tiers/tier'
import { AFTER_LOAD, FILL_BACK, writeTiers } from '../tiers/write'
import { type Loader, timedLoad } from './load'
import { stampOf } from './tags'

/**
 * The value of `key` for a node with stale options. Not async: a fresh or revalidating hit in a local
 * first tier is answered with one crossing into Rust, as on get's hot path; whatever throws comes
 * back as a rejection.
 */
export function readStale(
  runtime: NodeRuntime,
  node: Node<unknown>,
  key: string,
  loader: Loader | undefined,
): Promise<unknown> {
  try {
    return readOrLead(runtime, node, key, loader)
  } catch (error) {
    return Promise.reject(error)
  }
}

function readOrLead(
  runtime: NodeRuntime,
  node: Node<unknown>,
  key: string,
  loader: Loader | undefined,
): Promise<unknown> {
  const fresh = runtime.fresh as Freshness
  const first = runtime.tiers[0]
  let fallback: Stale | undefined
  let from = 0
  if (first instanceof LocalTier) {
    const found = first.read(key)
    from = 1
    if (found !== MISS) {
      if (!(found instanceof Stale)) {
        runtime.pendingHits++
        if (watching.requests) requested(runtime, key, 0)
        return Promise.resolve(found)
      }
      if (revalidates(fresh, found)) {
        runtime.pendingHits++
        runtime.staleAnswers++
        if (watching.requests) requested(runtime, key, 0)
        if (runtime.flights.get(key) === undefined) revalidate(runtime, node, key, loader, from, found)
        return Promise.resolve(found.value)
      }
      if (fallsBack(fresh, found)) fallback = found
    }
  }
  if (key.length > runtime.maxKeyLength) return Promise.reject(keyTooLong(runtime, key))
  const flight = runtime.flights.get(key)
  if (flight !== undefined) {
    runtime.joined++
    native.metricsRecordHits(runtime.metricsId, 1)
    if (watching.requests) requested(runtime, key, COALESCED)
    return flight.promise
  }
  const own = runtime.flights.open(key)
  const answer = own.promise
  void drive(runtime, node, key, loader, own, from, fallback, false)
  return answer
}

/** Reloads `key` in the background (its stale entry `stale` was just answered): one flight per key. */
function revalidate(
  runtime: NodeRuntime,
  node: Node<unknown>,
  key: string,
  loader: Loader | undefined,
  from: number,
  stale: Stale,
): void {
  if (key.length > runtime.maxKeyLength) return
  const own = runtime.flights.open(key)
  own.answer(stale.value)
  runtime.backgroundReloads++
  void drive(runtime, node, key, loader, own, from, undefined, true)
}

/**
 * The flight's work: the tiers from `from` on, then the load. `counted`: the caller's request was
 * counted already (a background reload). Settles `own` however it ends; never rejects.
 */
async function drive(
  runtime: NodeRuntime,
  node: Node<unknown>,
  key: string,
  loader: Loader | undefined,
  own: Flight,
  from: number,
  fallback: Stale | undefined,
  counted: boolean,
): Promise<void> {
  const fresh = runtime.fresh as Freshness
  /** When `fallback` was read (performance.now()), to know whether staleIfError still covers it. */
  let since = performance.now()
  try {
    const stamp = stampOf(runtime, node)
    const tiers = runtime.tiers
    for (let i = from; i < tiers.length; i++) {
      const found = await (tiers[i] as Tier).read(key)
      if (found === MISS) continue
      if (found instanceof Stale) {
        if (!own.answered && revalidates(fresh, found)) {
          // Answered from this tier; what follows reloads in the background.
          own.answer(found.value)
          runtime.staleAnswers++
          runtime.backgroundReloads++
          if (!counted) {
            native.metricsRecordHits(runtime.metricsId, 1)
            if (watching.requests) requested(runtime, key, i)
          }
          counted = true
        } else if (fallback === undefined && fallsBack(fresh, found)) {
          fallback = found
          since = performance.now()
        }
        continue
      }
      ;(runtime.tierHits[i] as number)++
      if (!counted) {
        native.metricsRecordHits(runtime.metricsId, 1)
        if (watching.requests) requested(runtime, key, i)
      }
      if (i > 0 && !own.retired) await writeTiers(runtime, tiers.slice(0, i), key, found, FILL_BACK, stamp)
      own.resolve(found)
      return
    }
    if (!counted) {
      native.metricsRecordMisses(runtime.metricsId, 1)
      if (watching.requests) requested(runtime, key, MISSED)
    }
    const loading = timedLoad(runtime, node, loader)
    let soft: NodeJS.Timeout | undefined
    if (fallback !== undefined && fresh.softTimeout > 0 && !own.answered) {
      const stale = fallback
      soft = setTimeout(() => {
        if (own.answered) return
        runtime.softTimeouts++
        own.answer(stale.value)
      }, fresh.softTimeout)
      soft.unref()
    }
    let value: unknown
    try {
      value = await loading
    } catch (error) {
      clearTimeout(soft)
      if (own.answered) {
        loadFailed(runtime, key, error)
        own.reject(error)
      } else if (fallback !== undefined && fallback.age + performance.now() - since < fresh.staleIfError) {
        runtime.staleIfErrors++
        loadFailed(runtime, key, error)
        own.resolve(fallback.value)
      } else own.reject(error)
      return
    }
    clearTimeout(soft)
    // Doorkeeper: a key's first load only marks it; the second one caches it.
    const admitted = runtime.doorkeeper === undefined || runtime.doorkeeper.insert(key)
    // Once answered, nobody is left to see an unencodable value: it is absorbed (counted, reported).
    if (admitted && !own.retired) {
      await writeTiers(runtime, tiers, key, value, own.answered ? FILL_BACK : AFTER_LOAD, stamp)
    }
    own.resolve(value)
  } catch (error) {
    own.reject(error)
  }
}

/** Whether `work` is still pending after `ms` (then true), or settles first (false). */
export function outlives(work: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(true), ms)
    const done = () => {
      clearTimeout(timer)
      resolve(false)
    }
    work.then(done, done)
  })
}

/** Reports a load failure that a stale value answered for, or that happened in the background. */
export function loadFailed(runtime: NodeRuntime, key: string, error: unknown): void {
  report({ kind: 'load', node: runtime.name, storage: '', key, error: asLoadError(error) })
}

function asLoadError(error: unknown): CachemeError {
  if (error instanceof LoadError) return error
  const message = error instanceof Error ? error.message : String(error)
  return new LoadError('CACHEME_LOAD', message, { cause: error })
}
