// Writing values to a node's tiers: one value (write-back after a load, fill-back, refresh) or a
// batch (getAll), each tier with its own TTL, and the ordering of writes to one key.
//
// A value is prepared (encoded) for every tier before anything is written, so a value that cannot be
// encoded is written nowhere. What a failure does is the caller's WritePolicy: get and getAll absorb
// storage failures (the value is still returned), refresh and set surface them.
//
// A tier's TTL may be a function of the value (cache.ts): it is asked first; 0 leaves the value out
// of that tier, and a bad result is the caller's error when it asked for the write (refresh, set),
// else reported and that tier skipped. A batch is one write per tier and distinct TTL.
//
// Ordering of writes to one key. A write-back checks that its flight is not retired, then sends its
// writes; an invalidate or refresh arriving after that must not send its own remote statements until
// those writes have settled, or, on a pooled backend (pg, mysql2, mongodb), the two may run on
// different connections in either order and leave the older value behind. So every write to a shared
// tier is registered under its keys until it settles, and `writesSettled` waits for them. (A write
// that timed out on the client may still run on the server later; the storage timeout bounds
// waiting, not the server.)

import type { SerializationError } from '../errors'
import type { Stamp } from '../freshness'
import type { NodeRuntime } from '../runtime/record'
import { absorb } from './absorb'
import { announceAfter } from './announce'
import type { Tier } from './tier'

/** What a write does with failures: throw them, or absorb (count and report) them. */
export interface WritePolicy {
  /** The value cannot be encoded (nothing is written either way). */
  readonly encoding: 'throw' | 'absorb'
  /** A remote storage rejects the write. */
  readonly storage: 'throw' | 'absorb'
}

/** get after a load: an unencodable value fails the call; a failed remote write does not. */
export const AFTER_LOAD: WritePolicy = { encoding: 'throw', storage: 'absorb' }
/** Fill-back of a value found in a lower tier: never fails the read. */
export const FILL_BACK: WritePolicy = { encoding: 'absorb', storage: 'absorb' }
/** refresh and set: the caller asked for the write, so every failure is theirs to see. */
export const EXPLICIT: WritePolicy = { encoding: 'throw', storage: 'throw' }

function ignore(): void {}

const DONE: Promise<void> = Promise.resolve()

/**
 * The TTL of `value` in each of `tiers` (0: not written there). A ttl function's bad result throws
 * when `strict`; otherwise it is reported and its tier skipped.
 */
function ttlsFor(
  runtime: NodeRuntime,
  tiers: readonly Tier[],
  key: string,
  value: unknown,
  strict: boolean,
): (number | null)[] {
  const ttls = new Array<number | null>(tiers.length)
  for (let i = 0; i < tiers.length; i++) {
    const tier = tiers[i] as Tier
    try {
      ttls[i] = tier.ttlOf(value)
    } catch (error) {
      if (strict) throw error
      absorb(runtime, tier.name, 'write', key, error)
      ttls[i] = 0
    }
  }
  return ttls
}

/**
 * `value` prepared for each of `tiers` with its TTL (undefined where the TTL is 0), once per codec and
 * TTL. Throws an Unencodable with the SerializationError of the first tier that cannot encode it.
 */
function prepareFor(
  tiers: readonly Tier[],
  value: unknown,
  ttls: readonly (number | null)[],
  stamp: Stamp | undefined,
): unknown[] {
  const prepared = new Array<unknown>(tiers.length)
  for (let i = 0; i < tiers.length; i++) {
    const tier = tiers[i] as Tier
    const ttl = ttls[i] as number | null
    if (ttl === 0) continue
    let j = 0
    while (j < i && ((tiers[j] as Tier).codec !== tier.codec || ttls[j] !== ttl)) j++
    if (j < i) prepared[i] = prepared[j]
    else {
      try {
        prepared[i] = tier.prepare(value, ttl, stamp)
      } catch (error) {
        throw new Unencodable(tier, error)
      }
    }
  }
  return prepared
}

class Unencodable {
  constructor(
    readonly tier: Tier,
    readonly error: unknown,
  ) {}
}

/**
 * Writes one value to `tiers` (stamped with `stamp` for a tagged node). Not async: a write to one
 * shared tier costs the storage's promise and the tracking one, nothing more; whatever throws comes
 * back as a rejection.
 */
