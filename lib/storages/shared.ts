// What every backend module needs besides its driver: errors that name the backend, URLs with the
// password left out, option checks, the driver requirement, batch de-duplication and the retry of a
// statement that lost a race. Driver-free, so the registry can load every backend's descriptor
// without loading a single driver.

import { InvalidArgumentError, StorageError } from '../errors'
import type { RemoteEntry } from './remote'

/** Rows or documents a cleanup pass deletes at most, so that one pass never holds locks for long. */
export const CLEANUP_BATCH = 1000

/** A StorageError whose message starts with the backend's name, so a report says where it failed. */
export function storageError(backend: string, message: string, cause?: unknown): StorageError {
  return new StorageError('CACHEME_STORAGE', `${backend}: ${message}`, { cause })
}

/** The message of whatever a driver threw. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/** `<backend>: <what> failed: <the driver's message>`, keeping the driver's error as the cause. */
export function failure(backend: string, what: string, error: unknown): StorageError {
  return storageError(backend, `${what} failed: ${messageOf(error)}`, error)
}

/** A storage url that names no backend, or that its backend cannot open. */
export function urlError(message: string): StorageError {
  return new StorageError('CACHEME_INVALID_STORAGE_URL', message)
}

/** What every call of a closed storage rejects with. */
export function closedError(backend: string): StorageError {
  return new StorageError('CACHEME_CLOSED', `${backend}: storage is closed`)
}

/** The URL without its password, for messages. */
export function redact(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@')
}

/** An npm package a backend needs, and what to run when it is missing. */
export interface Driver {
  readonly package: string
  readonly install: string
}

/**
 * Throws a StorageError with the install hint when `driver` is not installed. Drivers are optional
 * peer dependencies: a backend requires its own only when a storage of it opens.
 */
export function checkDriver(backend: string, driver: Driver): void {
  try {
    require.resolve(driver.package)
  } catch (error) {
    throw new StorageError(
      'CACHEME_STORAGE',
      `${backend} storages need the ${driver.package} driver: ${driver.install}`,
      { cause: error },
    )
  }
}

/**
 * One check per option a backend takes: it receives the value given (undefined when none) and the
 * storage's url, throws InvalidArgumentError for a bad value and returns the value to use.
 */
export type OptionChecks<O> = {
  readonly [K in keyof O]-?: (value: O[K], url: string) => Exclude<O[K], undefined>
}

/** Options after their checks: every one present, defaults applied. */
export type CheckedOptions<O> = { readonly [K in keyof O]-?: Exclude<O[K], undefined> }

/** Runs every check of `checks` on `options`, in the order the checks are listed. */
export function readOptions<O extends object>(
  checks: OptionChecks<O>,
  options: O,
  url: string,
): CheckedOptions<O> {
  const read: Record<string, unknown> = {}
  for (const [name, check] of Object.entries(checks)) {
    read[name] = (check as (value: unknown, url: string) => unknown)(options[name as keyof O], url)
  }
  return read as CheckedOptions<O>
}

/** A check for an integer option from `min` to `max`, `fallback` when not given. */
export function integerOption(
  label: string,
  min: number,
  max: number,
  fallback: number,
): (value: number | undefined) => number {
  return (value = fallback) => {
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new InvalidArgumentError(
        'CACHEME_INVALID_ARGUMENT',
        `${label} must be an integer from ${min} to ${max}; got ${String(value)}`,
      )
    }
    return value
  }
}

/** The `limit` of cleanupExpired(limit): a positive integer. */
export function checkCleanupLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1) {
    throw new InvalidArgumentError(
      'CACHEME_INVALID_ARGUMENT',
      `limit must be a positive integer; got ${limit}`,
    )
  }
}

/**
 * A batch's entries with one per key, the later entry winning (a multi-row upsert may not name a row
 * twice), sorted so that concurrent upserts lock rows in one order and cannot deadlock each other.
 */
export function lastPerKey(entries: readonly RemoteEntry[]): RemoteEntry[] {
  return [...new Map(entries).entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
}

/**
 * Runs `attempt` up to `times` times while it fails with an error `retryable` accepts: a statement
 * that lost a deadlock or an upsert race to another writer. Only for plain sets and deletes, which
 * are safe to repeat.
 */
export async function retrying<T>(
  times: number,
  retryable: (error: unknown) => boolean,
  attempt: () => Promise<T>,
): Promise<T> {
  for (let made = 1; ; made++) {
    try {
      return await attempt()
    } catch (error) {
      if (made >= times || !retryable(error)) throw error
    }
  }
}

/** `n` copies of `group`, comma-separated: the placeholders of an `IN (…)` list or a multi-row insert. */
export function repeated(n: number, group: string): string {
  return new Array<string>(n).fill(group).join(', ')
}

/**
 * What a statement of each batch size needs (its SQL text, its prepared statement), built on first
 * use and kept: a handful of sizes covers every batch. Past `limit` sizes, the kept ones are dropped.
 */
export class PerSize<V> {
  readonly #build: (size: number) => V
  readonly #limit: number
  readonly #bySize = new Map<number, V>()

  constructor(build: (size: number) => V, limit = Number.POSITIVE_INFINITY) {
    this.#build = build
    this.#limit = limit
  }

  sized(size: number): V {
    let value = this.#bySize.get(size)
    if (value === undefined) {
      if (this.#bySize.size >= this.#limit) this.#bySize.clear()
      value = this.#build(size)
      this.#bySize.set(size, value)
    }
    return value
  }
}
