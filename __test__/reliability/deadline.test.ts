// The per-storage timeout (lib/storages/deadline.ts): one FIFO queue and one timer per storage.
// These tests drive the queue with promises the test controls; the outage tests drive it with real
// servers that are killed or frozen.

import test from 'ava'
import { InvalidArgumentError, Storage, StorageError } from '../../lib'
import { Deadlines } from '../../lib/storages/deadline'
import { deferred, sleep } from '../framework/helpers'

const never = () => new Promise<never>(() => {})

/** Keeps the event loop busy for `ms` (a burst's own synchronous work). */
function busyFor(ms: number): void {
  const until = performance.now() + ms
  while (performance.now() < until) {}
}

// The deadline timer is unref'ed (a real call keeps the process alive through its socket); these
// calls have no socket, so a ref'ed interval stands in for it while the tests run.
let keepAlive: NodeJS.Timeout | undefined
test.before(() => {
  keepAlive = setInterval(() => {}, 1000)
})
test.after.always(() => clearInterval(keepAlive))

test('a call that never settles rejects with CACHEME_TIMEOUT naming the storage and the call', async (t) => {
  const deadlines = new Deadlines('redis storage', 'test', 20)
  const error = await t.throwsAsync(deadlines.run('getMany', never), { instanceOf: StorageError })
  t.is(error?.code, 'CACHEME_TIMEOUT')
  t.regex(error?.message ?? '', /^redis storage: getMany got no answer within 20 ms$/)
  deadlines.dispose()
})

test('calls that settle in time keep their own value or error', async (t) => {
  const deadlines = new Deadlines('s', 'test', 1000)
  t.is(await deadlines.run('get', async () => 'value'), 'value')
  const own = new Error('driver said no')
  t.is(await t.throwsAsync(deadlines.run('get', async () => Promise.reject(own))), own)
  const thrown = new Error('thrown before any promise')
  t.is(
    await t.throwsAsync(
      deadlines.run('get', () => {
        throw thrown
      }),
    ),
    thrown,
  )
  deadlines.dispose()
})

test('among many calls, only the stalled ones time out, each after its own start', async (t) => {
  const deadlines = new Deadlines('s', 'test', 30)
  const quick = Array.from({ length: 500 }, (_, i) => deadlines.run('get', async () => i))
  const stalled = [deadlines.run('get', never), deadlines.run('set', never)]
  const later = deferred<string>()
  const settledLate = deadlines.run('get', () => later.promise)
  t.deepEqual(
    await Promise.all(quick),
    Array.from({ length: 500 }, (_, i) => i),
  )
  for (const call of stalled) {
    t.is((await t.throwsAsync(call, { instanceOf: StorageError }))?.code, 'CACHEME_TIMEOUT')
  }
  t.is((await t.throwsAsync(settledLate, { instanceOf: StorageError }))?.code, 'CACHEME_TIMEOUT')
  // The driver's answer arriving after the deadline is absorbed: no unhandled rejection (ava would
  // fail this file on one) and no second settlement.
  later.reject(new Error('late'))
  await sleep(40) // past the refusal that the timeouts started (next test)
  t.is(await deadlines.run('get', async () => 'after'), 'after')
  deadlines.dispose()
})

// A timeout of 200 ms: the breaker ignores verdicts that come half a timeout late (a busy process),
// and other tests of this file run alongside.
test('after a timeout, calls are refused at once for one timeout; then one probe decides', async (t) => {
  const deadlines = new Deadlines('pg storage', 'test', 200)
  await t.throwsAsync(deadlines.run('get', never), { instanceOf: StorageError })
  let started = 0
  const counted = async () => {
    started++
    return 'answer'
  }
  const refused = await t.throwsAsync(deadlines.run('set', counted), { instanceOf: StorageError })
  t.is(refused?.code, 'CACHEME_TIMEOUT')
  t.regex(
    refused?.message ?? '',
    /^pg storage: set refused without trying: a call timed out within the last 200 ms$/,
  )
  t.is(started, 0, 'a refused call never reaches the storage')

  // After the refusal: one probe goes through; calls meanwhile are refused; a probe that times out
  // starts the refusal over.
  await sleep(220)
  const probe = deadlines.run('get', never)
  await t.throwsAsync(deadlines.run('get', counted), { message: /refused without trying/ })
  t.is((await t.throwsAsync(probe, { instanceOf: StorageError }))?.code, 'CACHEME_TIMEOUT')
  await t.throwsAsync(deadlines.run('get', counted), { message: /refused without trying/ })

  // A probe that answers in time (even with an error: the server is there) lets calls flow again.
  await sleep(220)
  await t.throwsAsync(
    deadlines.run('get', async () => Promise.reject(new Error('no such table'))),
    {
      message: 'no such table',
    },
  )
  t.deepEqual(await Promise.all([deadlines.run('get', counted), deadlines.run('get', counted)]), [
    'answer',
    'answer',
  ])
  t.is(started, 2)
  deadlines.dispose()
})

