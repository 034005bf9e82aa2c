// One tier of a node class: a registered storage with the node's TTL for it. Local and remote tiers
// implement the same interface, so the read, fill-back, write-back, invalidation and batch paths
// (api/, tiers/write.ts) never ask which kind they hold.
//
// undefined and null are values like any other: `load()` may return either and it is cached. Readers
// therefore answer MISS for a miss. A tier stores what `prepare` made of a value (a live value for a
// local tier, framed bytes for a remote one), so a value bound for several tiers is prepared once per
// `codec` rather than once per tier.

import type { TtlFunction } from '../cache'
import type { Stamp } from '../freshness'

/** Returned by the readers for a miss (undefined is a value). */
export const MISS: unique symbol = Symbol('cacheme.miss')

export interface Tier {
  readonly index: number
  /** Registered storage name. */
  readonly name: string
  /** Milliseconds an entry lives here, null for no expiry, or a function of the value (ttlOf). */
  readonly ttl: number | null | TtlFunction
  /**
   * Other processes read this tier too (a remote storage): invalidations wait for its writes in
   * flight, and its writes are announced on the bus so that other processes drop their local copies.
   */
  readonly shared: boolean
  /** Tiers with the same codec store the same prepared form of a value (for the same TTL). */
  readonly codec: object
  /** Longest stored key the storage accepts (characters). */
  readonly maxKeyLength: number

  /**
   * The value of `key`, or MISS (a failed read or an undecodable payload is counted and a miss). A
   * tier of a node with a stale window (freshness.ts) may also answer a Stale entry.
   */
  read(key: string): unknown
  /** Values of `keys` in order, MISS for each miss (or Stale entries, as read); one batch. */
  readMany(keys: readonly string[]): unknown[] | Promise<unknown[]>
  /**
   * The TTL of `value` here: milliseconds (0: not written to this tier) or null. Throws
   * InvalidArgumentError when a ttl function returns anything else.
   */
  ttlOf(value: unknown): number | null
  /**
   * The form of `value` this tier stores for `ttl`, with `stamp` for a tagged node (its time and tags;
   * undefined: now, no tags); throws SerializationError if it cannot be encoded.
   */
  prepare(value: unknown, ttl: number | null, stamp: Stamp | undefined): unknown
  /**
   * Stores a prepared value for `ttl`. Undefined when done synchronously; else settles when the
   * storage has answered, rejecting only when `strict` (otherwise a failure is counted and reported).
   */
  write(key: string, prepared: unknown, strict: boolean, ttl: number | null): Promise<void> | undefined
  /** Stores prepared values in one batch with one TTL; failures reject when `strict`, else are absorbed. */
  writeMany(
    keys: readonly string[],
    prepared: readonly unknown[],
    ttl: number | null,
    strict: boolean,
  ): Promise<void> | undefined
  /** Removes `key`; a remote failure rejects (the caller asked for the removal). */
  remove(key: string): Promise<void> | undefined
  /**
   * Drops `keys` from what this process alone holds (another process changed them); a shared tier
   * has nothing of the kind and does nothing.
   */
  forget(keys: readonly string[]): void
  /** Drops everything this process alone holds (it may have missed changes); shared: nothing. */
  forgetAll(): void
}
