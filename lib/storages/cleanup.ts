// Periodic deletion of expired rows and documents for the SQL and MongoDB storages. Expired entries
// are already misses on every read; this only gives their space back, so it runs rarely, off the
// request path, one bounded batch at a time (a batch holds locks briefly; a full batch is followed
// by another a moment later, until the backlog is gone). SQLite does the same inside its writer
// (sqlite-db.ts) and Redis expires keys itself.

import { report } from '../events'
import type { RemoteStorage } from './remote'
import { CLEANUP_BATCH, failure } from './shared'

/** Pause between two batches while a backlog is being drained. */
const BACKLOG_PAUSE_MS = 100

/**
 * Calls `adapter.cleanupExpired` every `intervalMs`, draining a backlog in batches; returns the
 * function that stops it. A failed pass is reported (onError, kind 'write') and retried next time.
 */
export function startCleanup(adapter: RemoteStorage, name: string, intervalMs: number): () => void {
  const cleanup = adapter.cleanupExpired
  if (cleanup === undefined) return () => {}
  let stopped = false
  let timer: NodeJS.Timeout | undefined
  const schedule = (delay: number) => {
    if (!stopped) timer = setTimeout(pass, delay).unref()
  }
  const pass = () => {
    cleanup.call(adapter, CLEANUP_BATCH).then(
      (deleted) => schedule(deleted >= CLEANUP_BATCH ? BACKLOG_PAUSE_MS : intervalMs),
      (error: unknown) => {
        if (!stopped) {
          const failed = failure(name, 'cleanup of expired entries', error)
          report({ kind: 'write', node: '(cleanup)', storage: name, key: '', error: failed })
        }
        schedule(intervalMs)
      },
    )
  }
  schedule(intervalMs)
  return () => {
    stopped = true
    if (timer !== undefined) clearTimeout(timer)
  }
}