test('a storage that answers other calls while one times out is behind, not down: nothing is refused', async (t) => {
  const deadlines = new Deadlines('redis storage', 'test', 30)
  const stalled = deadlines.run('get', never)
  const answered = await deadlines.run('get', async () => 'answer')
  t.is(answered, 'answer')
  t.is((await t.throwsAsync(stalled, { instanceOf: StorageError }))?.code, 'CACHEME_TIMEOUT')
  t.is(await deadlines.run('get', async () => 'next'), 'next', 'the call after the timeout went through')
  deadlines.dispose()
})

test.serial(
  "a call's time starts when the turn that issued it ends: a long synchronous stretch does not spend it",
  async (t) => {
    const deadlines = new Deadlines('redis storage', 'test', 30)
    // The driver writes once the turn is over (as node-redis does); the answer comes a little later.
    const written = <T>(value: T) =>
      new Promise<T>((resolve) => setImmediate(() => setTimeout(() => resolve(value), 5)))
    const calls = Array.from({ length: 100 }, (_, i) => deadlines.run('get', () => written(i)))
    busyFor(100) // the issuing turn outlasts the timeout threefold
    t.deepEqual(
      await Promise.all(calls),
      Array.from({ length: 100 }, (_, i) => i),
    )
    t.is(await deadlines.run('get', async () => 'next'), 'next', 'nothing was refused afterwards')
    // A call that never answers still times out, counted from the end of its turn.
    const stalled = deadlines.run('get', never)
    busyFor(100)
    t.is((await t.throwsAsync(stalled, { instanceOf: StorageError }))?.code, 'CACHEME_TIMEOUT')
    deadlines.dispose()
  },
)

test.serial('a timeout judged late because the process was busy does not trip the breaker', async (t) => {
  const deadlines = new Deadlines('redis storage', 'test', 30)
  const stalled = deadlines.run('get', never)
  await new Promise<void>((resolve) => setImmediate(resolve)) // its turn has ended: the clock runs
  busyFor(100) // the process, not the server, keeps the verdict from coming on time
  t.is((await t.throwsAsync(stalled, { instanceOf: StorageError }))?.code, 'CACHEME_TIMEOUT')
  t.is(await deadlines.run('get', async () => 'next'), 'next', 'the next call is not refused')
  deadlines.dispose()
})

test('answers that come after their own deadline are signs of life: a server behind a backlog is not refused', async (t) => {
  const deadlines = new Deadlines('redis storage', 'test', 200)
  // Two calls of a backlog, both answered after their deadline: the first at 280 ms, the second at 500.
  const backlog = [280, 500].map((ms) =>
    deadlines.run('get', () => new Promise<string>((resolve) => setTimeout(() => resolve('late'), ms))),
  )
  for (const call of backlog) {
    t.is((await t.throwsAsync(call, { instanceOf: StorageError }))?.code, 'CACHEME_TIMEOUT')
  }
  // Nothing had answered when they timed out: refused for one timeout. Then a probe that goes
  // unanswered until about 620 ms, while the backlog's second answer comes at 500.
  await sleep(420 - 200)
  const probe = deadlines.run('get', never)
  t.is((await t.throwsAsync(probe, { instanceOf: StorageError }))?.message.includes('got no answer'), true)
  t.is(await deadlines.run('get', async () => 'next'), 'next', 'behind, not down: calls flow again')
  deadlines.dispose()
})

test('the queue stays small under sustained traffic (settled calls leave from the head)', async (t) => {
  const deadlines = new Deadlines('s', 'test', 1000)
  for (let round = 0; round < 50; round++) {
    await Promise.all(Array.from({ length: 100 }, () => deadlines.run('get', async () => round)))
  }
  const stalled = deadlines.run('get', never)
  t.is(deadlines.queued, 1, 'the 5,000 settled calls were dropped when the next one came in')
  deadlines.dispose()
  stalled.catch(() => {})
})

test('the timeout option: default 1000 ms (5000 for SQLite), validated, refused for local', (t) => {
  t.is(new Storage({ url: 'redis://127.0.0.1:6379' }).timeout, 1000)
  t.is(new Storage({ url: 'sqlite://:memory:' }).timeout, 5000)
  t.is(new Storage({ url: 'postgresql://127.0.0.1/test', timeout: 250 }).timeout, 250)
  for (const timeout of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31, '100']) {
    const error = t.throws(() => new Storage({ url: 'redis://127.0.0.1', timeout: timeout as number }), {
      instanceOf: InvalidArgumentError,
    })
    t.is(error?.code, 'CACHEME_INVALID_ARGUMENT')
    t.regex(error?.message ?? '', /^timeout must be a number of milliseconds/)
  }
  const local = t.throws(() => new Storage({ url: 'local://lru', size: 10, timeout: 100 }))
  t.regex(local?.message ?? '', /option timeout does not apply to local storage/)
})
