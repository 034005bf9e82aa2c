// Group invalidation: invalidateTags and invalidateAll, lazily (tiers/tags.ts). Each writes one
// record per tag, in every shared storage registered (any of them may be the first shared tier of a
// class that carries the tag, including classes this process has not used) and in this process; no
// key is scanned or removed. Reads compare an entry's stamp with the records of its tags and class.
//
// A load in flight when the records are written stamps its entry with the time it started, before
// the invalidation, so what it writes reads as invalid (no flight needs retiring).

import { checkTags, type Stamp } from '../freshness'
import { classRecordKey, tagRecordKey } from '../keys'
import type { Node, NodeClass } from '../node'
import { type NodeRuntime, resolvedRecords } from '../runtime/record'
import { resolvedRecordOf } from '../runtime/resolve'
import { remoteStorages } from '../storages/storage'
import { announceAfter } from '../tiers/announce'
import { processRecords, recordsIn } from '../tiers/tags'

const NO_TAGS: readonly string[] = Object.freeze([])

/**
 * What an entry of `node` records when written by a read or load starting now, or by set: undefined
 * for a class without tags. Throws InvalidArgumentError when tags() returns bad tags.
 */
export function stampOf(runtime: NodeRuntime, node: Node<unknown>): Stamp | undefined {
  if (runtime.guard === undefined) return undefined
  const tags = (node as { tags?: () => unknown }).tags
  return {
    at: Date.now(),
    tags: tags === undefined ? NO_TAGS : checkTags(tags.call(node), `${runtime.name}.tags()`),
  }
}

/**
 * Makes every entry carrying one of `tags` a miss in every tier and, with a bus, in every process:
 * one record per tag, no scan. Rejects (StorageError) when a shared storage does not take the
 * records; then the invalidation holds only where they were written.
 */
export async function invalidateTags(tags: readonly string[]): Promise<void> {
  const checked = [...new Set(checkTags(tags, 'invalidateTags(tags)'))]
  if (checked.length === 0) return
  await writeRecords(checked.map(tagRecordKey))
}

/** Makes every entry of `cls` a miss in every tier and, with a bus, in every process. */
export async function invalidateAll(cls: NodeClass): Promise<void> {
  const runtime = resolvedRecordOf(cls, 'invalidateAll')
  if (runtime.guard === undefined) {
    // From now on the class's entries are stamped and checked; those written before read as older
    // than this invalidation.
    runtime.invalidatedAll = true
    runtime.unresolve()
    resolvedRecordOf(cls, 'invalidateAll')
  }
  await writeRecords([classRecordKey(runtime)])
}

/**
 * Writes the records `keys` as invalidated now: in this process at once, then in every shared
 * storage (one batch each), announced on the bus once written.
 */
async function writeRecords(keys: readonly string[]): Promise<void> {
  const at = Date.now()
  await processRecords.write(keys, at, null)
  const ttl = recordTtl()
  const writes: Promise<void>[] = []
  for (const [name, storage] of remoteStorages()) writes.push(recordsIn(name, storage).write(keys, at, ttl))
  const written = Promise.all(writes)
  announceAfter(written, keys)
  await written
}

/**
 * How long a record must live: as long as any entry it may cover, the longest TTL (plus grace) of
 * the tiers of every tagged class known here; no expiry when one has none or the ttl is a function
 * of the value, or when no such class is known. One figure for every store, not one per store: two
 * registered storages over the same server or table write the same record key, and a shorter TTL
 * written last would let the record expire before entries it covers. (Processes that know
 * different classes can still shorten each other's records: they should share their tagged
 * classes, or give them one TTL.)
 */
function recordTtl(): number | null {
  let longest = 0
  for (const runtime of resolvedRecords()) {
    if (runtime.guard === undefined) continue
    const grace = runtime.fresh?.grace ?? 0
    for (const tier of runtime.tiers) {
      if (typeof tier.ttl !== 'number') return null
      longest = Math.max(longest, tier.ttl + grace)
    }
  }
  return longest === 0 ? null : longest
}
