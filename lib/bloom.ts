// The doorkeeper: a Bloom filter in Rust (src-rs/core/src/bloom.rs) with a typed, validated front.

import { InvalidArgumentError } from './errors'
import { type NativeBloomFilter, native } from './native'

export class BloomFilter {
  readonly #filter: NativeBloomFilter

  /**
   * A filter for `capacity` distinct keys at `falsePositiveRate` (0 < p < 1). Once `capacity` keys
   * have been added it clears itself and starts afresh.
   */
  constructor(capacity: number, falsePositiveRate: number) {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > 2 ** 32) {
      throw new InvalidArgumentError(
        'CACHEME_INVALID_ARGUMENT',
        `BloomFilter capacity must be a positive integer (at most 2^32); got ${String(capacity)}`,
      )
    }
    if (typeof falsePositiveRate !== 'number' || !(falsePositiveRate > 0 && falsePositiveRate < 1)) {
      throw new InvalidArgumentError(
        'CACHEME_INVALID_ARGUMENT',
        `BloomFilter falsePositiveRate must be between 0 and 1 (exclusive); got ${String(falsePositiveRate)}`,
      )
    }
    this.#filter = new native.BloomFilter(capacity, falsePositiveRate)
  }

  /** True if the key may have been added. */
  contains(key: string): boolean {
    return this.#filter.contains(key)
  }

  /** Adds the key; returns true if it (probably) was already present. */
  insert(key: string): boolean {
    return this.#filter.insert(key)
  }

  clear(): void {
    this.#filter.clear()
  }

  /** Distinct keys added since the filter was last cleared. */
  get size(): number {
    return this.#filter.size
  }

  get capacity(): number {
    return this.#filter.capacity
  }

  get bits(): number {
    return this.#filter.bits
  }

  get hashCount(): number {
    return this.#filter.hashCount
  }
}
