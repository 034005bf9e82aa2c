// `new Cache({ storage, ttl })`: one tier of a node — which registered storage, and for how long.

import { InvalidArgumentError } from './errors'

export interface CacheOptions {
  /** Name given to registerStorage. */
  readonly storage: string
  /** Milliseconds an entry lives in this tier, or null for no expiry (until evicted or invalidated). */
  readonly ttl: number | null
}

/** Throws unless `ttl` is null or a positive, finite number of milliseconds. */
export function checkTtl(ttl: unknown, where: string): asserts ttl is number | null {
  if (ttl === null) return
  if (typeof ttl !== 'number' || !Number.isFinite(ttl) || ttl <= 0) {
    throw new InvalidArgumentError(
      'CACHEME_INVALID_TTL',
      `${where}: ttl must be a positive number of milliseconds or null (no expiry); got ${String(ttl)}`,
    )
  }
}

export class Cache {
  readonly storage: string
  readonly ttl: number | null

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
    this.storage = options.storage
    this.ttl = options.ttl
  }
}
