// The soak in its short CI form: the `npm run soak` CLI (scripts/soak.ts) with small counts, in a
// child process of its own (so RSS is that process's alone, and it has --expose-gc), asserting that
// memory stays flat after warm-up. Bounds are on memory only, and generous: a leak of a few hundred
// bytes per operation crosses them; the full form (10M + 1M operations) catches slower ones.

import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import test, { type ExecutionContext } from 'ava'
import { tempDir } from '../framework/helpers'
import { URLS, withServer } from '../storages/servers'
import { growth, type SoakPhase, type SoakResult } from './soak'

const MiB = 2 ** 20
/** heapUsed after a full GC, from the end of warm-up to the end. */
const HEAP_BOUND = 4 * MiB
/** RSS keeps pages the allocator has not returned, so its bound is wider. */
const RSS_BOUND = 32 * MiB
const CLI = join(__dirname, '..', '..', 'scripts', 'soak.js')

const dir = tempDir()
test.after.always(() => dir.remove())

/** Runs the CLI for one phase; resolves with its result file and what it printed. */
function soak(phase: SoakPhase, ops: number): Promise<{ result: SoakResult; output: string }> {
  const out = dir.file(`${phase}.json`)
  const args = ['--expose-gc', CLI, '--local', '0', '--redis', '0', `--${phase}`, String(ops)]
  args.push('--samples', '10', '--max-ttl', '300', '--redis-url', URLS.redis, '--out', out, '--quiet')
  return new Promise((resolve, reject) => {
    // Bounded: the child is killed if it has not finished in two minutes.
    execFile(process.execPath, args, { timeout: 120_000 }, (error, stdout, stderr) => {
      if (error !== null) reject(new Error(`soak CLI failed: ${error.message}\n${stdout}\n${stderr}`))
      else resolve({ result: JSON.parse(readFileSync(out, 'utf8')) as SoakResult, output: stdout })
    })
  })
}

async function checkFlat(t: ExecutionContext, phase: SoakPhase, ops: number): Promise<void> {
  const { result, output } = await soak(phase, ops)
  t.log(output)
  t.is(result.failedOps, 0)
  t.is(result.absorbedErrors, 0, 'no storage error was absorbed: every operation reached its storage')
  for (const [name, counters] of Object.entries(result.storages)) {
    t.true(counters.evictions > 0 && counters.expirations > 0, `${name} both evicted and expired entries`)
  }
  const g = growth(result.samples, phase, 0.3)
  if (g === undefined) {
    t.fail(`no ${phase} samples`)
    return
  }
  t.true(g.to.ops === ops, `every ${phase} operation ran`)
  t.true(
    g.heapPeakGrowthBytes < HEAP_BOUND && g.heapGrowthBytes < HEAP_BOUND,
    `heapUsed after warm-up grew ${(g.heapGrowthBytes / MiB).toFixed(1)} MiB (peak ${(g.heapPeakGrowthBytes / MiB).toFixed(1)})`,
  )
  t.true(g.rssGrowthBytes < RSS_BOUND, `RSS after warm-up grew ${(g.rssGrowthBytes / MiB).toFixed(1)} MiB`)
}

test.serial('local soak: memory is flat after warm-up under mixed operations, eviction and expiry', (t) =>
  checkFlat(t, 'local', 400_000),
)

withServer('redis', URLS.redis, () => {
  test.serial('local + Redis soak: memory is flat after warm-up under get/getAll/invalidate/refresh', (t) =>
    checkFlat(t, 'redis', 40_000),
  )
})
