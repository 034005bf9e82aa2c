// Errors a tier absorbs instead of throwing on the read path (a payload that does not decode, a
// remote read that fails: both are a miss) and on write-backs (the value is still returned): each is
// counted on the node class and reported (events.ts). A cache that is down slows reads; it does not
// break them.

import { CachemeError, SerializationError, StorageError } from '../errors'
import { type CacheErrorKind, report } from '../events'

/** The per-class counters absorbed errors go to. */
export interface ErrorCounts {
  readonly name: string
  decodeErrors: number
  storageErrors: number
}

function asCachemeError(error: unknown, kind: CacheErrorKind): CachemeError {
  if (error instanceof CachemeError) return error
  const message = error instanceof Error ? error.message : String(error)
  return kind === 'decode'
    ? new SerializationError('CACHEME_SERIALIZATION', message, { cause: error })
    : new StorageError('CACHEME_STORAGE', message, { cause: error })
}

export function absorb(
  counts: ErrorCounts,
  storage: string,
  kind: CacheErrorKind,
  key: string,
  error: unknown,
): void {
  if (kind === 'decode') counts.decodeErrors++
  else counts.storageErrors++
  report({ kind, node: counts.name, storage, key, error: asCachemeError(error, kind) })
}
