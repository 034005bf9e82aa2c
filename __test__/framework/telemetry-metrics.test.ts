// Metrics exported through the real OpenTelemetry SDK (a MeterProvider with a reader collected on
// demand) and a real prom-client registry, after the scripted sequence of telemetry-helpers.ts:
// every exported figure is what stats() and the local storage say, under the documented names,
// attributes and labels; the load histogram counts every load; the README table lists every name.

import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Attributes } from '@opentelemetry/api'
import {
  type DataPoint,
  type Histogram,
  MeterProvider,
  MetricReader,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics'
import test from 'ava'
import { Registry } from 'prom-client'
import { close, instrumentOpenTelemetry, onError, registerPrometheus, stats } from '../../lib'
import { storageNamed } from '../../lib/storages/storage'
import { FIGURES, LOAD_DURATION } from '../../lib/telemetry/figures'
import { runScript, type Scenario, scenario } from './telemetry-helpers'

class TestReader extends MetricReader {
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

const reader = new TestReader()
const meterProvider = new MeterProvider({ readers: [reader] })
const registry = new Registry()
let s: Scenario
let rejected = 0

test.before(async () => {
  // Installed before any request, so that the load histogram sees every load stats() counts.
  onError(() => {}) // the script's storage errors are expected: no process warnings
  instrumentOpenTelemetry({ meterProvider })
  registerPrometheus(registry)
  s = await scenario('tm')
  rejected = await runScript(s, 'tm')
})

test.after.always(async () => {
  await meterProvider.shutdown()
  await close()
})

/** Every point of `name` in one collection. */
async function points(name: string): Promise<DataPoint<number>[]> {
  const { resourceMetrics } = (await reader.collect()) as { resourceMetrics: ResourceMetrics }
  const found = resourceMetrics.scopeMetrics
    .filter((scope) => scope.scope.name === 'cacheme')
    .flatMap((scope) => scope.metrics)
    .filter((metric) => metric.descriptor.name === name)
  return found.flatMap((metric) => metric.dataPoints as DataPoint<number>[])
}

function pointValue(list: readonly DataPoint<number>[], attributes: Attributes): number | undefined {
  const want = JSON.stringify(Object.entries(attributes).sort())
  return list.find((point) => JSON.stringify(Object.entries(point.attributes).sort()) === want)?.value
}

test('the script ran as the issue describes: one rejected load, and stats counts every step', (t) => {
  t.is(rejected, 1)
  const st = stats(s.Product)
  // Gets of 1, 2, 1, 1, 3, 3, 900, 4, 5.
  t.is(st.requestCount, 9)
  t.deepEqual(st.hitsByCache, { [s.local]: 1, [s.remote]: 1 })
  t.is(st.coalescedHits, 1)
  t.is(st.missCount, 6)
  t.is(st.loadSuccessCount, 5)
  t.is(st.loadFailureCount, 1)
  t.is(st.decodeErrorCount, 1)
  // The read of 5 timed out; the breaker then refused its write-back at once.
  t.is(st.storageErrorCount, 2)
})

test('OpenTelemetry cacheme.requests equals stats(): hits per storage, coalesced, misses', async (t) => {
  const st = stats(s.Product)
  const node = 'tmProduct'
  const list = await points('cacheme.requests')
  const hit = (storage: string) => ({
    'cacheme.node': node,
    'cacheme.result': 'hit',
    'cacheme.storage': storage,
  })
  t.is(pointValue(list, hit(s.local)), st.hitsByCache[s.local])
  t.is(pointValue(list, hit(s.remote)), st.hitsByCache[s.remote])
  t.is(pointValue(list, { 'cacheme.node': node, 'cacheme.result': 'coalesced' }), st.coalescedHits)
  t.is(pointValue(list, { 'cacheme.node': node, 'cacheme.result': 'miss' }), st.missCount)
  const total = list.filter((p) => p.attributes['cacheme.node'] === node).reduce((sum, p) => sum + p.value, 0)
  t.is(total, st.requestCount)
})

test('OpenTelemetry loads, load time and the load duration histogram equal stats()', async (t) => {
  const st = stats(s.Product)
  const node = 'tmProduct'
  const loads = await points('cacheme.loads')
  t.is(pointValue(loads, { 'cacheme.node': node, 'cacheme.result': 'success' }), st.loadSuccessCount)
  t.is(pointValue(loads, { 'cacheme.node': node, 'cacheme.result': 'failure' }), st.loadFailureCount)
  const time = pointValue(await points('cacheme.load.time'), { 'cacheme.node': node }) as number
  t.true(Math.abs(time - st.totalLoadTime / 1e9) < 1e-9)
  const histogram = (await points(LOAD_DURATION.name)) as unknown as DataPoint<Histogram>[]
  const count = histogram
    .filter((p) => p.attributes['cacheme.node'] === node)
    .reduce((sum, p) => sum + p.value.count, 0)
  const sum = histogram
    .filter((p) => p.attributes['cacheme.node'] === node)
    .reduce((a, p) => a + (p.value.sum ?? 0), 0)
  t.is(count, st.loadCount)
  t.true(Math.abs(sum - st.totalLoadTime / 1e9) < 1e-6, `${sum} s against ${st.totalLoadTime} ns`)
})

test('OpenTelemetry storage errors name the storage, the operation and the code (timeouts included)', async (t) => {
  const list = await points('cacheme.storage.errors')
  const node = 'tmProduct'
  const at = (operation: string, code: string) =>
    pointValue(list, {
      'cacheme.node': node,
      'cacheme.storage': s.remote,
      'cacheme.operation': operation,
      'error.type': code,
    })
  t.is(at('decode', 'CACHEME_SERIALIZATION'), 1)
  t.is(at('read', 'CACHEME_TIMEOUT'), 1)
  t.is(at('write', 'CACHEME_TIMEOUT'), 1)
  const mine = list.filter((p) => p.attributes['cacheme.node'] === node)
  const st = stats(s.Product)
  const sum = (operations: string[]) =>
    mine
      .filter((p) => operations.includes(p.attributes['cacheme.operation'] as string))
      .reduce((a, p) => a + p.value, 0)
  t.is(sum(['read', 'write']), st.storageErrorCount)
  t.is(sum(['decode']), st.decodeErrorCount)
})

test('OpenTelemetry local tier figures equal the local storage counters in Rust', async (t) => {
  const store = storageNamed(s.local).local
  const counters = store?.stats()
  t.truthy(counters)
  t.true((counters?.evictions ?? 0) >= 1, 'the one-entry tier evicted')
  const attributes = { 'cacheme.storage': s.local }
  t.is(pointValue(await points('cacheme.local.evictions'), attributes), counters?.evictions)
  t.is(pointValue(await points('cacheme.local.entries'), attributes), counters?.size)
  t.is(pointValue(await points('cacheme.local.capacity'), attributes), 1)
  t.is(pointValue(await points('cacheme.inflight'), { 'cacheme.node': 'tmProduct' }), 0)
})

/** The value of one Prometheus sample, by its labels. */
async function sample(name: string, labels: Record<string, string>): Promise<number | undefined> {
  const metric = await registry.getSingleMetric(name)?.get()
  const want = JSON.stringify(Object.entries(labels).sort())
  return metric?.values.find(
    (v) =>
      JSON.stringify(Object.entries(v.labels).sort()) === want &&
      ((v as { metricName?: string }).metricName === undefined ||
        (v as { metricName?: string }).metricName === name),
  )?.value
}

test('Prometheus: cacheme_requests_total and cacheme_loads_total equal stats(), with labels node, result, storage', async (t) => {
  const st = stats(s.Product)
  const node = 'tmProduct'
  t.is(
    await sample('cacheme_requests_total', { node, result: 'hit', storage: s.local }),
    st.hitsByCache[s.local],
  )
  t.is(
    await sample('cacheme_requests_total', { node, result: 'hit', storage: s.remote }),
    st.hitsByCache[s.remote],
  )
  t.is(await sample('cacheme_requests_total', { node, result: 'coalesced' }), st.coalescedHits)
  t.is(await sample('cacheme_requests_total', { node, result: 'miss' }), st.missCount)
  t.is(await sample('cacheme_loads_total', { node, result: 'failure' }), st.loadFailureCount)
  t.is(
    await sample('cacheme_storage_errors_total', {
      node,
      storage: s.remote,
      operation: 'read',
      code: 'CACHEME_TIMEOUT',
    }),
    1,
  )
  const text = await registry.metrics()
  t.regex(text, /# TYPE cacheme_requests_total counter/)
  t.regex(text, /# TYPE cacheme_load_duration_seconds histogram/)
  const count = text
    .split('\n')
    .filter(
      (line) => line.startsWith('cacheme_load_duration_seconds_count{') && line.includes(`node="${node}"`),
    )
    .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0)
  t.is(count, st.loadCount)
})

test('the README table lists every exported name, OpenTelemetry and Prometheus', (t) => {
  const readme = readFileSync(join(__dirname, '..', '..', '..', 'README.md'), 'utf8')
  for (const figure of [...FIGURES, LOAD_DURATION]) {
    t.true(readme.includes(`\`${figure.name}\``), figure.name)
    t.true(readme.includes(`\`${figure.prometheus}\``), figure.prometheus)
  }
})
