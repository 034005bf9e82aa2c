// Hit ratio of local://tlfu and local://lru against Bélády's optimal and lru-cache, on the shared
// traces (benchmark/traces) and Zipf streams, plus the plot benchmark/hit-ratio.png.
//
// The Rust example `replay` (src-rs/core/examples/replay.rs) replays the cache core's policies and
// writes its figures as JSON and every request stream as a file; lru-cache is then replayed here on
// exactly those streams (the JavaScript peer), and must agree with our LRU to the request.
//
//   node dist/benchmark/hit-ratio.js [--quick] [--json FILE]

import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LRUCache } from 'lru-cache'
import { emit, OUT_DIR, quick, ROOT, table } from './section'

interface Row {
  size: number
  tlfu: number
  tlfuFixed: number
  lru: number
  optimal: number
  publishedTinyLfu?: number
  publishedLru?: number
  publishedOptimal?: number
  /** lru-cache replayed on the same stream (filled in here). */
  lruCache?: number
}

interface Workload {
  id: string
  title: string
  requests: number
  distinctKeys: number
  rows: Row[]
}

const ZIPF_REQUESTS = quick ? 100_000 : 1_000_000

/** Runs the Rust replay; returns its figures and the directory holding the streams. */
function replayInRust(dir: string): Workload[] {
  const json = join(dir, 'hit-ratio.json')
  execFileSync(
    'cargo',
    [
      'run',
      '--quiet',
      '--release',
      '-p',
      'cacheme-core',
      '--features',
      'replay',
      '--example',
      'replay',
      '--',
      '--zipf',
      '--recency',
      '--requests',
      String(ZIPF_REQUESTS),
      '--json',
      json,
      '--streams',
      dir,
    ],
    { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] },
  )
  return (JSON.parse(readFileSync(json, 'utf8')) as { workloads: Workload[] }).workloads
}

/** lru-cache's hit ratio on a stream: a get per request and a set on a miss (Caffeine's replay). */
function lruCacheHitRatio(stream: Uint32Array, size: number): number {
  const cache = new LRUCache<number, true>({ max: size })
  let hits = 0
  for (let i = 0; i < stream.length; i++) {
    const key = stream[i] as number
    if (cache.get(key) === undefined) cache.set(key, true)
    else hits++
  }
  return hits / stream.length
}

function readStream(dir: string, id: string): Uint32Array {
  const bytes = readFileSync(join(dir, `${id}.u32`))
  const stream = new Uint32Array(bytes.length / 4)
  for (let i = 0; i < stream.length; i++) stream[i] = bytes.readUInt32LE(i * 4)
  return stream
}

const POLICIES = ['cacheme tlfu', 'cacheme lru', 'lru-cache (JS)', 'optimal (Bélády)'] as const

/** Renders hit ratio against cache size, one panel per workload, with vega-lite → SVG → PNG. */
async function plot(workloads: Workload[], file: string): Promise<void> {
  const values = workloads.flatMap((w) =>
    w.rows.flatMap((r) =>
      (
        [
          ['cacheme tlfu', r.tlfu],
          ['cacheme lru', r.lru],
          ['lru-cache (JS)', r.lruCache ?? Number.NaN],
          ['optimal (Bélády)', r.optimal],
        ] as const
      ).map(([policy, ratio]) => ({ workload: w.title, size: r.size, policy, hitRatio: 100 * ratio })),
    ),
  )
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'Hit ratio against cache size', subtitle: 'lru-cache (dashed) replays the same streams' },
    data: { values },
    facet: { field: 'workload', type: 'nominal', title: null, sort: workloads.map((w) => w.title) },
    columns: 3,
    spec: {
      width: 300,
      height: 210,
      mark: { type: 'line', point: { size: 28 }, strokeWidth: 2 },
      encoding: {
        x: { field: 'size', type: 'quantitative', title: 'cache size (entries)' },
        y: { field: 'hitRatio', type: 'quantitative', title: 'hit ratio (%)', scale: { zero: false } },
        color: {
          field: 'policy',
          type: 'nominal',
          title: null,
          scale: { domain: [...POLICIES], range: ['#d62728', '#1f77b4', '#ff7f0e', '#2ca02c'] },
        },
        strokeDash: {
          field: 'policy',
          type: 'nominal',
          title: null,
          scale: {
            domain: [...POLICIES],
            range: [
              [1, 0],
              [1, 0],
              [6, 4],
              [2, 2],
            ],
          },
        },
      },
    },
    resolve: { scale: { x: 'independent', y: 'independent' } },
    config: { font: 'DejaVu Sans', background: 'white', legend: { orient: 'bottom' } },
  }
  // vega and vega-lite ship as ES modules only: imported dynamically from this CommonJS build.
  const vegaLite = await import('vega-lite')
  const vega = await import('vega')
  const compiled = vegaLite.compile(spec as unknown as Parameters<typeof vegaLite.compile>[0]).spec
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' })
  const svg = await view.toSVG()
  view.finalize()
  const { Resvg } = await import('@resvg/resvg-js')
  const png = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: 2 },
    background: 'white',
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' },
  })
    .render()
    .asPng()
  writeFileSync(file, png)
}

