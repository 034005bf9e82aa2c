import test from 'ava'

import { BloomFilter, CachemeError } from '../../lib'

test('sizing follows bits = next power of two of n·(−ln p)/ln²2 and k = ln2·bits/n', (t) => {
  const filter = new BloomFilter(100_000, 0.01)
  t.is(filter.bits, 2 ** 20)
  t.is(filter.hashCount, 7)
  t.is(filter.capacity, 100_000)
})

test('added keys are found; insert reports whether the key was there', (t) => {
  const filter = new BloomFilter(1000, 0.01)
  t.false(filter.contains('user:1'))
  t.false(filter.insert('user:1'))
  t.true(filter.insert('user:1'))
  t.true(filter.contains('user:1'))
  t.is(filter.size, 1)
})

test('false-positive rate on 100k keys stays within 1.5× the target', (t) => {
  const filter = new BloomFilter(100_000, 0.01)
  for (let i = 0; i < 100_000; i++) filter.insert(`in:${i}`)
  let falsePositives = 0
  for (let i = 0; i < 100_000; i++) if (filter.contains(`out:${i}`)) falsePositives++
  t.true(falsePositives / 100_000 <= 0.015, `measured ${falsePositives / 100_000}`)
})

test('the filter clears itself when its insert count reaches its capacity', (t) => {
  const filter = new BloomFilter(3, 0.01)
  for (const key of ['a', 'b', 'c']) filter.insert(key)
  t.is(filter.size, 3)
  filter.insert('d')
  t.is(filter.size, 1)
  t.true(filter.contains('d'))
})

test('bad arguments throw typed errors', (t) => {
  for (const [n, p] of [
    [0, 0.01],
    [-5, 0.01],
    [1.5, 0.01],
    [100, 0],
    [100, 1],
    [100, Number.NaN],
  ] as const) {
    const error = t.throws(() => new BloomFilter(n, p), { instanceOf: CachemeError })
    t.is(error?.code, 'CACHEME_INVALID_ARGUMENT')
  }
})
