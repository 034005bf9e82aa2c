// The original's headline table, "200k concurrent requests" (cacheme for Python, README): a node
// whose load sleeps 100 ms, a Redis tier, 200,000 requests whose keys follow a bounded Zipf(1.001)
// (the original's generator: P(k) ∝ (10 + k)^−1.001, k = 0 … 200,000), drained by 1k, 10k and 100k
// concurrent workers; wall time, Redis GETs and loads, for [redis] and [local tlfu 3000 → redis].
// Where Python and the original are installed (benchmark/original/), the original runs the very
// same keys against the same Redis in the same run, and both are reported side by side.
//
//   node dist/benchmark/herd200k.js [--quick] [--original-all] [--json FILE]
//   REDIS_URL overrides redis://127.0.0.1:6379; CACHEME_PYTHON the interpreter of the original
//   (default ~/.cache/cacheme/pyvenv/bin/python, made by scripts/original-python.sh, then `python3`
//   if it imports cacheme).
//
// GETs are counted in the client (node-redis commands named `GET`, seen on its diagnostics channel; in Python a response callback, as
// the original's own benchmark does), so other users of the server do not disturb the count. Each
// scenario gets its own key prefix instead of FLUSHALL, for the same reason; the keys are deleted
// at the end.

import { spawnSync } from 'node:child_process'
import { tracingChannel } from 'node:diagnostics_channel'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { homedir, tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import { Cache, close, get, Node, onError, registerStorage, Storage, setPrefix } from '../lib'
import { emit, int, quick, ROOT, table, times } from './section'
import { random } from './zipf'

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const REQUESTS = quick ? 20_000 : 200_000
const CONCURRENCY = quick ? [1_000] : [1_000, 10_000, 100_000]
/**
 * The Python original runs at 1k only unless --original-all: its 10k rows take over two minutes
 * and at 100k its connection pool times out, so they would take most of `npm run bench`.
 */
const ORIGINAL_CONCURRENCY = process.argv.includes('--original-all') ? CONCURRENCY : [1_000]
const LOCAL_SIZE = 3_000
const RUN = `h200k${process.pid}${Date.now().toString(36)}`

/** The original's published figures (its README; its machine, concurrency 1k only). */
const ORIGINAL_PUBLISHED: Record<string, { seconds: number; gets: number; loads?: number }> = {
  redis: { seconds: 25, gets: 166_454, loads: 55_579 },
  'local tlfu 3000 → redis': { seconds: 20, gets: 90_681 },
}

/**
 * `count` keys from the original's bounded Zipf: values k in [0, imax] with P(k) ∝ (v + k)^−s
 * (Go's rand.Zipf, which the original ported), drawn here by inverting the exact CDF.
 */
function boundedZipf(s: number, v: number, imax: number, count: number, seed: number): string[] {
  const cdf = new Float64Array(imax + 1)
  let sum = 0
  for (let k = 0; k <= imax; k++) {
    sum += (v + k) ** -s
    cdf[k] = sum
  }
  const next = random(seed)
  const keys: string[] = new Array(count)
  for (let i = 0; i < count; i++) {
    const u = next() * sum
    let lo = 0
    let hi = imax
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if ((cdf[mid] as number) < u) lo = mid + 1
      else hi = mid
    }
    keys[i] = String(lo)
  }
  return keys
}

/** Counts the GET commands every node-redis client of this process sends (the driver publishes each). */
let redisGets = 0
tracingChannel<string, { command: string }>('node-redis:command').subscribe({
  start(context) {
    if (context.command.toUpperCase() === 'GET') redisGets++
  },
  end() {},
  asyncStart() {},
  asyncEnd() {},
  error() {},
})

/** Storage errors cacheme absorbed (each read as a miss or a skipped write), e.g. timeouts. */
let storageErrors = 0
onError(() => {
  storageErrors++
})

interface Row {
  impl: 'cacheme (Node)' | 'cacheme (Python original)'
  tiers: string
  concurrency: number
  seconds: number
  redisGets: number
  loads: number
  storageErrors?: number
  error?: string
}

