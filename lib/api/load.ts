// Calling a node's loader, timed: the load count, failures and time go to the class's metrics in Rust.
// A node with a hardTimeout gets an AbortSignal and a deadline (boundedLoad); other nodes call their
// loader exactly as before that option existed.

import { LoadError, NodeDefinitionError } from '../errors'
import { native } from '../native'
import type { LoadOptions, Node } from '../node'
import type { NodeRuntime } from '../runtime/record'
import { channels, operation, trace, traced } from '../telemetry/channels'
import { loadEnded, watching } from '../telemetry/events'

/** Another loader than node.load (memoize's wrapped function). */
export type Loader = () => unknown

/**
 * Nanoseconds since `start` (a performance.now() reading). performance.now() is a double with
 * sub-microsecond resolution: load times need no more, and unlike process.hrtime.bigint() it
 * allocates nothing, which shows on refresh, a load per call.
 */
export function nanosSince(start: number): number {
  return (performance.now() - start) * 1e6
}

/**
 * The value of `node` from its loader (node.load unless `loader` is given), timed. Not async: one
 * derived promise per load, no async frame; a loader that throws synchronously rejects.
 */
export function timedLoad(
  runtime: NodeRuntime,
  node: Node<unknown>,
  loader: Loader | undefined,
): Promise<unknown> {
  if (traced(channels.load)) {
    return trace(channels.load, operation('load', [node]), () => untracedLoad(runtime, node, loader))
  }
  return untracedLoad(runtime, node, loader)
}

function untracedLoad(
  runtime: NodeRuntime,
  node: Node<unknown>,
  loader: Loader | undefined,
): Promise<unknown> {
  const start = performance.now()
  let loading: unknown
  try {
    const hard = runtime.fresh?.hardTimeout
    if (hard)
      loading = boundedLoad(runtime, hard, (options) =>
        loader === undefined ? node.load(options) : loader(),
      )
    else loading = loader === undefined ? node.load() : loader()
  } catch (error) {
    recordLoad(runtime, false, nanosSince(start), error)
    return Promise.reject(error)
  }
  return Promise.resolve(loading).then(
    (value) => {
      recordLoad(runtime, true, nanosSince(start), undefined)
      return value
    },
    (error: unknown) => {
      recordLoad(runtime, false, nanosSince(start), error)
      throw error
    },
  )
}

/** Counts a load in Rust (the source of every load figure) and tells 'load' listeners, if any. */
function recordLoad(runtime: NodeRuntime, ok: boolean, nanos: number, error: unknown): void {
  native.metricsRecordLoad(runtime.metricsId, ok, nanos)
  if (watching.loads) loadEnded(runtime.name, ok, nanos, error)
}

export type LoadResult =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly error: unknown }

/** Loads `nodes` with the class's loadAll (one call, its time split evenly), else concurrently. */
export async function loadMany(runtime: NodeRuntime, nodes: readonly Node<unknown>[]): Promise<LoadResult[]> {
  const loadAll = runtime.loadAll
  if (loadAll === undefined) {
    return Promise.all(
      nodes.map((node) =>
        timedLoad(runtime, node, undefined).then(
          (value): LoadResult => ({ ok: true, value }),
          (error: unknown): LoadResult => ({ ok: false, error }),
        ),
      ),
    )
  }
  const start = performance.now()
  const hard = runtime.fresh?.hardTimeout
  const call = () =>
    hard ? boundedLoad(runtime, hard, (options) => loadAll(nodes, options)) : loadAll(nodes)
  let results: LoadResult[]
  try {
    const loaded = await (traced(channels.load)
      ? trace(channels.load, operation('load', nodes), call)
      : call())
    if (!Array.isArray(loaded) || loaded.length !== nodes.length) {
      throw new NodeDefinitionError(
        'CACHEME_INVALID_NODE',
        `${runtime.name}.loadAll must resolve to an array with one value per node, in order ` +
          `(${nodes.length} nodes; got ${Array.isArray(loaded) ? `${loaded.length} values` : typeof loaded})`,
      )
    }
    results = loaded.map((value): LoadResult => ({ ok: true, value }))
  } catch (error) {
    results = nodes.map((): LoadResult => ({ ok: false, error }))
  }
  const share = nanosSince(start) / nodes.length
  for (const result of results) recordLoad(runtime, result.ok, share, result.ok ? undefined : result.error)
  return results
}

/**
 * `run` given a signal and `ms` to settle: past that, the signal aborts and the returned promise
 * rejects with a LoadError (CACHEME_TIMEOUT); whatever `run` settles to later is dropped. A loader
 * that throws synchronously rejects.
 */
function boundedLoad(
  runtime: NodeRuntime,
  ms: number,
  run: (options: LoadOptions) => unknown,
): Promise<unknown> {
  const controller = new AbortController()
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      runtime.hardTimeouts++
      const error = new LoadError(
        'CACHEME_TIMEOUT',
        `${runtime.name}: the load took longer than its hardTimeout of ${ms} ms and was abandoned`,
      )
      controller.abort(error)
      reject(error)
    }, ms)
    // The load itself keeps the process alive if it needs to; its deadline must not.
    timer.unref()
    const settle = () => clearTimeout(timer)
    let loading: unknown
    try {
      loading = run({ signal: controller.signal })
    } catch (error) {
      loading = Promise.reject(error)
    }
    // Settling an already rejected promise is a no-op, so a load ending after its deadline is dropped.
    Promise.resolve(loading).then(
      (value) => {
        settle()
        resolve(value)
      },
      (error: unknown) => {
        settle()
        reject(error)
      },
    )
  })
}
