// `npm run bench`: runs every benchmark section, each in its own Node process (so V8 state, heap
// and JIT do not leak from one section into the next), collects their JSON into
// benchmark/results/<section>.json and writes benchmark/RESULTS.md from all of them.
//
//   node dist/benchmark/run.js [--quick] [--only=local,hit-ratio] [--skip=remote]
//
// --quick shrinks every section (a CI smoke run; nothing asserts timings) and writes to a temporary
// directory instead of benchmark/ (section.ts OUT_DIR). --only / --skip pick
// sections; RESULTS.md is always rebuilt from every results/*.json present, each section saying
// when it was measured.

import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { machine } from './machine'
import { OUT_DIR, ROOT, type SectionResult } from './section'

interface Section {
  name: string
  script: string
  /** Node flags of the child. */
  flags?: string[]
}

const SECTIONS: Section[] = [
  { name: 'local', script: 'local.js', flags: ['--expose-gc'] },
  { name: 'scale', script: 'scale.js', flags: ['--expose-gc'] },
  { name: 'framework', script: 'framework.js' },
  { name: 'hit-ratio', script: 'hit-ratio.js' },
  { name: 'rust-core', script: 'rust-core.js' },
  { name: 'herd', script: 'herd.js' },
  { name: 'original-200k', script: 'herd200k.js' },
  { name: 'remote', script: 'remote.js' },
  { name: 'stale', script: 'stale.js' },
  { name: 'bus', script: 'bus.js' },
  { name: 'telemetry', script: 'telemetry.js' },
  { name: 'tags', script: 'tags.js' },
]

const quick = process.argv.includes('--quick')
const list = (flag: string) =>
  process.argv
    .find((arg) => arg.startsWith(`--${flag}=`))
    ?.slice(flag.length + 3)
    .split(',')
const only = list('only')
const skip = list('skip') ?? []
const resultFile = (name: string) => join(OUT_DIR, 'results', `${name}.json`)

function command(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim()
  } catch {
    return 'unavailable'
  }
}

function header(): string {
  const commit = command('git', ['rev-parse', '--short', 'HEAD'])
  const dirty = command('git', ['status', '--porcelain']) === '' ? '' : ' (with uncommitted changes)'
  return [
    '# Benchmark results',
    '',
    `Written by \`npm run bench${quick ? ' -- --quick' : ''}\` on ${new Date().toISOString()}. Every ` +
      'figure comes from the run that wrote it; each section names the peer it is a ratio to, measured ' +
      'in the same process and run. Nothing here is asserted by a test.',
    '',
    '| | |',
    '|---|---|',
    `| machine | ${machine()} |`,
    `| Node | ${process.version} |`,
    `| Rust | ${command('rustc', ['--version'])} |`,
    `| git commit | ${commit}${dirty} |`,
    `| mode | ${quick ? '**--quick** (shrunk for CI: figures are smoke, not measurements)' : 'full'} |`,
    '',
    'Reproduce: `npm run bench` (everything, about 13 minutes on 2 cores), `npm run bench -- --only=hit-ratio`, ' +
      '`npm run bench -- --quick`; servers from `bash scripts/services.sh`. The Rust core alone: ' +
      '`cargo bench -p cacheme-core --features replay` (criterion).',
  ].join('\n')
}

function main(): void {
  const started = performance.now()
  const failed: string[] = []
  for (const section of SECTIONS) {
    if (only !== undefined && !only.includes(section.name)) continue
    if (skip.includes(section.name)) continue
    console.log(`\n=== ${section.name} ===`)
    const t0 = performance.now()
    const child = spawnSync(
      process.execPath,
      [
        ...(section.flags ?? []),
        join(__dirname, section.script),
        '--json',
        resultFile(section.name),
        ...(quick ? ['--quick'] : []),
      ],
      { cwd: ROOT, stdio: 'inherit' },
    )
    const seconds = ((performance.now() - t0) / 1000).toFixed(0)
    if (child.status !== 0) {
      failed.push(section.name)
      console.log(`=== ${section.name} FAILED (${child.status ?? child.signal}) after ${seconds} s ===`)
    } else {
      console.log(`=== ${section.name}: ${seconds} s ===`)
    }
  }
  const parts = [header()]
  for (const section of SECTIONS) {
    const file = resultFile(section.name)
    if (!existsSync(file)) {
      parts.push(`## ${section.name}\n\nNot measured yet (\`npm run bench -- --only=${section.name}\`).`)
      continue
    }
    const result = JSON.parse(readFileSync(file, 'utf8')) as SectionResult
    const when = `Measured ${result.date.slice(0, 16).replace('T', ' ')} UTC in ${result.seconds.toFixed(0)} s${
      result.quick ? ', **--quick**' : ''
    }${failed.includes(section.name) ? ' — **the latest run of this section failed; these are older figures**' : ''}.`
    parts.push(`## ${result.title}\n\n_${when}_\n\n${result.markdown}`)
  }
  // Hand-run comparisons of two builds (before/after a change) cannot come from one run: kept as is.
  const comparisons = join(ROOT, 'benchmark', 'results', 'comparisons.md')
  if (existsSync(comparisons)) parts.push(readFileSync(comparisons, 'utf8').trim())
  const out = join(OUT_DIR, 'RESULTS.md')
  writeFileSync(out, `${parts.join('\n\n')}\n`)
  console.log(
    `\nwrote ${out} in ${((performance.now() - started) / 1000).toFixed(0)} s` +
      (failed.length > 0 ? `; failed: ${failed.join(', ')}` : ''),
  )
  if (failed.length > 0) process.exitCode = 1
}

main()
