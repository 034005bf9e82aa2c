// One tier of a node class: a registered storage with the node's TTL for it. Local and remote tiers
// implement the same interface, so the read, fill-back, write-back, invalidation and batch paths
// (api/, tiers/write.ts) never ask which kind they hold.
//
// undefined and null are values like any other: `load()` may return either and it is cached. Readers
// therefore answer MISS for a miss. A tier stores what `prepare` made of a value (a live value for a
// local tier, framed bytes for a remote one), so a value bound for several tiers is prepared once per
// `codec` rather than once per tier.

/** Returned by the readers for a miss (undefined is a value). */
export const MISS: unique symbol = Symbol('cacheme.miss')

export interface Tier {
  readonly index: number
  /** Registered storage name. */
  readonly name: string
  /** Milliseconds an entry lives here, or null for no expiry. */
  readonly ttl: number | null
  /**
   * Other processes read this tier too (a remote storage): invalidations wait for its writes in
   * flight, and its writes are announced on the bus so that other processes drop their local copies.
   */
  readonly shared: boolean
  /** Tiers with the same codec store the same prepared form of a value. */
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
  /** The form of `value` this tier stores; throws SerializationError if it cannot be encoded. */
  prepare(value: unknown): unknown
  /**
   * Stores a prepared value. Undefined when done synchronously; else settles when the storage has
   * answered, rejecting only when `strict` (otherwise a failure is counted and reported).
   */
  write(key: string, prepared: unknown, strict: boolean): Promise<void> | undefined
  /** Stores prepared values in one batch with one TTL; failures are counted and reported. */
  writeMany(keys: readonly string[], prepared: readonly unknown[]): Promise<void> | undefined
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
