// A Map for short-lived entries that churn on every request (flights in coalesce.ts, shared-tier
// writes in flight in tiers/write.ts), replaced by a fresh copy every RENEWAL insertions.
//
// Why: a long-lived Map is promoted to V8's old space, and from then on every insertion of a young
// key and value stores young pointers into an old object (write barrier, remembered-set entries the
// next scavenge must visit), and every rehash leaves a dead old backing store that keeps the entries
// it held alive until a full GC (benchmark/RESULTS.md has the measurement on getAll over Redis). A
// copy holds only the few entries in flight, against thousands of insertions between two copies.

/** Insertions between two renewals. */
const RENEWAL = 4096

export class YoungMap<K, V> {
  #map = new Map<K, V>()
  #untilRenewal = RENEWAL

  get(key: K): V | undefined {
    return this.#map.get(key)
  }

  has(key: K): boolean {
    return this.#map.has(key)
  }

  set(key: K, value: V): void {
    if (--this.#untilRenewal === 0) {
      this.#untilRenewal = RENEWAL
      this.#map = new Map(this.#map)
    }
    this.#map.set(key, value)
  }

  delete(key: K): boolean {
    return this.#map.delete(key)
  }

  get size(): number {
    return this.#map.size
  }

  values(): IterableIterator<V> {
    return this.#map.values()
  }
}
