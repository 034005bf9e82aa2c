// node:diagnostics_channel TracingChannels for the verbs, the loads and the remote round trips, so
// that APM agents (and OpenTelemetry instrumentations) can subscribe without cacheme knowing them;
// and the hook the OpenTelemetry integration (otel.ts) installs to run the same operations in spans.
//
// A verb asks `traced(channel)` before anything else and takes its usual path when it is false: a
// diagnostics channel's hasSubscribers is a getter that V8 inlines, and the span hook is one module
// variable, so an operation nobody watches pays two loads and a branch (benchmark/telemetry.ts).
// Contexts carry the node objects, never values: a subscriber that wants keys calls key() itself.

import { type TracingChannel, tracingChannel } from 'node:diagnostics_channel'
import type { Node } from '../node'

export type Operation = 'get' | 'getAll' | 'load' | 'refresh' | 'invalidate'

/** What subscribers of a verb's or a load's channel receive (tracePromise adds result or error). */
export interface OperationContext {
  readonly operation: Operation
  /** Node class name. */
  readonly nodeClass: string
  /** The nodes concerned: one for get, refresh, invalidate and a single load; a loadAll's batch. */
  readonly nodes: readonly Node<unknown>[]
  result?: unknown
  error?: unknown
}

/** What subscribers of `cacheme:storage` receive: one call to a remote storage. */
export interface StorageContext {
  readonly operation: 'storage'
  /** The storage as its timeout errors name it (`redis storage`, `storage "name"` for an adapter). */
  readonly storage: string
  /** The adapter method: get, getMany, set, setMany, remove. */
  readonly call: string
  result?: unknown
  error?: unknown
}

export type TraceContext = OperationContext | StorageContext

export const CHANNEL_NAMES = {
  get: 'cacheme:get',
  getAll: 'cacheme:getAll',
  load: 'cacheme:load',
  refresh: 'cacheme:refresh',
  invalidate: 'cacheme:invalidate',
  storage: 'cacheme:storage',
} as const

export const channels = {
  get: tracingChannel<unknown, OperationContext>(CHANNEL_NAMES.get),
  getAll: tracingChannel<unknown, OperationContext>(CHANNEL_NAMES.getAll),
  load: tracingChannel<unknown, OperationContext>(CHANNEL_NAMES.load),
  refresh: tracingChannel<unknown, OperationContext>(CHANNEL_NAMES.refresh),
  invalidate: tracingChannel<unknown, OperationContext>(CHANNEL_NAMES.invalidate),
  storage: tracingChannel<unknown, StorageContext>(CHANNEL_NAMES.storage),
}

/** Runs `run` inside a span for `context` (otel.ts); undefined while spans are off. */
export type SpanRunner = (context: TraceContext, run: () => Promise<unknown>) => Promise<unknown>
let spans: SpanRunner | undefined

export function setSpanRunner(runner: SpanRunner | undefined): void {
  spans = runner
}

/** Whether an operation on `channel` must go through trace(): spans are on or someone subscribed. */
export function traced<C extends object>(channel: TracingChannel<unknown, C>): boolean {
  return spans !== undefined || channel.hasSubscribers
}

/** `run` published on `channel` (start, end, asyncStart, asyncEnd, error) and inside a span if on. */
export function trace<T, C extends TraceContext>(
  channel: TracingChannel<unknown, C>,
  context: C,
  run: () => Promise<T>,
): Promise<T> {
  const runner = spans
  const inner = runner === undefined ? run : () => runner(context, run) as Promise<T>
  return channel.hasSubscribers ? channel.tracePromise(inner, context) : inner()
}

/** The context of an operation on `nodes` of one class. */
export function operation(op: Operation, nodes: readonly Node<unknown>[]): OperationContext {
  const first = nodes[0] as { constructor?: { name?: string } } | undefined
  return { operation: op, nodeClass: first?.constructor?.name ?? '', nodes }
}
