// invalidate and refresh against a write-back already on its way, on a pooled backend.
// PostgreSQL runs statements sent on different pool connections in any order, so the
// test makes the race certain instead of rare: the load takes an exclusive lock on the table, the
// write-back queues behind it, invalidate (or refresh) comes in, then the lock is released. Were
// the DELETE sent at once, it would queue behind the lock too and run alongside the INSERT, unable
// to see its row, which would then stay; cacheme sends it only once the write has settled.

import test from 'ava'
import { Client } from 'pg'
import { Cache, close, get, invalidate, Node, refresh, registerStorage, Storage } from '../../lib'
import { sleep, unique } from '../framework/helpers'
import { freshName, URLS, withServer } from '../storages/servers'

const ROUNDS = 5

withServer('postgresql', URLS.postgresql, () => {
  const table = freshName('order')
  const storage = unique('order')
  const locker = new Client({ connectionString: URLS.postgresql })
  const observer = new Client({ connectionString: URLS.postgresql })
  let loads = 0

  class Ordered extends Node<number> {
    static meta = { version: 'v1', caches: [new Cache({ storage, ttl: null })] }
    /** Whether this node's load locks the table (held until the test commits). */
    constructor(
      readonly id: number,
      readonly lock: boolean,
    ) {
      super()
    }
    key() {
      return `ordered:${this.id}`
    }
    async load() {
      if (this.lock) {
        await locker.query('BEGIN')
        await locker.query(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`)
      }
      return ++loads
    }
  }

  test.before(async () => {
    await registerStorage(storage, new Storage({ url: URLS.postgresql, table, poolSize: 4, timeout: 30_000 }))
    await locker.connect()
    await observer.connect()
  })

  test.after.always(async () => {
    await locker.query('ROLLBACK').catch(() => {})
    await locker.end()
    await observer.query(`DROP TABLE IF EXISTS ${table}`)
    await observer.end()
    await close()
  })

  /** Resolves once `count` statements on the table wait for a lock (bounded: fails after 10 s). */
  async function waiting(count: number): Promise<void> {
    for (let i = 0; i < 500; i++) {
      const { rows } = await observer.query<{ n: string }>(
        "SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE $1",
        [`%${table}%`],
      )
      if (Number(rows[0]?.n) >= count) return
      await sleep(20)
    }
    throw new Error(`no ${count} statements waiting on ${table}`)
  }

  async function rowsOf(id: number): Promise<number[]> {
    const { rows } = await observer.query<{ value: Buffer }>(`SELECT value FROM ${table} WHERE key = $1`, [
      `cacheme:ordered:${id}:v1`,
    ])
    return rows.map((row) => row.value.length)
  }

  test.serial('invalidate during a blocked write-back: afterwards no row is left', async (t) => {
    for (let round = 0; round < ROUNDS; round++) {
      const id = round
      const getting = get(new Ordered(id, true))
      await waiting(1) // the write-back INSERT is queued behind the lock
      const invalidating = invalidate(new Ordered(id, false))
      await sleep(50) // room for a DELETE to be sent, were it not held back
      await locker.query('COMMIT')
      await Promise.all([getting, invalidating])
      t.deepEqual(await rowsOf(id), [], `round ${round}: the invalidated value stayed in the table`)
    }
  })

  test.serial(
    'refresh during a blocked write-back: afterwards the table holds the refreshed value',
    async (t) => {
      for (let round = 0; round < ROUNDS; round++) {
        const id = 100 + round
        const getting = get(new Ordered(id, true))
        await waiting(1)
        const refreshing = refresh(new Ordered(id, false))
        await sleep(50)
        await locker.query('COMMIT')
        const [, newer] = await Promise.all([getting, refreshing])
        t.is(await get(new Ordered(id, false)), newer, `round ${round}: the older write-back landed last`)
      }
    },
  )
})
