// A read that starts while invalidate waits for a write-back must not fill the local tier back
// with the value the invalidation is about to remove (found by races.test.ts as a rare
// interleaving; made certain here). Over local + SQLite: another connection holds SQLite's write
// lock, so the write-back blocks the storage's one worker thread and every later statement queues
// behind it in order. Then: invalidate (deletes the local copy, waits for the write-back), a get
// (local miss, its SELECT queued after the INSERT, so it will find the row), release the lock.
// Without the hold, that get filled the row back into the local tier after the local delete, and
// the DELETE that followed removed it from SQLite only.

import test from 'ava'
import Database from 'better-sqlite3'
import { Cache, close, get, invalidate, Node, registerStorage, Storage, stats } from '../../lib'
import { sleep, tempDir } from '../framework/helpers'

const dir = tempDir()
const file = dir.file('hold.db')
let loads = 0

class Held extends Node<number> {
  static meta = {
    version: 'v1',
    caches: [new Cache({ storage: 'hold-local', ttl: null }), new Cache({ storage: 'hold-sql', ttl: null })],
  }
  constructor(readonly id: number) {
    super()
  }
  key() {
    return `held:${this.id}`
  }
  async load() {
    return ++loads
  }
}

test.before(async () => {
  await registerStorage('hold-local', new Storage({ url: 'local://lru', size: 100 }))
  await registerStorage('hold-sql', new Storage({ url: `sqlite://${file}`, timeout: 30_000 }))
})

test.after.always(async () => {
  await close()
  dir.remove()
})

test('a get during an invalidate that waits for a write-back does not fill the local tier back', async (t) => {
  const locker = new Database(file)
  try {
    locker.exec('BEGIN IMMEDIATE') // SQLite's write lock: the write-back will wait for it
    // get answers once its write-back is done, so it is awaited only after the lock is released.
    const getting = get(new Held(1))
    await sleep(100) // room for the load and for the INSERT to reach the worker and block it
    const invalidating = invalidate(new Held(1))
    const reading = get(new Held(1))
    locker.exec('COMMIT')
    const first = await getting
    t.is(await reading, first, 'the overlapping get finds the row the write-back stored')
    await invalidating
    t.is(stats(Held).storageErrorCount, 0)

    const before = stats(Held)
    const after = await get(new Held(1))
    t.not(after, first, 'after invalidate, the old value is cached nowhere')
    t.is(stats(Held).loadCount - before.loadCount, 1, 'the get after invalidate loads')
  } finally {
    if (locker.inTransaction) locker.exec('ROLLBACK')
    locker.close()
  }
})
