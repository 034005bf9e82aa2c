// Spans through the real OpenTelemetry SDK (an in-memory span exporter, the AsyncLocalStorage context
// manager a Node application registers) and node:diagnostics_channel subscribers: spans nest request →
// load → remote call, name the node class and storage but carry no values (keys only when allowed);
// subscribers see start, end, asyncStart/asyncEnd and error for every verb, load and remote call.

import { type TracingChannelSubscribers, tracingChannel } from 'node:diagnostics_channel'
import { context } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base'
import test from 'ava'
import {
  Cache,
  CHANNEL_NAMES,
  close,
  get,
  getAll,
  instrumentOpenTelemetry,
  invalidate,
  Node,
  type OperationContext,
  onError,
  refresh,
} from '../../lib'
import { type Scenario, scenario, VALUE_MARKER } from './telemetry-helpers'

context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
const exporter = new InMemorySpanExporter()
const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
let s: Scenario

test.before(async () => {
  onError(() => {}) // the timeouts below are expected: no process warnings
  s = await scenario('tt')
})

test.after.always(async () => {
  await tracerProvider.shutdown()
  await close()
})

const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId
const idOf = (span: ReadableSpan) => span.spanContext().spanId

test.serial('spans nest request → load → remote call and carry no values', async (t) => {
  const tracing = instrumentOpenTelemetry({ tracerProvider, spans: true, metrics: false })
  t.teardown(() => tracing.close())
  const { Product } = s
  // A node whose loader reads another node: its load span holds that get and its remote calls.
  class Catalog extends Node<number> {
    static meta = { version: 'v1', caches: [new Cache({ storage: s.local, ttl: 1000 })] }
    key() {
      return 'catalog'
    }
    async load() {
      return (await get(new Product(11))).id
    }
  }
  exporter.reset()
  t.is(await get(new Catalog()), 11)
  const spans = exporter.getFinishedSpans()
  const named = (name: string) => spans.filter((span) => span.name === name)
  const gets = named('cacheme.get')
  const outer = gets.find((span) => parentOf(span) === undefined)
  const inner = gets.find((span) => parentOf(span) !== undefined)
  const loads = named('cacheme.load')
  t.truthy(outer)
  t.truthy(inner)
  t.is(parentOf(outer as ReadableSpan), undefined)
  const outerLoad = loads.find((span) => parentOf(span) === idOf(outer as ReadableSpan)) as ReadableSpan
  t.truthy(outerLoad, 'the load is a child of the request')
  t.is(parentOf(inner as ReadableSpan), idOf(outerLoad), 'the inner get runs inside the load')
  const remote = spans.filter((span) => span.name.startsWith('cacheme.storage.'))
  t.deepEqual(remote.map((span) => span.name).sort(), ['cacheme.storage.get', 'cacheme.storage.set'])
  for (const span of remote) t.is(parentOf(span), idOf(inner as ReadableSpan), `${span.name} under its get`)
  t.is(remote[0]?.attributes['cacheme.storage'], s.remote, 'the registered storage name')
  t.is(outer?.attributes['cacheme.node'], 'Catalog')
  t.is(inner?.attributes['cacheme.node'], 'ttProduct')
  const everything = JSON.stringify(spans.map((span) => [span.name, span.attributes, span.events]))
  t.false(everything.includes(VALUE_MARKER), 'no value in any span')
  t.false(everything.includes('tt:11'), 'no key without keys: true')
})

test.serial(
  'keys appear on spans only with keys: true; failures set error status and error.type',
  async (t) => {
    const tracing = instrumentOpenTelemetry({ tracerProvider, spans: true, keys: true, metrics: false })
    t.teardown(() => tracing.close())
    const { Product } = s
    exporter.reset()
    await getAll([new Product(12), new Product(13)])
    await refresh(new Product(12))
    await invalidate(new Product(12))
    await t.throwsAsync(get(new Product(901)))
    const spans = exporter.getFinishedSpans()
    const one = (name: string) => spans.find((span) => span.name === name) as ReadableSpan
    t.deepEqual(one('cacheme.getAll').attributes['cacheme.keys'], ['tt:12', 'tt:13'])
    t.is(one('cacheme.getAll').attributes['cacheme.batch.size'], 2)
    t.is(one('cacheme.refresh').attributes['cacheme.key'], 'tt:12')
    t.is(one('cacheme.invalidate').attributes['cacheme.key'], 'tt:12')
    const failed = spans.filter((span) => span.status.code === 2).map((span) => span.name)
    t.deepEqual(failed.sort(), ['cacheme.get', 'cacheme.load'])
    t.false(JSON.stringify(spans.map((span) => span.attributes)).includes(VALUE_MARKER))
  },
)

