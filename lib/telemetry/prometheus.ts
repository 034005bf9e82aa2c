// Prometheus through prom-client: one counter or gauge per figure, filled from snapshot() when the
// registry is scraped (prom-client's collect()), and the load duration histogram fed on the load path.
// Names follow Prometheus conventions (FIGURES' `prometheus`: _total, _seconds; labels node,
// storage, result…).

import type * as PromClient from 'prom-client'
import { on } from './events'
import { FIGURES, type Figure, LABELS, LOAD_BUCKETS, LOAD_DURATION, snapshot } from './figures'
import type { Instrumentation } from './otel'
import { requirePeer } from './peer'

/** A prom-client Registry, typed structurally so that cacheme's types do not need the package. */
export interface PrometheusRegistryLike {
  registerMetric(metric: never): void
  removeSingleMetric(name: string): void
}

/**
 * Registers cacheme's figures (README, "Metrics and tracing") on `registry` (default prom-client's global
 * registry). Needs `prom-client`; loads it only when called. close() unregisters them.
 */
export function registerPrometheus(registry?: PrometheusRegistryLike): Instrumentation {
  const prom = requirePeer<typeof PromClient>('prom-client', 'registerPrometheus')
  const target = (registry ?? prom.register) as PromClient.Registry
  // One snapshot per scrape: the registry collects every metric in one synchronous pass.
  let current: Map<string, Figure[]> | undefined
  const figures = (name: string): readonly Figure[] => {
    if (current === undefined) {
      const taken = new Map<string, Figure[]>()
      for (const figure of snapshot()) {
        const list = taken.get(figure.name)
        if (list === undefined) taken.set(figure.name, [figure])
        else list.push(figure)
      }
      current = taken
      queueMicrotask(() => {
        current = undefined
      })
    }
    return current.get(name) ?? []
  }
  const names: string[] = []
  for (const figure of FIGURES) {
    const labelNames = figure.attributes.map((key) => LABELS[key] as string)
    const base = { name: figure.prometheus, help: figure.description, labelNames, registers: [target] }
    if (figure.kind === 'counter') {
      new prom.Counter({
        ...base,
        collect() {
          this.reset()
          for (const point of figures(figure.name)) this.inc(labelsOf(point.attributes), point.value)
        },
      })
    } else {
      new prom.Gauge({
        ...base,
        collect() {
          this.reset()
          for (const point of figures(figure.name)) this.set(labelsOf(point.attributes), point.value)
        },
      })
    }
    names.push(figure.prometheus)
  }
  const histogram = new prom.Histogram({
    name: LOAD_DURATION.prometheus,
    help: LOAD_DURATION.description,
    labelNames: LOAD_DURATION.attributes.map((key) => LABELS[key] as string),
    buckets: LOAD_BUCKETS,
    registers: [target],
  })
  names.push(LOAD_DURATION.prometheus)
  const stopLoads = on('load', (load) => {
    histogram.observe({ node: load.node, result: load.ok ? 'success' : 'failure' }, load.duration / 1000)
  })
  let open = true
  return {
    close() {
      if (!open) return
      open = false
      stopLoads()
      for (const name of names) target.removeSingleMetric(name)
    },
  }
}

function labelsOf(attributes: Readonly<Record<string, string>>): Record<string, string> {
  const labels: Record<string, string> = {}
  for (const [key, value] of Object.entries(attributes)) labels[LABELS[key] as string] = value
  return labels
}
