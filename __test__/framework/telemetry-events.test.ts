// Typed events (on 'hit' | 'miss' | 'load' | 'eviction' | 'error'; onError is 'error') over the
// scripted sequence, and the promise that nothing is loaded, exported or subscribed when the optional
// packages are absent: a child process in which @opentelemetry/api and prom-client cannot be found.

import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import test from 'ava'
import {
  type CacheErrorEvent,
  close,
  type EvictionEvent,
  type HitEvent,
  type LoadEvent,
  type MissEvent,
  on,
  onError,
  stats,
} from '../../lib'
import { storageNamed } from '../../lib/storages/storage'
import { sleep } from './helpers'
import { runScript, type Scenario, scenario, storedKey, VALUE_MARKER } from './telemetry-helpers'

let s: Scenario
const hits: HitEvent[] = []
const misses: MissEvent[] = []
const loads: LoadEvent[] = []
const errors: CacheErrorEvent[] = []
const viaOnError: CacheErrorEvent[] = []
const evictions: EvictionEvent[] = []

test.before(async () => {
  on('hit', (event) => hits.push(event))
  on('miss', (event) => misses.push(event))
  on('load', (event) => loads.push(event))
  on('error', (event) => errors.push(event))
  onError((event) => viaOnError.push(event))
  on('eviction', (event) => evictions.push(event))
  s = await scenario('te')
  await runScript(s, 'te')
})

test.after.always(() => close())

test('hit and miss events add up to stats(): per storage, coalesced, misses', (t) => {
  const st = stats(s.Product)
  t.is(hits.length + misses.length, st.requestCount)
  t.is(misses.length, st.missCount)
  t.is(hits.filter((e) => e.coalesced).length, st.coalescedHits)
  for (const storage of [s.local, s.remote]) {
    t.is(hits.filter((e) => e.storage === storage).length, st.hitsByCache[storage] ?? -1, storage)
  }
  t.deepEqual(
    hits.find((e) => e.storage === s.remote),
    {
      node: 'teProduct',
      key: storedKey('te', 1),
      storage: s.remote,
      coalesced: false,
    },
  )
  t.false(JSON.stringify([hits, misses, loads]).includes(VALUE_MARKER), 'events carry no values')
})

test('load events: one per load, with its time, and the error of the failing one', (t) => {
  const st = stats(s.Product)
  t.is(loads.length, st.loadCount)
  const failed = loads.filter((e) => !e.ok)
  t.is(failed.length, st.loadFailureCount)
  t.regex(String((failed[0]?.error as Error).message), /product 900/)
  const total = loads.reduce((sum, e) => sum + e.duration, 0)
  t.true(Math.abs(total - st.totalLoadTime / 1e6) < 1e-3)
})

test('error events reach on("error") and onError alike, with storage and code', (t) => {
  t.deepEqual(viaOnError, errors)
  const kinds = errors.map((e) => `${e.kind} ${e.storage} ${e.error.code}`).sort()
  t.deepEqual(kinds, [
    `decode ${s.remote} CACHEME_SERIALIZATION`,
    `read ${s.remote} CACHEME_TIMEOUT`,
    `write ${s.remote} CACHEME_TIMEOUT`,
  ])
})

test('eviction events report what the local storage counted in Rust, sampled each second', async (t) => {
  await sleep(1200)
  const reported = evictions.filter((e) => e.storage === s.local).reduce((sum, e) => sum + e.evictions, 0)
  const counted = storageNamed(s.local).local?.stats().evictions
  t.true(reported >= 1)
  t.is(reported, counted ?? -1)
})

test('on() refuses unknown events and non-functions; its return value unsubscribes', (t) => {
  t.throws(() => on('nope' as 'hit', () => {}), { instanceOf: TypeError })
  t.throws(() => on('hit', 'x' as unknown as () => void), { instanceOf: TypeError })
  const off = on('hit', () => {})
  off()
  t.pass()
})

test('without @opentelemetry/api and prom-client, cacheme loads neither and the integrations say what to install', (t) => {
  const lib = join(__dirname, '..', '..', 'lib')
  const script = `
    const Module = require('node:module')
    const resolve = Module._resolveFilename
    Module._resolveFilename = function (request, ...rest) {
      if (request === '@opentelemetry/api' || request === 'prom-client') {
        const error = new Error("Cannot find module '" + request + "'")
        error.code = 'MODULE_NOT_FOUND'
        throw error
      }
      return resolve.call(this, request, ...rest)
    }
    const cacheme = require(${JSON.stringify(lib)})
    const diagnostics = require('node:diagnostics_channel')
    const out = {}
    ;(async () => {
      await cacheme.registerStorage('local', new cacheme.Storage({ url: 'local://lru', size: 10 }))
      const Item = cacheme.buildNode('Item', {
        version: 'v1', caches: [new cacheme.Cache({ storage: 'local', ttl: 1000 })],
        key: (id) => 'item:' + id, load: async (id) => id,
      })
      await cacheme.get(new Item(1)); await cacheme.get(new Item(1))
      out.loaded = Object.keys(require.cache).filter((file) => /opentelemetry|prom-client/.test(file))
      out.subscribed = Object.values(cacheme.CHANNEL_NAMES).filter((name) => diagnostics.hasSubscribers(name))
      for (const [name, call] of [['otel', () => cacheme.instrumentOpenTelemetry()], ['prom', () => cacheme.registerPrometheus()]]) {
        try { call(); out[name] = 'no error' } catch (error) { out[name] = error.code + ': ' + error.message }
      }
      await cacheme.close()
      console.log(JSON.stringify(out))
    })()
  `
  const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' })
  t.is(child.status, 0, child.stderr)
  const out = JSON.parse(child.stdout)
  t.deepEqual(out.loaded, [])
  t.deepEqual(out.subscribed, [])
  t.is(
    out.otel,
    'CACHEME_INVALID_ARGUMENT: instrumentOpenTelemetry needs the @opentelemetry/api package: npm install @opentelemetry/api',
  )
  t.is(
    out.prom,
    'CACHEME_INVALID_ARGUMENT: registerPrometheus needs the prom-client package: npm install prom-client',
  )
})