async function scenario(keys: string[], concurrency: number, twoTier: boolean, index: number): Promise<Row> {
  setPrefix(`${RUN}n${index}`)
  const caches = [new Cache({ storage: 'redis', ttl: null })]
  if (twoTier) {
    await registerStorage(`local${index}`, new Storage({ url: 'local://tlfu', size: LOCAL_SIZE }))
    caches.unshift(new Cache({ storage: `local${index}`, ttl: null }))
  }
  let loads = 0
  class FooNode extends Node<string> {
    static meta = { version: 'v1', caches }
    constructor(readonly uid: string) {
      super()
    }
    key() {
      return `uid:${this.uid}`
    }
    async load(): Promise<string> {
      loads++
      await sleep(100)
      return this.uid
    }
  }
  let next = 0
  let wrong = 0
  const worker = async () => {
    while (next < keys.length) {
      const uid = keys[next++] as string
      if ((await get(new FooNode(uid))) !== uid) wrong++
    }
  }
  const before = redisGets
  const errorsBefore = storageErrors
  const start = performance.now()
  await Promise.all(Array.from({ length: concurrency }, worker))
  const seconds = (performance.now() - start) / 1000
  if (wrong > 0) throw new Error(`${wrong} gets returned the wrong value`)
  return {
    impl: 'cacheme (Node)',
    tiers: twoTier ? `local tlfu ${LOCAL_SIZE} → redis` : 'redis',
    concurrency,
    seconds,
    redisGets: redisGets - before,
    loads,
    storageErrors: storageErrors - errorsBefore,
  }
}

/** The interpreter with the original installed, or why there is none. */
function python(): { bin: string } | { reason: string } {
  const venv = join(homedir(), '.cache', 'cacheme', 'pyvenv', 'bin', 'python')
  const candidates = [process.env.CACHEME_PYTHON, venv, 'python3'].filter(
    (c): c is string => c !== undefined && (c === 'python3' || existsSync(c)),
  )
  for (const bin of candidates) {
    const probe = spawnSync(bin, ['-c', 'import cacheme, redis; print(cacheme.__file__)'], {
      encoding: 'utf8',
    })
    if (probe.status === 0) return { bin }
  }
  return {
    reason:
      'no Python interpreter here imports `cacheme` and `redis` (install the original with ' +
      '`bash scripts/original-python.sh`)',
  }
}

function runOriginal(bin: string, keysFile: string): { rows: Row[]; version: string; error?: string } {
  const version = spawnSync(
    bin,
    ['-c', 'import importlib.metadata as m; print(m.version("cacheme"), m.version("redis"))'],
    {
      encoding: 'utf8',
    },
  ).stdout.trim()
  const child = spawnSync(
    bin,
    [
      join(ROOT, 'benchmark', 'original', 'herd200k.py'),
      '--keys',
      keysFile,
      '--redis',
      REDIS_URL,
      '--concurrency',
      ORIGINAL_CONCURRENCY.join(','),
      '--run',
      RUN,
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 15 * 60_000 },
  )
  const rows = child.stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => {
      const r = JSON.parse(line) as Omit<Row, 'impl'>
      return { ...r, tiers: r.tiers.replace('->', '→'), impl: 'cacheme (Python original)' as const }
    })
  for (const r of rows) console.log(`  python ${r.tiers} c=${r.concurrency}: ${r.seconds.toFixed(1)} s`)
  if (child.status !== 0) {
    const error =
      `${child.error?.message ?? ''} ${child.stderr.trim().split('\n').slice(-3).join(' ')}`.trim()
    return { rows, version, error: `exited with ${child.status ?? child.signal}: ${error}` }
  }
  return { rows, version }
}

/** Deletes this run's keys through a client the count above does not see. */
async function cleanup(): Promise<void> {
  const client = new Redis(REDIS_URL, { lazyConnect: true })
  await client.connect()
  let cursor = '0'
  let deleted = 0
  do {
    const [nextCursor, found] = await client.scan(cursor, 'MATCH', `${RUN}*`, 'COUNT', 10_000)
    cursor = nextCursor
    if (found.length > 0) deleted += await client.unlink(...found)
  } while (cursor !== '0')
  await client.quit()
  console.log(`  deleted ${deleted} keys`)
}

