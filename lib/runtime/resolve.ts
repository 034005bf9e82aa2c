// Resolving a node class on first use: its static meta checked (typed errors naming the problem),
// its caches turned into tiers over the registered storages.

import { BloomFilter } from '../bloom'
import { checkTtl } from '../cache'
import { InvalidArgumentError, NodeDefinitionError } from '../errors'
import { type Freshness, freshnessOf, TAGS_ONLY } from '../freshness'
import { classRecordKey, tagRecordKey } from '../keys'
import { knownNodes, Node, type NodeClass, type NodeMeta } from '../node'
import { defaultSerializer } from '../serializers'
import { badTag } from '../serializers/frame'
import { isSerializer } from '../serializers/serializer'
import { storageNamed } from '../storages/storage'
import { LocalTier } from '../tiers/local'
import { RemoteTier } from '../tiers/remote'
import { forgetStores, processRecords, recordsIn, TagGuard } from '../tiers/tags'
import type { Tier } from '../tiers/tier'
import { existingRecord, type LoadAll, type NodeRuntime, RUNTIME, recordOf } from './record'

type Holder = { [RUNTIME]?: NodeRuntime }

/** The resolved runtime of a node instance (resolving its class on first use, or after close()). */
export function runtimeOf(node: unknown, caller: string): NodeRuntime {
  // Resolved already (every call but a class's first): the class's own record, as on get's hot path.
  const cls = (node as { constructor?: Holder } | null | undefined)?.constructor
  const known = cls?.[RUNTIME]
  if (known !== undefined && known.cls === cls) return known
  if (typeof node !== 'object' || node === null || !(node instanceof Node)) {
    throw new InvalidArgumentError(
      'CACHEME_INVALID_NODE',
      `${caller} needs a node (an instance of a Node subclass); got ${node === null ? 'null' : typeof node}`,
    )
  }
  return resolvedRecordOf(node.constructor, caller)
}

/** The record of `cls` with its meta checked and resolved against the registered storages. */
export function resolvedRecordOf(cls: unknown, caller: string): NodeRuntime {
  const runtime = recordOf(cls, caller)
  if (runtime.cls !== cls) resolveMeta(runtime, cls as NodeClass)
  return runtime
}

/** Forgets every resolution (after close()): the next use re-resolves against new registrations. */
export function unresolveAll(): void {
  for (const cls of knownNodes) existingRecord(cls)?.unresolve()
  forgetStores()
}

function definitionError(runtime: NodeRuntime, message: string): NodeDefinitionError {
  return new NodeDefinitionError('CACHEME_INVALID_NODE', `${runtime.name}.meta: ${message}`)
}

function checkMeta(runtime: NodeRuntime, cls: NodeClass): NodeMeta {
  const meta: NodeMeta | undefined = cls.meta
  if (typeof meta !== 'object' || meta === null) {
    throw new NodeDefinitionError(
      'CACHEME_INVALID_NODE',
      `${runtime.name} has no static meta: add static meta = { version, caches: [new Cache({ storage, ttl })] }`,
    )
  }
  if (typeof meta.version !== 'string' || meta.version.length === 0) {
    throw definitionError(runtime, 'version must be a non-empty string')
  }
  if (!Array.isArray(meta.caches) || meta.caches.length === 0) {
    throw definitionError(runtime, 'caches must be a non-empty array of new Cache({ storage, ttl })')
  }
  if (meta.serializer !== undefined && !isSerializer(meta.serializer)) {
    throw definitionError(runtime, 'serializer must be an object with dumps(value) and loads(buffer) methods')
  }
  const tagProblem = meta.serializer === undefined ? undefined : badTag(meta.serializer)
  if (tagProblem !== undefined) throw definitionError(runtime, tagProblem)
  if (meta.doorkeeper !== undefined && !(meta.doorkeeper instanceof BloomFilter)) {
    throw definitionError(runtime, 'doorkeeper must be a BloomFilter')
  }
  return meta
}

/**
 * The tag check of a class whose entries carry tags: records in its first shared tier (every process
 * reading that tier reads them there), or in this process for a class with none.
 */
