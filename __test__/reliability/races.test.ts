// Races. fast-check's scheduler decides the order in which concurrent loads
// finish, over many random interleavings of get, getAll, refresh and invalidate on one key, through a
// local tier and a SQLite tier. The invariant: once everything has settled, no tier holds a value
// whose load started before the latest invalidate or refresh — an older load may answer its own
// callers but must never be written after them — and both tiers agree.

import test from 'ava'
import fc from 'fast-check'
import { Cache, close, get, getAll, invalidate, Node, refresh, registerStorage, Storage } from '../../lib'
import { sleep, tempDir, unique } from '../framework/helpers'

const dir = tempDir()
const LOCAL = unique('race-local')
const SQL = unique('race-sql')

test.before(async () => {
  await registerStorage(LOCAL, new Storage({ url: 'local://lru', size: 100 }))
  await registerStorage(SQL, new Storage({ url: `sqlite://${dir.file('races.db')}` }))
})

test.after.always(async () => {
  await close()
  dir.remove()
})

type Op = 'get' | 'getAll' | 'refresh' | 'invalidate'

interface Loaded {
  /** Index of the operation whose load produced the value (-1: the final check's own load). */
  readonly by: number
  readonly serial: number
}

const NOT_IN_SQL = 'not in the SQLite tier'

/** A node class whose loads wait for the scheduler, tagging values with the operation that loaded. */
function racingNode(scheduler: fc.Scheduler, run: number) {
  let serial = 0
  class Raced extends Node<Loaded> {
    static meta = {
      version: 'v1',
      caches: [new Cache({ storage: LOCAL, ttl: null }), new Cache({ storage: SQL, ttl: null })],
    }
    /** Every instance has the same key; `op` only tags the value its load produces. */
    constructor(readonly op: number) {
      super()
    }
    key() {
      return `race:${run}`
    }
    async load(): Promise<Loaded> {
      const value = { by: this.op, serial: ++serial }
      await scheduler.schedule(Promise.resolve(), `load ${value.serial} (op ${value.by})`)
      return value
    }
  }
  const start = (op: Op, index: number): Promise<unknown> => {
    const node = new Raced(index)
    if (op === 'get') return get(node)
    if (op === 'getAll') return getAll([node, new Raced(index)])
    if (op === 'refresh') return refresh(node)
    return invalidate(node)
  }
  // Reads only the SQLite tier under the same key; its load fails so that it never writes there.
  class SqlView extends Node<Loaded> {
    static meta = { version: 'v1', caches: [new Cache({ storage: SQL, ttl: null })] }
    key() {
      return `race:${run}`
    }
    async load(): Promise<Loaded> {
      throw new Error(NOT_IN_SQL)
    }
  }
  const inSql = (): Promise<Loaded | null> =>
    get(new SqlView()).catch((error: Error) => {
      if (error.message === NOT_IN_SQL) return null
      throw error
    })
  return { Raced, inSql, start }
}

let runs = 0

test('no tier keeps a value loaded before the latest invalidate or refresh', async (t) => {
  await fc.assert(
    fc.asyncProperty(
      fc.scheduler(),
      fc.array(fc.constantFrom<Op>('get', 'getAll', 'refresh', 'invalidate'), { minLength: 2, maxLength: 8 }),
      fc.array(fc.nat(3), { minLength: 8, maxLength: 8 }),
      async (scheduler, ops, gaps) => {
        runs++
        const { Raced, inSql, start } = racingNode(scheduler, runs)
        // Operations are issued in order; the scheduler interleaves the completion of their loads.
        // A gap lets scheduled work run between two issues, so later operations find earlier loads
        // at every stage (in flight, writing, done).
        const calls: Promise<unknown>[] = []
        for (const [index, op] of ops.entries()) {
          calls.push(start(op, index).catch((error: unknown) => error))
          for (let i = 0; i < (gaps[index] ?? 0); i++) {
            // Real I/O (the SQLite tier) first, then one load the scheduler picks, if any is waiting.
            await sleep(1)
            if (scheduler.count() > 0) await scheduler.waitOne()
          }
        }
        await scheduler.waitFor(Promise.all(calls))
        const settled = await Promise.all(calls)
        for (const outcome of settled) if (outcome instanceof Error) throw outcome

        // The latest invalidate or refresh: values loaded by operations before it are outdated.
        let barrier = -1
        ops.forEach((op, index) => {
          if (op === 'invalidate' || op === 'refresh') barrier = index
        })
        const sqlHolds = await scheduler.waitFor(inSql())
        const final = await scheduler.waitFor(get(new Raced(-1)))
        if (sqlHolds !== null && sqlHolds.by < barrier && sqlHolds.by !== -1) {
          throw new Error(
            `SQLite holds the value of op ${sqlHolds.by}, older than op ${barrier} (${ops[barrier]})`,
          )
        }
        if (final.by !== -1 && final.by < barrier) {
          throw new Error(
            `the cache answers the value of op ${final.by}, older than op ${barrier} (${ops[barrier]})`,
          )
        }
        if (sqlHolds !== null && final.serial !== sqlHolds.serial) {
          throw new Error(
            `tiers disagree: local has load ${final.serial}, SQLite has load ${sqlHolds.serial}`,
          )
        }
      },
    ),
    { numRuns: 150, includeErrorInReport: true },
  )
  t.true(runs >= 150, `${runs} interleavings checked`)
})
