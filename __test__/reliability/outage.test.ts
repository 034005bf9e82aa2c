// A server tier failing under traffic and coming back. The test owns its servers
// (processes.ts): it kills Redis and PostgreSQL mid-traffic and restarts them, and freezes Redis
// (SIGSTOP) so that calls hang instead of failing. Throughout, every request must answer with the
// right value (from the loader when the tier is down), and caching must resume by itself once the
// server is back: same process, same storage object, no re-registration.
//
// No timing is asserted. What proves the time bound is that the frozen-server run finishes at all,
// with the tier's calls ending as CACHEME_TIMEOUT errors; latencies are logged for the record.

import test, { type ExecutionContext } from 'ava'
import {
  Cache,
  type CacheErrorEvent,
  close,
  get,
  Node,
  onError,
  registerStorage,
  Storage,
  stats,
} from '../../lib'
import { sleep, unique } from '../framework/helpers'
import {
  type OwnRedis,
  type OwnServer,
  postgresBinDir,
  redisServerPath,
  startPostgres,
  startRedis,
} from './processes'

const TIMEOUT_MS = 300
const WORKERS = 8
const KEYS = 50
/** How long the server stays down or frozen. */
const OUTAGE_MS = 1500
/** Upper bound on waiting for recovery (not asserted as a time: the test fails if it never comes). */
const RECOVERY_LIMIT_MS = 30_000

interface Value {
  readonly id: number
  readonly load: number
}

interface PhaseRecord {
  answered: number
  latencies: number[]
}

/** Requests issued by WORKERS concurrent loops, recorded per phase, until stop(). */
class Traffic {
  phase = 'warm-up'
  readonly phases = new Map<string, PhaseRecord>()
  rejected: unknown[] = []
  wrong = 0
  #running = true
  readonly #loops: Promise<void>[]

  constructor(request: (id: number) => Promise<Value>) {
    this.#loops = Array.from({ length: WORKERS }, async (_, worker) => {
      let i = worker
      while (this.#running) {
        const id = (i * 7919) % KEYS
        i += WORKERS
        const started = performance.now()
        try {
          const value = await request(id)
          if (value.id !== id) this.wrong++
          const record = this.#record()
          record.answered++
          record.latencies.push(performance.now() - started)
        } catch (error) {
          this.rejected.push(error)
        }
        // Yield to timers and I/O even when every answer comes synchronously from a loader.
        await new Promise<void>((resolve) => setImmediate(resolve))
      }
    })
  }

  #record(): PhaseRecord {
    let record = this.phases.get(this.phase)
    if (record === undefined) {
      record = { answered: 0, latencies: [] }
      this.phases.set(this.phase, record)
    }
    return record
  }

  answered(phase: string): number {
    return this.phases.get(phase)?.answered ?? 0
  }

  async stop(): Promise<void> {
    this.#running = false
    await Promise.all(this.#loops)
  }

  summary(): string {
    const lines: string[] = []
    for (const [phase, { answered, latencies }] of this.phases) {
      const sorted = [...latencies].sort((a, b) => a - b)
      const at = (q: number) =>
        (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0).toFixed(1)
      lines.push(`${phase}: ${answered} answered, latency ms p50 ${at(0.5)} p99 ${at(0.99)} max ${at(1)}`)
    }
    return lines.join('; ')
  }
}

/** Polls `condition` every 20 ms until it holds; false if it never did within `limitMs`. */
async function eventually(condition: () => boolean, limitMs: number): Promise<boolean> {
  const until = Date.now() + limitMs
  while (!condition()) {
    if (Date.now() > until) return false
    await sleep(20)
  }
  return true
}

/** A node class whose only tier is `storage`, counting its loads. */
function nodeOn(storage: string) {
  let loads = 0
  return class Outage extends Node<Value> {
    static meta = { version: 'v1', caches: [new Cache({ storage, ttl: 600_000 })] }
    constructor(readonly id: number) {
      super()
    }
    key() {
      return `outage:${this.id}`
    }
    async load(): Promise<Value> {
      loads++
      return { id: this.id, load: loads }
    }
  }
}

/** Errors absorbed on `storage`, as the onError hook reports them. */
function errorsOf(storage: string): { events: CacheErrorEvent[]; stop(): void } {
  const events: CacheErrorEvent[] = []
  const stop = onError((event) => {
    if (event.storage === storage) events.push(event)
  })
  return { events, stop }
}

/**
 * Traffic through a tier on `server`; `disrupt` takes the server away for OUTAGE_MS and `recover`
 * brings it back. Checks that every request answered rightly and that the tier serves hits again.
 */
