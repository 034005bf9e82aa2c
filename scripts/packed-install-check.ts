// Compiled with `tsc --noEmit --strict` in a fresh project that installed the packed tarballs.
import { BloomFilter, LocalStore } from 'cacheme'

const store = new LocalStore('tlfu', 100)
store.set('user:1', { name: 'Ada' }, 1000)
const value: unknown = store.get('user:1')
const filter = new BloomFilter(1000, 0.01)
const seen: boolean = filter.insert('user:1')
// @ts-expect-error the policy must be 'lru' or 'tlfu'
new LocalStore('lfu', 100)
console.log(value, seen)
