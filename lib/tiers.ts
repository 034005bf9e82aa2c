// Reading and writing a node's tiers. Local tiers hold live values; remote tiers hold bytes from the
// tier's serializer.
//
// undefined and null are values like any other: `load()` may return either and it is cached. A local
// store answers undefined for a miss, so an undefined value is stored there as the UNDEFINED sentinel;
// remote tiers store it as an empty payload. Every other payload is the serializer's bytes behind a
// two-byte header naming the serializer (serializers/frame.ts), so bytes from another serializer or
// from outside cacheme read as a miss, never as data.
//
// Errors on the read path (get, getAll): a payload that does not decode, or a remote read that fails,
// is a miss; a fill-back or write-back that fails leaves the value returned. Each is counted on the
// node and reported (events.ts): a cache that is down slows reads, it does not break them. Only a
// freshly loaded value that cannot be encoded fails the call (SerializationError), before anything is
// written, so nothing is cached. refresh and invalidate, which exist to write, surface every failure.

import { CachemeError, SerializationError, StorageError } from './errors'
import { type CacheErrorKind, report } from './events'
import type { NodeRuntime, Tier } from './runtime'
import { decodeFramed, frame } from './serializers/frame'
import type { RemoteEntry } from './storages/remote'

export const UNDEFINED: unique symbol = Symbol('cacheme.undefined')
/** Returned by the readers for a miss (undefined is a value). */
export const MISS: unique symbol = Symbol('cacheme.miss')

const EMPTY = Buffer.alloc(0)

export function toLocal(value: unknown): unknown {
  return value === undefined ? UNDEFINED : value
}

export function fromLocal(stored: unknown): unknown {
  return stored === UNDEFINED ? undefined : stored
}

function asCachemeError(error: unknown, kind: CacheErrorKind): CachemeError {
  if (error instanceof CachemeError) return error
  const message = error instanceof Error ? error.message : String(error)
  return kind === 'decode'
    ? new SerializationError('CACHEME_SERIALIZATION', message, { cause: error })
    : new StorageError('CACHEME_STORAGE', message, { cause: error })
}

export function absorb(
  runtime: NodeRuntime,
  tier: Tier,
  kind: CacheErrorKind,
  key: string,
  error: unknown,
): void {
  if (kind === 'decode') runtime.decodeErrors++
  else runtime.storageErrors++
  report({ kind, node: runtime.name, storage: tier.name, key, error: asCachemeError(error, kind) })
}

export function encode(tier: Tier, value: unknown): Buffer {
  if (value === undefined) return EMPTY
  const payload = tier.serializer.dumps(value)
  if (!Buffer.isBuffer(payload)) {
    throw new SerializationError(
      'CACHEME_SERIALIZATION',
      `serializer of ${tier.name} did not return a Buffer`,
    )
  }
  if (payload.length === 0) {
    throw new SerializationError(
      'CACHEME_SERIALIZATION',
      `serializer of ${tier.name} returned an empty payload`,
    )
  }
  return frame(tier.tag, payload)
}

/** The decoded value, or MISS (a payload that does not decode is absorbed as a miss). */
export function decode(runtime: NodeRuntime, tier: Tier, key: string, payload: Buffer | undefined): unknown {
  if (payload === undefined) return MISS
  if (payload.length === 0) return undefined
  try {
    return decodeFramed(tier.serializer, tier.tag, payload)
  } catch (error) {
    absorb(runtime, tier, 'decode', key, error)
    return MISS
  }
}

/** One key from a local tier: the value, or MISS. */
export function readLocal(tier: Tier, key: string): unknown {
  const stored = (tier.local as NonNullable<Tier['local']>).get(key)
  return stored === undefined ? MISS : fromLocal(stored)
}

/** Many keys from one tier in one batch: values or MISS, in key order. */
export async function readTierMany(
  runtime: NodeRuntime,
  tier: Tier,
  keys: readonly string[],
): Promise<unknown[]> {
  if (tier.local !== undefined) {
    return tier.local.getMany(keys).map((stored) => (stored === undefined ? MISS : fromLocal(stored)))
  }
  let payloads: (Buffer | undefined)[]
  try {
    payloads = await (tier.remote as NonNullable<Tier['remote']>).getMany(keys)
  } catch (error) {
    absorb(runtime, tier, 'read', keys[0] as string, error)
    return keys.map(() => MISS)
  }
  return keys.map((key, i) => decode(runtime, tier, key, payloads[i]))
}

/**
 * Payloads of `value` for the remote tiers among `tiers`, encoding once per serializer. Throws
 * SerializationError if the value cannot be encoded.
 */
function payloadsFor(tiers: readonly Tier[], value: unknown): (Buffer | undefined)[] {
  const payloads = new Array<Buffer | undefined>(tiers.length)
  for (let i = 0; i < tiers.length; i++) {
    const tier = tiers[i] as Tier
    if (tier.remote === undefined) continue
    for (let j = 0; j < i && payloads[i] === undefined; j++) {
      if ((tiers[j] as Tier).serializer === tier.serializer) payloads[i] = payloads[j]
    }
    payloads[i] ??= encode(tier, value)
  }
  return payloads
}

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
/** refresh: the caller asked for the write, so every failure is theirs to see. */
export const EXPLICIT: WritePolicy = { encoding: 'throw', storage: 'throw' }

