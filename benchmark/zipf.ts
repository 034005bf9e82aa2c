// Deterministic Zipf(s) request streams shared by the benchmarks (same seed → same sequence).

/** xorshift32: small, fast, and the same sequence on every run. */
export function random(seed: number): () => number {
  let x = seed >>> 0 || 1
  return () => {
    x ^= x << 13
    x >>>= 0
    x ^= x >>> 17
    x ^= x << 5
    x >>>= 0
    return x / 4294967296
  }
}

/**
 * `count` ids in [0, n) drawn from Zipf(s): rank r has probability ∝ 1/r^s. Ranks map to ids through
 * a fixed shuffle, so popular ids are not neighbours in memory (or in slot order).
 */
export function zipfIds(n: number, s: number, count: number, seed = 42): Uint32Array {
  const next = random(seed)
  const cdf = new Float64Array(n)
  let sum = 0
  for (let i = 0; i < n; i++) {
    sum += 1 / (i + 1) ** s
    cdf[i] = sum
  }
  const rankToId = new Uint32Array(n)
  for (let i = 0; i < n; i++) rankToId[i] = i
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1))
    const tmp = rankToId[i] as number
    rankToId[i] = rankToId[j] as number
    rankToId[j] = tmp
  }
  const out = new Uint32Array(count)
  for (let i = 0; i < count; i++) {
    const u = next() * sum
    let lo = 0
    let hi = n - 1
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if ((cdf[mid] as number) < u) lo = mid + 1
      else hi = mid
    }
    out[i] = rankToId[lo] as number
  }
  return out
}
