// `new Cache({ storage, ttl })`: one tier of a node — which registered storage, and for how long.

import { InvalidArgumentError } from './errors'

/**
 * A TTL chosen from the value: milliseconds, null for no expiry, or 0 for "answer it, do not write it
 * to this tier" (e.g. keep "not found" only locally, or not at all).
 */
export type TtlFunction = (value: never) => number | null

export interface CacheOptions {
  /** Name given to registerStorage. */
  readonly storage: string
  /**
   * Milliseconds an entry lives in this tier, or null for no expiry (until evicted or invalidated);
   * or a function of the value returning either, or 0 to leave the value out of this tier.
   */
  readonly ttl: number | null | TtlFunction
  /**
   * The weight of a value in this tier, for a local storage with a maxWeight (an integer from 0 to
   * 2^32 − 1); overrides the storage's own `weigh`.
   */
  readonly weigh?: ((value: never) => number) | undefined
}

/** Throws unless `ttl` is null, a positive, finite number of milliseconds, or a function. */
export function checkTtl(ttl: unknown, where: string): asserts ttl is number | null | TtlFunction {
  if (ttl === null || typeof ttl === 'function') return
  if (typeof ttl !== 'number' || !Number.isFinite(ttl) || ttl <= 0) {
    throw new InvalidArgumentError(
      'CACHEME_INVALID_TTL',
      `${where}: ttl must be a positive number of milliseconds, null (no expiry) or a function of the value; got ${String(ttl)}`,
    )
  }
}

/**
 * What a ttl function returned for a value, checked: a finite number ≥ 0 (0: not written) or null.
 * Throws InvalidArgumentError naming the tier otherwise (a function that throws included).
 */
export function ttlFromValue(ttl: TtlFunction, value: unknown, where: string): number | null {
  let result: unknown
  try {
    result = (ttl as (value: unknown) => unknown)(value)
  } catch (error) {
    throw new InvalidArgumentError('CACHEME_INVALID_TTL', `${where}: the ttl function threw`, {
      cause: error,
    })
  }
  if (result === null) return null
  if (typeof result !== 'number' || !Number.isFinite(result) || result < 0) {
    throw new InvalidArgumentError(
      'CACHEME_INVALID_TTL',
      `${where}: the ttl function must return milliseconds >= 0 (0: do not write this tier) or null; got ${typeof result === 'string' ? JSON.stringify(result) : String(result)}`,
    )
  }
  return result
}

export class Cache {
  readonly storage: string
  readonly ttl: number | null | TtlFunction
  readonly weigh: ((value: unknown) => number) | undefined

  constructor(options: CacheOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new InvalidArgumentError(
        'CACHEME_INVALID_ARGUMENT',
        'new Cache({ storage, ttl }) needs an options object',
      )
    }
    if (typeof options.storage !== 'string' || options.storage.length === 0) {
      throw new InvalidArgumentError(
        'CACHEME_INVALID_ARGUMENT',
        'Cache storage must be a registered storage name',
      )
    }
    checkTtl(options.ttl, `Cache(${options.storage})`)
    if (options.weigh !== undefined && typeof options.weigh !== 'function') {
      throw new InvalidArgumentError(
        'CACHEME_INVALID_WEIGHT',
        `Cache(${options.storage}): weigh must be a function of the value; got ${typeof options.weigh}`,
      )
    }
    this.storage = options.storage
    this.ttl = options.ttl
    this.weigh = options.weigh as ((value: unknown) => number) | undefined
  }
}