async function throughOutage(
  t: ExecutionContext,
  server: OwnServer,
  disrupt: () => Promise<void> | void,
  recover: () => Promise<void> | void,
): Promise<{ events: CacheErrorEvent[] }> {
  const name = unique('outage')
  await registerStorage(name, new Storage({ url: server.url, timeout: TIMEOUT_MS }))
  const Outage = nodeOn(name)
  const tierHits = () => stats(Outage).hitsByCache[name] ?? 0
  const errors = errorsOf(name)
  const traffic = new Traffic((id) => get(new Outage(id)))
  try {
    t.true(
      await eventually(() => tierHits() > 200, RECOVERY_LIMIT_MS),
      'the tier serves hits before the outage',
    )
    traffic.phase = 'outage'
    await disrupt()
    const errorsBefore = errors.events.length
    await sleep(OUTAGE_MS)
    // Each worker answers at least once per storage timeout while the server is away (in practice
    // thousands of times: refused calls and refused connections answer at once). A worker stuck on
    // the server, as when the timeout does not fire while a frozen socket stays silent, answers once
    // or twice in the whole outage; half the lower bound tells the two apart with a wide margin.
    const atLeast = ((OUTAGE_MS / TIMEOUT_MS) * WORKERS) / 2
    t.true(
      traffic.answered('outage') > atLeast,
      `requests went on being answered while the server was away: ${traffic.answered('outage')}, ` +
        `expected more than ${atLeast}`,
    )
    t.true(errors.events.length > errorsBefore, 'the failing tier was reported through onError')
    traffic.phase = 'recovery'
    const back = performance.now()
    await recover()
    const hitsAtRestart = tierHits()
    const recovered = await eventually(() => tierHits() > hitsAtRestart + 50, RECOVERY_LIMIT_MS)
    t.true(recovered, 'the tier serves hits again without any restart of the application')
    t.log(`server back to tier hits resuming: ${(performance.now() - back).toFixed(0)} ms`)
    traffic.phase = 'after'
    t.true(
      await eventually(() => traffic.answered('after') > 200, RECOVERY_LIMIT_MS),
      'requests go on being answered after the recovery',
    )
  } finally {
    await traffic.stop()
    errors.stop()
  }
  t.deepEqual(traffic.rejected, [], 'no request failed')
  t.is(traffic.wrong, 0, 'every request got the value of its own key')
  const counted = stats(Outage).storageErrorCount
  t.true(counted >= errors.events.length && counted > 0, 'absorbed errors are counted in stats')
  t.log(traffic.summary())
  t.log(
    `absorbed storage errors: ${counted}; kinds: ${[...new Set(errors.events.map((e) => `${e.kind}/${e.error.code}`))].join(', ')}`,
  )
  return { events: errors.events }
}

/** Registers `body` when the server binaries exist; in CI their absence fails, elsewhere it skips loudly. */
function withBinaries(what: string, present: boolean, body: () => void): void {
  if (present) {
    body()
    return
  }
  const message = `${what} is not installed: run bash scripts/services.sh`
  if (process.env.CI === 'true') {
    test(`outage: ${what} is installed`, (t) => t.fail(message))
    return
  }
  console.warn(`\n!!! SKIPPING the ${what} outage tests: ${message}\n`)
  test.skip(`outage: ${what} tests (${message})`, () => {})
}

withBinaries('redis-server', redisServerPath() !== undefined, () => {
  let redis: OwnRedis | undefined
  test.before(async () => {
    redis = await startRedis(6391)
  })
  test.after.always(async () => {
    await close()
    await redis?.remove()
  })

  test.serial('redis killed mid-traffic: every request answers, caching resumes after restart', async (t) => {
    const server = redis as OwnRedis
    await throughOutage(
      t,
      server,
      () => server.kill(),
      () => server.restart(),
    )
  })

  test.serial(
    'redis frozen (SIGSTOP): calls end at the storage timeout, requests answer, then it resumes',
    async (t) => {
      const server = redis as OwnRedis
      const { events } = await throughOutage(
        t,
        server,
        () => server.freeze(),
        () => server.thaw(),
      )
      t.true(
        events.some((event) => event.error.code === 'CACHEME_TIMEOUT'),
        'calls to the frozen server ended with CACHEME_TIMEOUT',
      )
    },
  )
})

withBinaries('PostgreSQL', postgresBinDir() !== undefined, () => {
  let postgres: OwnServer | undefined
  test.before(async () => {
    postgres = await startPostgres(5441)
  })
  test.after.always(async () => {
    await close()
    await postgres?.remove()
  })

  test.serial(
    'postgresql stopped mid-traffic: every request answers, caching resumes after restart',
    async (t) => {
      const server = postgres as OwnServer
      await throughOutage(
        t,
        server,
        () => server.kill(),
        () => server.restart(),
      )
    },
  )
})