async function main(): Promise<void> {
  const keys = boundedZipf(1.001, 10, 200_000, REQUESTS, 7)
  const distinct = new Set(keys).size
  const dir = mkdtempSync(join(tmpdir(), 'cacheme-200k-'))
  const keysFile = join(dir, 'keys.txt')
  writeFileSync(keysFile, `${keys.join('\n')}\n`)
  const rows: Row[] = []
  let original: { rows: Row[]; version: string; error?: string } | { reason: string }
  try {
    await registerStorage('redis', new Storage({ url: REDIS_URL }))
    let index = 0
    for (const concurrency of CONCURRENCY) {
      for (const twoTier of [false, true]) {
        const row = await scenario(keys, concurrency, twoTier, ++index)
        console.log(`  node ${row.tiers} c=${concurrency}: ${row.seconds.toFixed(1)} s`)
        rows.push(row)
      }
    }
    await close()
    const py = python()
    original = 'bin' in py ? runOriginal(py.bin, keysFile) : py
  } finally {
    rmSync(dir, { recursive: true, force: true })
    await cleanup()
  }

  const pyRows = 'rows' in original ? original.rows : []
  const header = [
    'tiers',
    'concurrency',
    'Node: wall s',
    'Node: Redis GETs',
    'Node: loads',
    'Node: absorbed storage errors',
    'Python original: wall s',
    'Python: Redis GETs',
    'Python: loads',
    'wall × Python',
    'GETs × Python',
    'loads × Python',
  ]
  const body = rows.map((r) => {
    const py = pyRows.find((p) => p.tiers === r.tiers && p.concurrency === r.concurrency)
    const ratio = (a: number, b: number | undefined) =>
      b === undefined || b === 0 || py?.error !== undefined ? '—' : times(a / b)
    return [
      r.tiers,
      int(r.concurrency),
      r.seconds.toFixed(2),
      int(r.redisGets),
      int(r.loads),
      int(r.storageErrors ?? 0),
      py === undefined
        ? ORIGINAL_CONCURRENCY.includes(r.concurrency)
          ? '—'
          : 'not run (--original-all)'
        : py.error !== undefined
          ? `failed: ${py.error}`
          : py.seconds.toFixed(2),
      py?.error === undefined && py ? int(py.redisGets) : '—',
      py?.error === undefined && py ? int(py.loads) : '—',
      ratio(r.seconds, py?.seconds),
      ratio(r.redisGets, py?.redisGets),
      ratio(r.loads, py?.loads),
    ]
  })
  const published = rows
    .filter((r) => r.concurrency === 1_000)
    .map((r) => {
      const p = ORIGINAL_PUBLISHED[r.tiers.replace(String(LOCAL_SIZE), '3000')]
      if (p === undefined) return []
      return [
        r.tiers,
        `${p.seconds} s`,
        int(p.gets),
        p.loads === undefined ? '—' : int(p.loads),
        `${r.seconds.toFixed(2)} s (${times(r.seconds / p.seconds)})`,
        `${int(r.redisGets)} (${times(r.redisGets / p.gets)})`,
        p.loads === undefined ? int(r.loads) : `${int(r.loads)} (${times(r.loads / p.loads)})`,
      ]
    })
  const originalNote =
    'reason' in original
      ? `**The Python original did not run:** ${original.reason}.`
      : original.error !== undefined
        ? `The Python original (cacheme ${original.version}) **failed**: ${original.error}`
        : `The Python original: cacheme/redis-py ${original.version}, its Redis storage defaults ` +
          '(BlockingConnectionPool of 100 connections), same keys, same Redis, right after the Node run.'
  const markdown = [
    `${int(REQUESTS)} requests over ${int(distinct)} distinct keys (bounded Zipf s = 1.001, v = 10, ` +
      `0 … 200,000, as the original's benchmark), drained by N concurrent workers each doing ` +
      '`await get(node)`; the load sleeps 100 ms; every scenario starts cold (own key prefix), TTL none. ' +
      `Redis at ${REDIS_URL.replace(/\/\/[^@]*@/, '//')} (cacheme: one node-redis connection, its default). ` +
      'Ratios are Node ÷ Python (lower is better for all three). Absorbed storage errors: Redis calls ' +
      "that failed or outlived the storage's default 1 s timeout, which cacheme reads as a miss (so " +
      'they turn into extra loads or skipped writes) and reports through `onError`.',
    originalNote,
    table(header, body),
    "Beside the original's published figures (its README, its machine, concurrency 1k):",
    table(
      [
        'tiers',
        'original: wall',
        'original: GETs',
        'original: loads',
        'Node: wall',
        'Node: GETs',
        'Node: loads',
      ],
      published,
    ),
  ].join('\n\n')
  emit('original-200k', 'The original\'s "200k concurrent requests" table', markdown, {
    requests: REQUESTS,
    distinctKeys: distinct,
    rows: [...rows, ...pyRows],
    original: 'reason' in original ? original : { version: original.version, error: original.error ?? null },
  })
}

main().catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