function guardOf(runtime: NodeRuntime, checked: readonly Tier[]): TagGuard {
  const shared = checked.find((tier): tier is RemoteTier => tier instanceof RemoteTier)
  const records = shared === undefined ? processRecords : recordsIn(shared.name, shared.storage)
  return new TagGuard(records, classRecordKey(runtime), tagRecordKey, runtime)
}

function tiersOf(
  runtime: NodeRuntime,
  meta: NodeMeta,
  fresh: Freshness | undefined,
  guard: TagGuard | undefined,
): Tier[] {
  const grace = fresh?.grace ?? 0
  const seen = new Set<string>()
  return meta.caches.map((cache, index): Tier => {
    if (typeof cache !== 'object' || cache === null || typeof cache.storage !== 'string') {
      throw definitionError(runtime, `caches[${index}] must be new Cache({ storage, ttl })`)
    }
    checkTtl(cache.ttl, `${runtime.name}.meta.caches[${index}]`)
    if (seen.has(cache.storage))
      throw definitionError(runtime, `storage ${JSON.stringify(cache.storage)} is listed twice`)
    seen.add(cache.storage)
    const storage = storageNamed(cache.storage)
    const local = storage.local
    const weigh = cache.weigh
    if (weigh !== undefined && local?.maxWeight === undefined) {
      throw definitionError(
        runtime,
        `caches[${index}] gives a weigh, but storage ${JSON.stringify(cache.storage)} has no maxWeight`,
      )
    }
    if (local !== undefined) {
      const weigher = weigh ?? local.weigh
      if (local.maxWeight !== undefined && weigher === undefined) {
        throw definitionError(
          runtime,
          `storage ${JSON.stringify(cache.storage)} has a maxWeight: caches[${index}] needs a weigh, or the storage one`,
        )
      }
      return new LocalTier(index, cache.storage, cache.ttl, local, grace, guard, weigher)
    }
    const serializer = meta.serializer ?? storage.serializer ?? defaultSerializer
    return new RemoteTier(
      index,
      cache.storage,
      cache.ttl,
      storage.bounded as NonNullable<typeof storage.bounded>,
      serializer,
      runtime,
      grace,
      guard,
    )
  })
}

function resolveMeta(runtime: NodeRuntime, cls: NodeClass): void {
  const meta = checkMeta(runtime, cls)
  const loadAll = (cls as { loadAll?: unknown }).loadAll
  if (loadAll !== undefined && typeof loadAll !== 'function') {
    throw new NodeDefinitionError('CACHEME_INVALID_NODE', `${runtime.name}.loadAll must be a static function`)
  }
  const tagged = typeof (cls.prototype as { tags?: unknown }).tags === 'function' || runtime.invalidatedAll
  // A tagged node reads its local tier through the tier, which checks tags (freshness.ts).
  const fresh = freshnessOf(runtime.name, meta) ?? (tagged ? TAGS_ONLY : undefined)
  runtime.suffix = `:${meta.version}`
  let tiers = tiersOf(runtime, meta, fresh, undefined)
  // The guard needs the checked tiers (its records live in the first shared one), and they it.
  const guard = tagged ? guardOf(runtime, tiers) : undefined
  if (guard !== undefined) tiers = tiersOf(runtime, meta, fresh, guard)
  const first = tiers[0] as Tier
  const localFirst = first instanceof LocalTier
  // A node with stale options reads its local first tier through the tier (api/stale.ts), which
  // tells a stale entry from a fresh one; the others read the store directly.
  const syncStore = localFirst && fresh === undefined ? first.store : undefined
  runtime.tiers = tiers
  runtime.guard = guard
  runtime.fresh = fresh
  runtime.syncStore = syncStore
  runtime.taggedLocal = localFirst && fresh === TAGS_ONLY ? first : undefined
  runtime.firstRead = syncStore === undefined ? 0 : 1
  runtime.maxKeyLength = Math.min(...tiers.map((tier) => tier.maxKeyLength))
  runtime.doorkeeper = meta.doorkeeper
  runtime.loadAll = loadAll === undefined ? undefined : (loadAll as LoadAll).bind(cls)
  if (runtime.tierHits.length !== tiers.length) runtime.tierHits = tiers.map(() => 0)
  runtime.tierNames = tiers.map((tier) => tier.name)
  runtime.localFirst = localFirst
  runtime.cls = cls
}
