// The local storage at work: a Zipf(1.0) stream of 200k requests over 100k keys, served from a
// 1,000-entry cache in front of a "database", under W-TinyLFU and LRU.
//
//   node dist/benchmark/local-demo.js

import { LocalStore } from '../lib'
import { zipfIds } from './zipf'

const KEYS = 100_000
const REQUESTS = 200_000
const SIZE = 1_000

function replay(policy: 'tlfu' | 'lru'): { hitRate: number; loads: number; ms: number } {
  const store = new LocalStore(policy, SIZE)
  const ids = zipfIds(KEYS, 1.0, REQUESTS, 7)
  let loads = 0
  const start = performance.now()
  for (const id of ids) {
    const key = `user:${id}:info:v1`
    if (store.get(key) === undefined) {
      loads++
      store.set(key, { id, name: `user ${id}` }, 60_000)
    }
  }
  const { hits, misses } = store.stats()
  return { hitRate: hits / (hits + misses), loads, ms: performance.now() - start }
}

console.log(
  `${REQUESTS.toLocaleString('en')} requests, Zipf(1.0) over ${KEYS.toLocaleString('en')} keys, cache of ${SIZE} entries\n`,
)
for (const policy of ['tlfu', 'lru'] as const) {
  const { hitRate, loads, ms } = replay(policy)
  console.log(
    `local://${policy.padEnd(4)}  hit rate ${(100 * hitRate).toFixed(2)}%  loads from source ${loads.toLocaleString('en')}  (${ms.toFixed(0)} ms)`,
  )
}
console.log('\nW-TinyLFU keeps the popular keys that LRU keeps evicting for one-time visitors.')