const pct = (ratio: number | undefined) => (ratio === undefined ? '' : (100 * ratio).toFixed(2))

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'cacheme-hit-ratio-'))
  try {
    const started = performance.now()
    const workloads = replayInRust(dir)
    const rustSeconds = (performance.now() - started) / 1000
    const mismatches: string[] = []
    let pairs = 0
    for (const w of workloads) {
      const stream = readStream(dir, w.id)
      for (const r of w.rows) {
        r.lruCache = lruCacheHitRatio(stream, r.size)
        pairs++
        // The JSON carries six decimals; one request of a million is 1e-6.
        if (Math.abs(r.lruCache - r.lru) > 1.5e-6) mismatches.push(`${w.id}@${r.size}`)
      }
    }
    mkdirSync(OUT_DIR, { recursive: true })
    const png = join(OUT_DIR, 'hit-ratio.png')
    await plot(workloads, png)

    const parts: string[] = [
      `Replay as in Caffeine's simulator: a get per request, an insert on a miss; hit ratio in %. ` +
        `Zipf: 100,000 keys, ${ZIPF_REQUESTS.toLocaleString('en-US')} requests (seed 1), sizes 0.5–20% of ` +
        'the keys. Three synthetic recency-biased streams of as many requests (src-rs/core/src/replay.rs: a ' +
        'Zipf hot set that drifts, re-reads biased to the newest keys, and phases alternating the two ' +
        'kinds), sizes 250–8,000, where a fixed 1% window trails LRU. Traces at the sizes Caffeine publishes. tlfu = local://tlfu (adaptive window); ' +
        'tlfu-fixed = the same with a fixed 1% window (what Caffeine publishes as W-TinyLFU); lru = ' +
        'local://lru; lru-cache = the npm package replayed in Node on the identical stream; optimal = ' +
        "Bélády's clairvoyant policy (the ceiling). Streams shorter than 1M requests are replayed under " +
        'several hash seeds and averaged (Glimpse: 32 replays) so a single seed cannot flatter tlfu.',
      mismatches.length === 0
        ? `lru-cache agreed with cacheme's lru on all ${pairs} workload × size pairs (to the request).`
        : `**lru-cache disagreed with cacheme's lru** on ${mismatches.join(', ')}.`,
      `Rust replay ${rustSeconds.toFixed(1)} s. Plot: [hit-ratio.png](hit-ratio.png).`,
    ]
    for (const w of workloads) {
      const published = w.rows.some((r) => r.publishedTinyLfu !== undefined)
      const header = [
        'size',
        'tlfu',
        'tlfu-fixed',
        'lru',
        'lru-cache',
        'optimal',
        'tlfu − lru-cache (points)',
        'tlfu × lru-cache',
        'tlfu / optimal',
      ]
      if (published) header.push('published W-TinyLFU', 'published LRU', 'published optimal')
      const rows = w.rows.map((r) => {
        const js = r.lruCache ?? Number.NaN
        const row: (string | number)[] = [
          r.size.toLocaleString('en-US'),
          pct(r.tlfu),
          pct(r.tlfuFixed),
          pct(r.lru),
          pct(js),
          pct(r.optimal),
          (100 * (r.tlfu - js)).toFixed(2),
          js > 0 ? `${(r.tlfu / js).toFixed(2)}×` : '—',
          r.optimal > 0 ? `${((100 * r.tlfu) / r.optimal).toFixed(1)}%` : '—',
        ]
        if (published) row.push(pct(r.publishedTinyLfu), pct(r.publishedLru), pct(r.publishedOptimal))
        return row
      })
      parts.push(
        `#### ${w.title} — ${w.requests.toLocaleString('en-US')} requests, ` +
          `${w.distinctKeys.toLocaleString('en-US')} distinct keys\n\n${table(header, rows)}`,
      )
    }
    emit('hit-ratio', 'Hit ratio', parts.join('\n\n'), { zipfRequests: ZIPF_REQUESTS, workloads })
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

main().catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
