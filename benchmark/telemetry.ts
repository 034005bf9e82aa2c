// What observability costs on the hot path: `await get(node)` local hits, Zipf keys, in one process
// and one run, under each state a service can be in. The first round of "nothing" runs before
// @opentelemetry/api is even loaded; after it, states take turns (rotated each round) and each is
// installed before its turn and closed after it, so that every ratio compares code measured side by
// side. node dist/benchmark/telemetry.js [--quick] [--json FILE]

import { channel } from 'node:diagnostics_channel'
import { Cache, close, get, instrumentOpenTelemetry, Node, registerStorage, Storage } from '../lib'
import { CHANNEL_NAMES } from '../lib/telemetry/channels'
import { machine } from './machine'
import { emit, quick, table } from './section'
import { zipfIds } from './zipf'

const KEYS = 10_000
const OPS = Number(process.env.OPS ?? (quick ? 200_000 : 2_000_000))
const ROUNDS = 8

class ItemNode extends Node<number> {
  static meta = { version: 'v1', caches: [new Cache({ storage: 'local', ttl: null })] }
  constructor(readonly id: number) {
    super()
  }
  key() {
    return `item:${this.id}`
  }
  async load() {
    return this.id
  }
}

async function run(ids: Uint32Array, from: number, to: number): Promise<number> {
  let sum = 0
  for (let i = from; i < to; i++) sum += await get(new ItemNode(ids[i] as number))
  return sum
}

interface State {
  readonly name: string
  /** Share of each round's operations this state runs (slow states run fewer; rates stay per op). */
  readonly share?: number
  /** Installs the state; returns what undoes it. */
  install(): Promise<() => Promise<void>>
}

const nothing: State = { name: 'nothing installed', install: async () => async () => {} }

async function states(): Promise<State[]> {
  const { MeterProvider, MetricReader } = await import('@opentelemetry/sdk-metrics')
  const { BasicTracerProvider, SimpleSpanProcessor } = await import('@opentelemetry/sdk-trace-base')
  const { AsyncLocalStorageContextManager } = await import('@opentelemetry/context-async-hooks')
  const { context } = await import('@opentelemetry/api')
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
  class Reader extends MetricReader {
    protected override async onShutdown(): Promise<void> {}
    protected override async onForceFlush(): Promise<void> {}
  }
  const reader = new Reader()
  const meterProvider = new MeterProvider({ readers: [reader] })
  // Spans are ended and exported to nowhere: the cost measured is cacheme's and the SDK's, not storage.
  const exporter = {
    export: (_spans: unknown[], done: (result: { code: number }) => void) => done({ code: 0 }),
    shutdown: async () => {},
  }
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
  const instrument = (options: Parameters<typeof instrumentOpenTelemetry>[0]) => async () => {
    const handle = instrumentOpenTelemetry(options)
    return async () => {
      await reader.collect()
      handle.close()
    }
  }
  return [
    nothing,
    { name: '@opentelemetry/api, no SDK', install: instrument({}) },
    { name: 'SDK MeterProvider + reader', install: instrument({ meterProvider }) },
    {
      name: 'SDK spans (opt-in)',
      share: 0.05,
      install: instrument({ tracerProvider, spans: true, metrics: false }),
    },
    {
      name: 'a cacheme:get subscriber',
      share: 0.25,
      install: async () => {
        const start = channel(`tracing:${CHANNEL_NAMES.get}:start`)
        const listener = () => {}
        start.subscribe(listener)
        return async () => {
          start.unsubscribe(listener)
        }
      },
    },
  ]
}

async function main(): Promise<void> {
  console.log(`telemetry hot path: await get(node), local hits, ${KEYS} keys, Zipf(1.0), ${OPS} ops`)
  console.log(machine())
  await registerStorage('local', new Storage({ url: 'local://tlfu', size: KEYS * 2 }))
  const ids = zipfIds(KEYS, 1.0, OPS, 11)
  for (let id = 0; id < KEYS; id++) await get(new ItemNode(id))
  await run(ids, 0, Math.min(200_000, OPS)) // JIT warm-up, not timed
  const chunk = Math.ceil(OPS / ROUNDS)
  const elapsed = new Map<string, number>()
  const time = async (state: State, from: number, to: number) => {
    const undo = await state.install()
    const start = process.hrtime.bigint()
    await run(ids, from, to)
    elapsed.set(state.name, (elapsed.get(state.name) ?? 0) + Number(process.hrtime.bigint() - start))
    await undo()
  }
  // Round 0 of "nothing": the package not loaded at all.
  const loadedBefore = Object.keys(require.cache).some((file) => file.includes('@opentelemetry'))
  await time(nothing, 0, chunk)
  const all = await states()
  const totals = new Map<string, number>([[nothing.name, chunk]])
  for (let round = 0; round < ROUNDS; round++) {
    const from = round * chunk
    const to = Math.min(OPS, from + chunk)
    for (let k = 0; k < all.length; k++) {
      const state = all[(round + k) % all.length] as State
      if (round === 0 && state === nothing) continue
      const end = from + Math.ceil((to - from) * (state.share ?? 1))
      await time(state, from, end)
      totals.set(state.name, (totals.get(state.name) ?? 0) + (end - from))
    }
  }
  const rate = (name: string) => (totals.get(name) ?? 0) / ((elapsed.get(name) ?? 1) / 1e9)
  const floor = rate(nothing.name)
  const rows = all.map((state) => {
    const r = rate(state.name)
    return [state.name, Math.round(r).toLocaleString('en-US'), `${(r / floor).toFixed(3)}×`]
  })
  const markdown = [
    machine(),
    '',
    `\`await get(node)\` local hits, ${KEYS.toLocaleString('en-US')} keys, Zipf(1.0) ids, ${OPS.toLocaleString('en-US')} gets in ${ROUNDS} rounds, the states taking turns (rotated each round). "nothing installed" ran its first round before \`@opentelemetry/api\` was loaded (loaded before: ${loadedBefore}). Higher is better.`,
    '',
    table(['state', 'gets/s', '× nothing installed'], rows),
  ].join('\n')
  emit('telemetry', 'What observability costs on the hot path', markdown, {
    keys: KEYS,
    ops: OPS,
    rates: Object.fromEntries(all.map((state) => [state.name, rate(state.name)])),
  })
  await close()
}

main().catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
