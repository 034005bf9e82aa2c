// The conformance suite against `sqlite://` (no server needed): a database file per run in the OS
// temporary directory, removed afterwards.

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import test from 'ava'
import { SqliteStorage } from '../../lib/storages/sqlite'
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
