// The conformance suite against `sqlite://` (no server needed): a database file per run in the OS
// temporary directory, removed afterwards.

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import test from 'ava'
import { SqliteStorage } from '../../lib/storages/sqlite'
import { SqliteDatabase } from '../../lib/storages/sqlite-db'
import { conformance } from './conformance'

const dir = mkdtempSync(join(tmpdir(), 'cacheme-sqlite-'))
const path = join(dir, 'cache.db')

conformance({
  name: 'sqlite',
  namespace: 'table',
  open: (table, options = {}) => SqliteStorage.open(path, { table, poolSize: options.poolSize }),
})

test.after.always(() => {
  rmSync(dir, { recursive: true, force: true })
})

test('sqlite: a batch that reads then writes takes the write lock first, so another connection committing in between cannot fail it', (t) => {
  // Two connections to one file, interleaved by hand as two workers or processes can be: the batch
  // reads, the other connection tries to write, then the batch writes. Had the batch begun as a
  // plain (deferred) transaction, the other write would commit and the batch's write would fail
  // with SQLITE_BUSY at once; begun IMMEDIATE, the other connection is the one that waits.
  const file = join(dir, 'write-lock.db')
  const batch = new SqliteDatabase(file)
  const other = new SqliteDatabase(file)
  try {
    let otherError: unknown
    batch.transaction(() => {
      batch.getMany(['a'])
      try {
        other.setMany(['b'], [Buffer.from('other')], null)
      } catch (error) {
        otherError = error
      }
      batch.setMany(['a'], [Buffer.from('batch')], null)
    }, true)
    t.regex(String(otherError), /locked|busy/i, 'the other connection waited for the lock')
    t.deepEqual(other.getMany(['a', 'b']), [Buffer.from('batch'), undefined])
  } finally {
    batch.close()
    other.close()
  }
})