export function writeTiers(
  runtime: NodeRuntime,
  tiers: readonly Tier[],
  key: string,
  value: unknown,
  policy: WritePolicy,
  stamp?: Stamp,
): Promise<void> {
  try {
    const strict = policy.storage === 'throw'
    const ttls = ttlsFor(runtime, tiers, key, value, strict)
    let prepared: unknown[]
    try {
      prepared = prepareFor(tiers, value, ttls, stamp)
    } catch (failure) {
      const { tier, error } = failure as Unencodable
      if (policy.encoding === 'throw') throw error
      absorb(runtime, tier.name, 'write', key, error)
      return DONE
    }
    let first: Promise<void> | undefined
    let writes: Promise<void>[] | undefined
    for (let i = 0; i < tiers.length; i++) {
      const ttl = ttls[i] as number | null
      if (ttl === 0) continue
      const write = (tiers[i] as Tier).write(key, prepared[i], strict, ttl)
      if (write === undefined) continue
      if (first === undefined) first = write
      else {
        writes ??= [first]
        writes.push(write)
      }
    }
    if (first === undefined) return DONE
    const all = writes === undefined ? first : Promise.all(writes).then(ignore)
    const keys = [key]
    trackWrites(runtime, keys, all)
    announceAfter(all, keys)
    return all
  } catch (error) {
    return Promise.reject(error)
  }
}

/** How a batch is written: its stamps (tagged nodes, one per key) and whether failures throw. */
export interface BatchOptions {
  readonly stamps?: readonly (Stamp | undefined)[] | undefined
  /** set: a bad TTL, an unencodable value or a failed write rejects, and nothing is written first. */
  readonly strict?: boolean
}

/**
 * Writes many values to `tiers` (one batch per tier and distinct TTL), absorbing storage failures
 * unless `strict`. Entries whose value cannot be encoded for some tier are written nowhere; their
 * keys are returned with the error.
 */
export function writeTiersMany(
  runtime: NodeRuntime,
  tiers: readonly Tier[],
  keys: readonly string[],
  values: readonly unknown[],
  options: BatchOptions = {},
): Promise<Map<string, SerializationError>> {
  const failed = new Map<string, SerializationError>()
  if (keys.length === 0 || tiers.length === 0) return Promise.resolve(failed)
  const strict = options.strict === true
  /** Per tier, the batch of each TTL: keys and prepared values. */
  const batches = tiers.map(() => new Map<number | null, { keys: string[]; prepared: unknown[] }>())
  const writable: string[] = []
  try {
    for (let k = 0; k < keys.length; k++) {
      const key = keys[k] as string
      const ttls = ttlsFor(runtime, tiers, key, values[k], strict)
      let prepared: unknown[]
      try {
        prepared = prepareFor(tiers, values[k], ttls, options.stamps?.[k])
      } catch (failure) {
        const { error } = failure as Unencodable
        if (strict) throw error
        failed.set(key, error as SerializationError)
        continue
      }
      writable.push(key)
      for (let i = 0; i < tiers.length; i++) {
        const ttl = ttls[i] as number | null
        if (ttl === 0) continue
        const byTtl = batches[i] as Map<number | null, { keys: string[]; prepared: unknown[] }>
        let batch = byTtl.get(ttl)
        if (batch === undefined) {
          batch = { keys: [], prepared: [] }
          byTtl.set(ttl, batch)
        }
        batch.keys.push(key)
        batch.prepared.push(prepared[i])
      }
    }
  } catch (error) {
    return Promise.reject(error)
  }
  const writes: Promise<void>[] = []
  for (let i = 0; i < tiers.length; i++) {
    for (const [ttl, batch] of batches[i] as Map<number | null, { keys: string[]; prepared: unknown[] }>) {
      const write = (tiers[i] as Tier).writeMany(batch.keys, batch.prepared, ttl, strict)
      if (write !== undefined) writes.push(write)
    }
  }
  if (writes.length === 0 || writable.length === 0) return Promise.resolve(failed)
  const all = Promise.all(writes)
  trackWrites(runtime, writable, all)
  announceAfter(all, writable)
  return all.then(() => failed)
}

/**
 * Registers `write` under `keys` until it settles (after any earlier write of the same key). One
 * derived promise per write, which drops the write's own entries when it runs: a write-back is one
 * of the commonest calls, and every promise here shows in its cost.
 */
function trackWrites(runtime: NodeRuntime, keys: readonly string[], write: Promise<unknown>): void {
  const writing = runtime.writing
  const forget = (key: string, entry: Promise<unknown>) => {
    if (writing.get(key) === entry) writing.delete(key)
  }
  const done = () => {
    for (const key of keys) forget(key, settled)
  }
  const settled: Promise<void> = write.then(done, done)
  for (const key of keys) {
    const earlier = writing.get(key)
    if (earlier === undefined) writing.set(key, settled)
    else {
      // Waiters on this key wait for both writes; the pair's entry goes when both have settled.
      const both = Promise.all([earlier, settled])
      writing.set(key, both)
      void both.then(() => forget(key, both))
    }
  }
}

/** Resolves once every shared-tier write of `key` sent so far has settled (undefined: none in flight). */
export function writesSettled(runtime: NodeRuntime, key: string): Promise<unknown> | undefined {
  return runtime.writing.get(key)
}
