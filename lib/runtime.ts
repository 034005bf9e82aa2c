// What cacheme knows about a node class at run time: its checked meta resolved against the
// registered storages, its metrics id, its flights and counters. Computed once per class and kept
// on the class under a symbol, so the hot path finds it with one property read.

import { BloomFilter } from './bloom'
import { checkTtl } from './cache'
import { Flights } from './coalesce'
import { InvalidArgumentError, NodeDefinitionError } from './errors'
import { native } from './native'
import { knownNodes, Node, type NodeClass, type NodeMeta } from './node'
import { defaultSerializer } from './serializers'
import { badTag, tagOf } from './serializers/frame'
import { isSerializer, type Serializer } from './serializers/serializer'
import type { LocalStore } from './storages/local'
import type { RemoteStorage } from './storages/remote'
import { storageNamed } from './storages/storage'
import { YoungMap } from './young-map'

export const RUNTIME = Symbol('cacheme.runtime')

/** One resolved tier: exactly one of `local` and `remote` is set. */
export interface Tier {
  readonly index: number
  /** Registered storage name. */
  readonly name: string
  readonly ttl: number | null
  readonly local: LocalStore | undefined
  readonly remote: RemoteStorage | undefined
  readonly serializer: Serializer
  /** The serializer's header tag (serializers/frame.ts). */
  readonly tag: number
}

export type LoadAll = (nodes: readonly Node<unknown>[]) => Promise<unknown>

export class NodeRuntime {
  /** The class, once its meta is resolved; the hot path compares it with `node.constructor`. */
  cls: NodeClass | undefined = undefined
  readonly name: string
  readonly metricsId = native.createMetrics()
  readonly flights = new Flights()
  /** `:{version}`, appended to every key. */
  suffix = ''
  /** The first tier's store when it is local: the synchronous hit path. */
  local: LocalStore | undefined = undefined
  tiers: readonly Tier[] = []
  /** First tier the asynchronous path reads (1 when tier 0 is local and was just read). */
  firstRead = 0
  maxKeyLength = Number.POSITIVE_INFINITY
  doorkeeper: BloomFilter | undefined = undefined
  loadAll: LoadAll | undefined = undefined
  // Counters kept in JS (the eleven metrics live in Rust): hits per tier below the first local one
  // (the local ones are derived), callers that joined a flight, absorbed errors.
  tierHits: number[] = []
  /** Storage names of the tiers and whether the first is local (kept across close(), for stats). */
  tierNames: readonly string[] = []
  localFirst = false
  joined = 0
  decodeErrors = 0
  storageErrors = 0
  /**
   * Remote writes in flight per stored key (tiers.ts): invalidate and refresh wait for them, so
   * that a write already sent cannot land after them. Settles, never rejects; empty when idle.
   */
  readonly writing = new YoungMap<string, Promise<unknown>>()

  constructor(name: string) {
    this.name = name
  }
}

type Holder = { [RUNTIME]?: NodeRuntime }

/** Global key prefix plus ':' (see setPrefix). */
export let keyHead = 'cacheme:'

export function setPrefix(prefix: string): void {
  if (typeof prefix !== 'string' || prefix.length === 0) {
    throw new InvalidArgumentError('CACHEME_INVALID_ARGUMENT', 'prefix must be a non-empty string')
  }
  keyHead = `${prefix}:`
}

function isNodeClass(value: unknown): value is NodeClass {
  return typeof value === 'function' && value.prototype instanceof Node
}

/** The runtime record of `cls`, created (unresolved) if needed; it persists across close(). */
export function stateOf(cls: unknown, caller: string): NodeRuntime {
  if (!isNodeClass(cls)) {
    const got = typeof cls === 'function' ? `class ${cls.name || '(anonymous)'}` : typeof cls
    throw new InvalidArgumentError('CACHEME_INVALID_NODE', `${caller} needs a Node class; got ${got}`)
  }
  if (Object.hasOwn(cls, RUNTIME)) return (cls as Holder)[RUNTIME] as NodeRuntime
  const runtime = new NodeRuntime(cls.name || '(anonymous node)')
  Object.defineProperty(cls, RUNTIME, {
    value: runtime,
    writable: false,
    enumerable: false,
    configurable: false,
  })
  knownNodes.add(cls)
  return runtime
}

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
  return resolved(node.constructor, caller)
}