test.serial('with spans closed, nothing more is exported', async (t) => {
  const tracing = instrumentOpenTelemetry({ tracerProvider, spans: true, metrics: false })
  tracing.close()
  exporter.reset()
  await get(new s.Product(14))
  t.is(exporter.getFinishedSpans().length, 0)
})

/** Subscribes to `name`'s TracingChannel, recording which events each operation saw. */
function record(name: string) {
  const seen: string[] = []
  const channel = tracingChannel<unknown, OperationContext>(name)
  const handlers: TracingChannelSubscribers<OperationContext> = {
    start: (c) => seen.push(`start ${c.operation} ${c.nodeClass}`),
    end: (c) => seen.push(`end ${c.operation}`),
    asyncStart: (c) => seen.push(`asyncStart ${c.operation}`),
    asyncEnd: (c) => seen.push(`asyncEnd ${c.operation}${c.error === undefined ? '' : ' failed'}`),
    error: (c) => seen.push(`error ${c.operation} ${(c.error as Error).message}`),
  }
  channel.subscribe(handlers)
  return { seen, stop: () => channel.unsubscribe(handlers) }
}

test.serial('diagnostics-channel subscribers see start, end and error of every verb and load', async (t) => {
  const { Product } = s
  const gets = record(CHANNEL_NAMES.get)
  const loads = record(CHANNEL_NAMES.load)
  const writes = [
    record(CHANNEL_NAMES.refresh),
    record(CHANNEL_NAMES.invalidate),
    record(CHANNEL_NAMES.getAll),
  ]
  t.teardown(() => {
    for (const r of [gets, loads, ...writes]) r.stop()
  })
  await get(new Product(21))
  await t.throwsAsync(get(new Product(902)))
  t.deepEqual(gets.seen, [
    'start get ttProduct',
    'end get',
    'asyncStart get',
    'asyncEnd get',
    'start get ttProduct',
    'end get',
    'error get product 902 is not in the source',
    'asyncStart get',
    'asyncEnd get failed',
  ])
  t.deepEqual(
    loads.seen.filter((e) => e.startsWith('start') || e.startsWith('error')),
    ['start load ttProduct', 'start load ttProduct', 'error load product 902 is not in the source'],
  )
  await refresh(new Product(21))
  await invalidate(new Product(21))
  await getAll([new Product(21)])
  t.deepEqual(
    writes.map((r) => r.seen[0]),
    ['start refresh ttProduct', 'start invalidate ttProduct', 'start getAll ttProduct'],
  )
})

test.serial(
  'the storage channel sees each remote call with the storage and the adapter method',
  async (t) => {
    const seen: string[] = []
    const channel = tracingChannel<unknown, { storage: string; call: string; error?: unknown }>(
      CHANNEL_NAMES.storage,
    )
    const handlers = {
      start: (c: { storage: string; call: string }) => seen.push(`${c.call} ${c.storage}`),
      end: () => {},
      asyncStart: () => {},
      asyncEnd: () => {},
      error: (c: { error?: unknown }) => seen.push(`error ${(c.error as { code?: string }).code}`),
    }
    channel.subscribe(handlers)
    t.teardown(() => channel.unsubscribe(handlers))
    s.memory.hang = true
    try {
      await get(new s.Product(31))
    } finally {
      s.memory.hang = false
    }
    t.is(seen[0], `get ${s.remote}`)
    t.is(seen[1], 'error CACHEME_TIMEOUT')
  },
)
