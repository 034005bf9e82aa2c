// The Rust core alone: runs `cargo bench -p cacheme-core --features replay` (criterion, src-rs/core/benches/core.rs)
// and turns its estimates into a table, each cache operation as a multiple of its floor measured in
// the same run (a HashMap with the same keys and hasher doing the bare lookup, or a bounded FIFO
// insert). No JavaScript is involved: this is what a get or an insert costs once inside Rust.
//
//   node dist/benchmark/rust-core.js [--quick] [--json FILE]

import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { emit, quick, ROOT, table, times } from './section'

interface Estimate {
  /** Criterion's id: `group/function`. */
  id: string
  group: string
  name: string
  /** Mean time per operation, ns. */
  nanos: number
}

/** What each benchmark does, for the table. */
const WHAT: Readonly<Record<string, string>> = {
  'get/hit': 'get of a present key (Zipf 1.0 over 100k keys)',
  'get/miss': 'get of an absent key',
  'insert/evict': 'insert of a new key into a full cache of 10k (one eviction)',
  'insert/ttl_evict': 'the same with a TTL (timer wheel scheduling)',
  'insert/weighted_evict': 'the same, bounded by weight (weights 1 to 3; evictions until the weight fits)',
  'insert/ttl_update': 'overwrite of a present key with a TTL',
  bloom: 'Bloom doorkeeper (no floor: a bit array probe)',
}

/** Estimates criterion wrote since `sinceMs` (it keeps older benchmarks' results in place). */
function readEstimates(sinceMs: number): Estimate[] {
  const root = join(ROOT, 'target', 'criterion')
  const found: Estimate[] = []
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue
      const path = join(dir, entry.name)
      const estimatesFile = join(path, 'estimates.json')
      if (entry.name === 'new' && existsSync(estimatesFile) && statSync(estimatesFile).mtimeMs >= sinceMs) {
        const meta = JSON.parse(readFileSync(join(path, 'benchmark.json'), 'utf8')) as {
          group_id: string
          function_id: string
          full_id: string
        }
        const estimates = JSON.parse(readFileSync(estimatesFile, 'utf8')) as {
          mean: { point_estimate: number }
        }
        found.push({
          id: meta.full_id,
          group: meta.group_id,
          name: meta.function_id,
          nanos: estimates.mean.point_estimate,
        })
      } else walk(path)
    }
  }
  if (existsSync(root)) walk(root)
  return found
}

function main(): void {
  const started = Date.now()
  // Criterion's own flags: shorter runs for --quick (figures then only show the bench still works).
  const timing = quick ? ['--warm-up-time', '0.2', '--measurement-time', '0.3'] : []
  const run = spawnSync(
    'cargo',
    ['bench', '-p', 'cacheme-core', '--features', 'replay', '--bench', 'core', '--', ...timing],
    {
      cwd: ROOT,
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  )
  if (run.status !== 0) throw new Error(`cargo bench failed (${run.status ?? run.signal})`)
  const estimates = readEstimates(started)
  const byGroup = new Map<string, Estimate[]>()
  for (const estimate of estimates) {
    const list = byGroup.get(estimate.group) ?? []
    list.push(estimate)
    byGroup.set(estimate.group, list)
  }
  const rows: (string | number)[][] = []
  for (const group of ['get', 'insert', 'bloom']) {
    const list = (byGroup.get(group) ?? []).sort((a, b) => a.name.localeCompare(b.name))
    for (const estimate of list) {
      const [operation] = estimate.name.split('/') as [string]
      // A TTL or weighted variant is compared with the floor of the same operation without one; an
      // overwrite (ttl_update) has no floor here.
      const floor = list.find(
        (e) => e.name === `${operation.replace(/^(ttl|weighted)_/, '')}/hashmap (floor)`,
      )
      rows.push([
        `\`${estimate.id}\``,
        WHAT[`${group}/${operation}`] ?? WHAT[group] ?? '',
        estimate.nanos.toFixed(1),
        floor === undefined ? '—' : times(estimate.nanos / floor.nanos),
      ])
    }
  }
  const markdown = [
    'Criterion (`cargo bench -p cacheme-core --features replay`; 0.5 s warm-up, 1 s measurement, 10 samples per benchmark' +
      `${quick ? ', shortened by --quick' : ''}), mean time per operation. Each cache operation is a multiple of ` +
      'its floor from the same run: a `HashMap<Vec<u8>, u32>` with the same keys and hasher (foldhash) doing ' +
      'the bare lookup, or a bounded insert (FIFO removal, no policy). Lower is better; below 1× means the ' +
      'cache beats a plain map.',
    table(['benchmark', 'what', 'ns/op', '× floor'], rows, ['---', '---']),
  ].join('\n\n')
  emit('rust-core', 'Rust core (criterion)', markdown, { estimates, seconds: (Date.now() - started) / 1000 })
}

main()