// Ordering of writes to one key. A write-back checks that its flight is not stale, then sends its
// writes; an invalidate or refresh arriving after that must not send its own remote statements
// until those writes have settled, or, on a pooled backend (pg, mysql2, mongodb), the two may run
// on different connections in either order and leave the older value behind. So every remote write
// is registered under its keys until it settles, and `writesSettled` waits for them. (A write that
// timed out on the client may still run on the server later; the storage timeout bounds waiting, not
// the server.)

function ignore(): void {}

const DONE: Promise<void> = Promise.resolve()

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

/** Resolves once every remote write of `key` sent so far has settled (undefined: none in flight). */
export function writesSettled(runtime: NodeRuntime, key: string): Promise<unknown> | undefined {
  return runtime.writing.get(key)
}

/**
 * Writes one value to `tiers`, each with its own TTL. Encoding happens first, so a value that cannot
 * be encoded is written nowhere. Not async: one remote tier costs the storage's promise and the
 * tracking one, nothing more; whatever throws comes back as a rejection.
 */
export function writeTiers(
  runtime: NodeRuntime,
  tiers: readonly Tier[],
  key: string,
  value: unknown,
  policy: WritePolicy,
): Promise<void> {
  try {
    let payloads: (Buffer | undefined)[]
    try {
      payloads = payloadsFor(tiers, value)
    } catch (error) {
      if (policy.encoding === 'throw') throw error
      absorb(runtime, tiers.find((tier) => tier.remote !== undefined) as Tier, 'write', key, error)
      return DONE
    }
    const strict = policy.storage === 'throw'
    let first: Promise<void> | undefined
    let writes: Promise<void>[] | undefined
    for (let i = 0; i < tiers.length; i++) {
      const tier = tiers[i] as Tier
      if (tier.local !== undefined) {
        tier.local.set(key, toLocal(value), tier.ttl)
        continue
      }
      const write = writeRemote(runtime, tier, key, payloads[i] as Buffer, strict)
      if (first === undefined) first = write
      else {
        writes ??= [first]
        writes.push(write)
      }
    }
    if (first === undefined) return DONE
    const all = writes === undefined ? first : Promise.all(writes).then(ignore)
    trackWrites(runtime, [key], all)
    return all
  } catch (error) {
    return Promise.reject(error)
  }
}

function writeRemote(
  runtime: NodeRuntime,
  tier: Tier,
  key: string,
  payload: Buffer,
  strict: boolean,
): Promise<void> {
  const write = (tier.remote as NonNullable<Tier['remote']>).set(key, payload, tier.ttl)
  if (strict) return write
  return write.catch((error: unknown) => absorb(runtime, tier, 'write', key, error))
}

/**
 * Writes many values to `tiers` (one batch per tier), absorbing failures. Entries whose value cannot
 * be encoded for some tier are written nowhere; their keys are returned with the error.
 */
export function writeTiersMany(
  runtime: NodeRuntime,
  tiers: readonly Tier[],
  keys: readonly string[],
  values: readonly unknown[],
): Promise<Map<string, SerializationError>> {
  const write = sendTiersMany(runtime, tiers, keys, values)
  if (keys.length > 0 && tiers.some((tier) => tier.remote !== undefined)) trackWrites(runtime, keys, write)
  return write
}

async function sendTiersMany(
  runtime: NodeRuntime,
  tiers: readonly Tier[],
  keys: readonly string[],
  values: readonly unknown[],
): Promise<Map<string, SerializationError>> {
  const failed = new Map<string, SerializationError>()
  if (keys.length === 0 || tiers.length === 0) return failed
  const payloads: (Buffer | undefined)[][] = []
  for (let k = 0; k < keys.length; k++) {
    try {
      payloads.push(payloadsFor(tiers, values[k]))
    } catch (error) {
      failed.set(keys[k] as string, error as SerializationError)
      payloads.push([])
    }
  }
  const writes: Promise<void>[] = []
  for (let i = 0; i < tiers.length; i++) {
    const tier = tiers[i] as Tier
    if (tier.local !== undefined) {
      const localKeys: string[] = []
      const localValues: unknown[] = []
      for (let k = 0; k < keys.length; k++) {
        if (failed.has(keys[k] as string)) continue
        localKeys.push(keys[k] as string)
        localValues.push(toLocal(values[k]))
      }
      tier.local.setMany(localKeys, localValues, tier.ttl)
      continue
    }
    const entries: RemoteEntry[] = []
    for (let k = 0; k < keys.length; k++) {
      const payload = payloads[k]?.[i]
      if (payload !== undefined) entries.push([keys[k] as string, payload])
    }
    if (entries.length === 0) continue
    writes.push(
      (tier.remote as NonNullable<Tier['remote']>).setMany(entries, tier.ttl).catch((error: unknown) => {
        absorb(runtime, tier, 'write', (entries[0] as RemoteEntry)[0], error)
      }),
    )
  }
  await Promise.all(writes)
  return failed
}
