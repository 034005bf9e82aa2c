// `npm run soak`: the full soak: 10M mixed operations with TTLs on the local storage,
// then 1M through a local tier in front of Redis — printing RSS and heap (after a full GC) as the
// operations go, then the curve as a table and a verdict on growth after warm-up.
//
//   node --expose-gc dist/scripts/soak.js [--local 10000000] [--redis 1000000] [--samples 20]
//        [--concurrency 32] [--max-ttl 3000] [--seed 1] [--redis-url redis://…] [--out samples.json]
//        [--quiet]   (no progress lines: only the table and the verdict)
//
// Exits 1 if memory grew after warm-up by more than the bounds below (or an operation failed).

import { writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { growth, runSoak, type SoakPhase, type SoakSample } from '../__test__/reliability/soak'

/** After warm-up, heapUsed (after a full GC) may move this much: noise, not a leak. */
const HEAP_BOUND = 8 * 2 ** 20
/** RSS also holds freed pages the allocator has not returned; a wider bound. */
const RSS_BOUND = 64 * 2 ** 20

function option(name: string, fallback: number): number
function option(name: string): string | undefined
function option(name: string, fallback?: number): number | string | undefined {
  const at = process.argv.lastIndexOf(`--${name}`) // the last one wins
  const raw = at < 0 ? undefined : process.argv[at + 1]
  if (fallback === undefined) return raw
  if (raw === undefined) return fallback
  const value = Number(raw.replaceAll('_', ''))
  if (!Number.isInteger(value) || value < 0) throw new Error(`--${name} needs a whole number; got ${raw}`)
  return value
}

const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1)
const row = (s: SoakSample) =>
  `${s.phase.padEnd(6)} ${s.ops.toLocaleString('en').padStart(11)} ${mib(s.rssBytes).padStart(8)} ` +
  `${mib(s.heapUsedBytes).padStart(8)} ${mib(s.externalBytes).padStart(8)} ${(s.elapsedMs / 1000).toFixed(1).padStart(8)}`
const HEADER = `${'phase'.padEnd(6)} ${'ops'.padStart(11)} ${'RSS MiB'.padStart(8)} ${'heap MiB'.padStart(8)} ${'ext MiB'.padStart(8)} ${'s'.padStart(8)}`

async function main(): Promise<number> {
  const localOps = option('local', 10_000_000)
  const redisOps = option('redis', 1_000_000)
  const out = option('out')
  const redisUrl = option('redis-url')
  console.log(
    `soak: ${localOps.toLocaleString('en')} local ops, ${redisOps.toLocaleString('en')} local+Redis ops; ` +
      `node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'} (shared machine)`,
  )
  const quiet = process.argv.includes('--quiet')
  if (!quiet) console.log(HEADER)
  const result = await runSoak({
    localOps,
    redisOps,
    samples: option('samples', 20),
    concurrency: option('concurrency', 32),
    seed: option('seed', 1),
    maxTtl: option('max-ttl', 3000),
    ...(redisUrl === undefined ? {} : { redisUrl }),
    onSample: (s) => {
      if (!quiet) console.log(row(s))
    },
  })
  const { samples } = result
  if (out !== undefined) writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`)

  console.log(`${quiet ? '' : '\n'}curve (RSS and heapUsed after a full GC):`)
  console.log(HEADER)
  for (const s of samples) console.log(row(s))
  const first = samples[0]
  const last = samples[samples.length - 1]
  if (first !== undefined && last !== undefined) {
    console.log(`\nRSS before the soak ${mib(first.rssBytes)} MiB, after ${mib(last.rssBytes)} MiB`)
  }
  for (const [name, counters] of Object.entries(result.storages)) {
    console.log(
      `${name}: ${counters.evictions.toLocaleString('en')} evictions, ` +
        `${counters.expirations.toLocaleString('en')} expirations`,
    )
  }
  console.log(`absorbed errors ${result.absorbedErrors}, failed operations ${result.failedOps}`)
  let ok = result.failedOps === 0
  for (const phase of ['local', 'redis'] as SoakPhase[]) {
    const g = growth(samples, phase)
    if (g === undefined) continue
    const flat = g.heapGrowthBytes <= HEAP_BOUND && g.rssGrowthBytes <= RSS_BOUND
    ok &&= flat
    console.log(
      `${phase}: after warm-up (${g.from.ops.toLocaleString('en')} ops) to the end ` +
        `(${g.to.ops.toLocaleString('en')}): RSS ${mib(g.from.rssBytes)} → ${mib(g.to.rssBytes)} MiB ` +
        `(${g.rssGrowthBytes >= 0 ? '+' : ''}${mib(g.rssGrowthBytes)}), heap ${mib(g.from.heapUsedBytes)} → ` +
        `${mib(g.to.heapUsedBytes)} MiB (${g.heapGrowthBytes >= 0 ? '+' : ''}${mib(g.heapGrowthBytes)}, peak ` +
        `+${mib(g.heapPeakGrowthBytes)}): ${flat ? 'flat' : 'GROWING'} ` +
        `(bounds: heap ${mib(HEAP_BOUND)}, RSS ${mib(RSS_BOUND)} MiB)`,
    )
  }
  console.log(`verdict: ${ok ? 'memory flat after warm-up' : 'FAILED'}`)
  return ok ? 0 : 1
}

main().then(
  (code) => {
    process.exitCode = code
  },
  (error: unknown) => {
    console.error(error)
    process.exitCode = 1
  },
)
