// Shared by the framework tests: temporary SQLite files, controllable loads, small waits.

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import test from 'ava'
import { close, type RemoteStorage, registerStorage, Storage } from '../../lib'

export function tempDir(): { path: string; file(name: string): string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), 'cacheme-test-'))
  return {
    path,
    file: (name) => join(path, name),
    remove: () => rmSync(path, { recursive: true, force: true }),
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** A promise settled from outside, to hold a load in flight for as long as a test needs. */
export function deferred<T>(): {
  promise: Promise<T>
  resolve(value: T): void
  reject(error: unknown): void
} {
  let resolve: (value: T) => void = () => {}
  let reject: (error: unknown) => void = () => {}
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

let counter = 0
/** A name no other test uses (storage names and keys are process-global). */
export function unique(prefix: string): string {
  counter++
  return `${prefix}${counter}`
}

/**
 * Registers a local storage as 'local' and a SQLite file as 'sql' before the file's tests, and
 * closes both (and removes the file) after them: the two tiers most framework tests run on.
 */
export function localAndSqlite(
  file: string,
  policy: 'lru' | 'tlfu' = 'tlfu',
  size = 10_000,
): { local: Storage; sql: Storage } {
  const dir = tempDir()
  const local = new Storage({ url: `local://${policy}`, size })
  const sql = new Storage({ url: `sqlite://${dir.file(file)}` })
  test.before(async () => {
    await registerStorage('local', local)
    await registerStorage('sql', sql)
  })
  test.after.always(async () => {
    await close()
    dir.remove()
  })
  return { local, sql }
}

/** The smallest adapter: every method, no entries, no cleanupExpired. */
export function emptyAdapter(maxKeyLength = 100): RemoteStorage {
  return {
    maxKeyLength,
    get: async () => undefined,
    getMany: async (keys) => keys.map(() => undefined),
    set: async () => {},
    setMany: async () => {},
    remove: async () => {},
    close: async () => {},
  }
}
