// OpenTelemetry: metrics as observable instruments that read snapshot() when a reader collects (so
// nothing is counted twice, and nothing runs per request), a load duration histogram fed on the load
// path, and opt-in spans for the verbs, each load and each remote call.
//
// Spans run the operation inside `context.with(span)`, so they nest through whatever context manager
// the application registered (every Node SDK setup registers one): a get's loads and remote calls are
// its children, and the spans a loader opens (a database client's) are the load's children. Span
// attributes name the node class, the storage and the operation, never a value; keys only with
// `keys: true`, as keys can be personal data.

import type * as Api from '@opentelemetry/api'
import { InvalidArgumentError } from '../errors'
import { setSpanRunner, type TraceContext } from './channels'
import { on } from './events'
import { FIGURES, type FigureName, LOAD_BUCKETS, LOAD_DURATION, snapshot } from './figures'
import { requirePeer } from './peer'

/** Structural stand-ins for the API's providers, so that cacheme's types do not need the package. */
export interface MeterProviderLike {
  getMeter(name: string, version?: string): unknown
}
export interface TracerProviderLike {
  getTracer(name: string, version?: string): unknown
}

export interface OpenTelemetryOptions {
  /** Where instruments are created; default the global MeterProvider (metrics.getMeterProvider()). */
  readonly meterProvider?: MeterProviderLike
  /** Where spans are created; default the global TracerProvider. */
  readonly tracerProvider?: TracerProviderLike
  /** Export the metrics (default true). */
  readonly metrics?: boolean
  /** Spans for get, getAll, refresh, invalidate, each load and each remote call (default false). */
  readonly spans?: boolean
  /** Put keys on spans (`cacheme.key`, `cacheme.keys`); default false, as keys can be personal data. */
  readonly keys?: boolean
}

export interface Instrumentation {
  /** Stops exporting: removes the instruments' callback, the load histogram's feed and the spans. */
  close(): void
}

const SCOPE = 'cacheme'
let spansInstalled = false

/**
 * Exports cacheme's figures (README, "Metrics and tracing") through OpenTelemetry, and its operations as
 * spans when `spans` is true. Needs `@opentelemetry/api`; loads it only when called.
 */
export function instrumentOpenTelemetry(options: OpenTelemetryOptions = {}): Instrumentation {
  const api = requirePeer<typeof Api>('@opentelemetry/api', 'instrumentOpenTelemetry')
  if (options.spans === true && spansInstalled) {
    throw new InvalidArgumentError(
      'CACHEME_INVALID_ARGUMENT',
      'cacheme spans are already on: close() the previous instrumentation first',
    )
  }
  const stops: (() => void)[] = []
  if (options.metrics !== false) {
    const provider = (options.meterProvider ?? api.metrics.getMeterProvider()) as Api.MeterProvider
    stops.push(exportMetrics(provider.getMeter(SCOPE)))
  }
  if (options.spans === true) {
    const provider = (options.tracerProvider ?? api.trace.getTracerProvider()) as Api.TracerProvider
    setSpanRunner(spanRunner(api, provider.getTracer(SCOPE), options.keys === true))
    spansInstalled = true
    stops.push(() => {
      setSpanRunner(undefined)
      spansInstalled = false
    })
  }
  let open = true
  return {
    close() {
      if (!open) return
      open = false
      for (const stop of stops) stop()
    },
  }
}

function exportMetrics(meter: Api.Meter): () => void {
  const instruments = new Map<FigureName, Api.Observable>()
  for (const figure of FIGURES) {
    const options = { description: figure.description, unit: figure.unit }
    instruments.set(
      figure.name,
      figure.kind === 'counter'
        ? meter.createObservableCounter(figure.name, options)
        : meter.createObservableGauge(figure.name, options),
    )
  }
  const observe: Api.BatchObservableCallback = (result) => {
    for (const figure of snapshot()) {
      result.observe(instruments.get(figure.name) as Api.Observable, figure.value, figure.attributes)
    }
  }
  const observables = [...instruments.values()]
  meter.addBatchObservableCallback(observe, observables)
  const histogram = meter.createHistogram(LOAD_DURATION.name, {
    description: LOAD_DURATION.description,
    unit: LOAD_DURATION.unit,
    advice: { explicitBucketBoundaries: LOAD_BUCKETS },
  })
  const stopLoads = on('load', (load) => {
    histogram.record(load.duration / 1000, {
      'cacheme.node': load.node,
      'cacheme.result': load.ok ? 'success' : 'failure',
    })
  })
  return () => {
    meter.removeBatchObservableCallback(observe, observables)
    stopLoads()
  }
}

function spanRunner(api: typeof Api, tracer: Api.Tracer, keys: boolean) {
  return (context: TraceContext, run: () => Promise<unknown>): Promise<unknown> => {
    const parent = api.context.active()
    const span = tracer.startSpan(
      context.operation === 'storage' ? `cacheme.storage.${context.call}` : `cacheme.${context.operation}`,
      {
        kind: context.operation === 'storage' ? api.SpanKind.CLIENT : api.SpanKind.INTERNAL,
        attributes: attributesOf(context, keys),
      },
      parent,
    )
    let running: Promise<unknown>
    try {
      running = api.context.with(api.trace.setSpan(parent, span), run)
    } catch (error) {
      running = Promise.reject(error)
    }
    return running.then(
      (value) => {
        span.end()
        return value
      },
      (error: unknown) => {
        span.recordException(error instanceof Error ? error : String(error))
        span.setStatus({
          code: api.SpanStatusCode.ERROR,
          message: error instanceof Error ? error.message : String(error),
        })
        if (typeof (error as { code?: unknown })?.code === 'string') {
          span.setAttribute('error.type', (error as { code: string }).code)
        }
        span.end()
        throw error
      },
    )
  }
}

function attributesOf(context: TraceContext, keys: boolean): Api.Attributes {
  if (context.operation === 'storage') {
    return { 'cacheme.storage': context.storage, 'cacheme.operation': context.call }
  }
  const attributes: Api.Attributes = {
    'cacheme.node': context.nodeClass,
    'cacheme.operation': context.operation,
  }
  if (context.operation === 'getAll' || context.nodes.length !== 1) {
    attributes['cacheme.batch.size'] = context.nodes.length
  }
  if (keys) {
    const found = context.nodes.map(keyOf)
    if (context.operation === 'getAll' || found.length !== 1) attributes['cacheme.keys'] = found
    else attributes['cacheme.key'] = found[0] as string
  }
  return attributes
}

/** The node's key() (not the stored key: no prefix, no version), or '' if it throws. */
function keyOf(node: { key(): unknown }): string {
  try {
    const key = node.key()
    return typeof key === 'string' ? key : ''
  } catch {
    return ''
  }
}