/** The runtime of `cls` with its meta checked and resolved against the registered storages. */
export function resolved(cls: unknown, caller: string): NodeRuntime {
  const runtime = stateOf(cls, caller)
  if (runtime.cls === cls) return runtime
  resolve(runtime, cls as NodeClass)
  return runtime
}

function definitionError(runtime: NodeRuntime, message: string): NodeDefinitionError {
  return new NodeDefinitionError('CACHEME_INVALID_NODE', `${runtime.name}.meta: ${message}`)
}

function resolve(runtime: NodeRuntime, cls: NodeClass): void {
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
  const loadAll = (cls as { loadAll?: unknown }).loadAll
  if (loadAll !== undefined && typeof loadAll !== 'function') {
    throw new NodeDefinitionError('CACHEME_INVALID_NODE', `${runtime.name}.loadAll must be a static function`)
  }
  const seen = new Set<string>()
  const tiers = meta.caches.map((cache, index): Tier => {
    if (typeof cache !== 'object' || cache === null || typeof cache.storage !== 'string') {
      throw definitionError(runtime, `caches[${index}] must be new Cache({ storage, ttl })`)
    }
    checkTtl(cache.ttl, `${runtime.name}.meta.caches[${index}]`)
    if (seen.has(cache.storage))
      throw definitionError(runtime, `storage ${JSON.stringify(cache.storage)} is listed twice`)
    seen.add(cache.storage)
    const storage = storageNamed(cache.storage)
    const serializer = meta.serializer ?? storage.serializer ?? defaultSerializer
    return {
      index,
      name: cache.storage,
      ttl: cache.ttl,
      local: storage.local,
      remote: storage.bounded,
      serializer,
      tag: tagOf(serializer),
    }
  })
  const first = tiers[0] as Tier
  runtime.suffix = `:${meta.version}`
  runtime.tiers = tiers
  runtime.local = first.local
  runtime.firstRead = first.local === undefined ? 0 : 1
  runtime.maxKeyLength = Math.min(
    ...tiers.map((tier) => tier.remote?.maxKeyLength ?? Number.POSITIVE_INFINITY),
  )
  runtime.doorkeeper = meta.doorkeeper
  runtime.loadAll = loadAll === undefined ? undefined : (loadAll as LoadAll).bind(cls)
  if (runtime.tierHits.length !== tiers.length) runtime.tierHits = tiers.map(() => 0)
  runtime.tierNames = tiers.map((tier) => tier.name)
  runtime.localFirst = first.local !== undefined
  runtime.cls = cls
}

/** Forgets every resolution (after close()): the next use re-resolves against new registrations. */
export function unresolveAll(): void {
  for (const cls of knownNodes) {
    if (Object.hasOwn(cls, RUNTIME)) {
      const runtime = (cls as Holder)[RUNTIME] as NodeRuntime
      runtime.cls = undefined
      runtime.local = undefined
      runtime.tiers = []
    }
  }
}

/** `{prefix}:{key()}:{version}`, checking what key() returned. */
export function storedKey(runtime: NodeRuntime, node: Node<unknown>): string {
  const key = node.key()
  if (typeof key !== 'string' || key.length === 0) throw badKey(runtime, key)
  return keyHead + key + runtime.suffix
}

export function badKey(runtime: NodeRuntime, key: unknown): NodeDefinitionError {
  return new NodeDefinitionError(
    'CACHEME_INVALID_KEY',
    `${runtime.name}.key() must return a non-empty string; got ${typeof key === 'string' ? '""' : typeof key}`,
  )
}

export function keyTooLong(runtime: NodeRuntime, key: string): InvalidArgumentError {
  return new InvalidArgumentError(
    'CACHEME_INVALID_KEY',
    `${runtime.name}: stored key is ${key.length} characters, over the ${runtime.maxKeyLength} a storage of this node accepts`,
  )
}
