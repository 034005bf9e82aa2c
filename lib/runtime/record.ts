// What cacheme knows about a node class at run time: its resolved tiers, its metrics id, its flights
// and counters. One record per class, kept on the class under a symbol, so the hot path finds it
// with one property read; it persists across close() (counters survive, tiers are resolved again).

import type { BloomFilter } from '../bloom'
import { Flights } from '../coalesce'
import { InvalidArgumentError } from '../errors'
import type { Freshness } from '../freshness'
import { native } from '../native'
import { knownNodes, type LoadOptions, Node, type NodeClass } from '../node'
import type { LocalStore } from '../storages/local'
import type { TagGuard } from '../tiers/tags'
import type { Tier } from '../tiers/tier'
import { YoungMap } from '../young-map'

export const RUNTIME = Symbol('cacheme.runtime')

export type LoadAll = (nodes: readonly Node<unknown>[], options?: LoadOptions) => Promise<unknown>

export class NodeRuntime {
  /** The class, once its meta is resolved; the hot path compares it with `node.constructor`. */
  cls: NodeClass | undefined = undefined
  readonly name: string
  readonly metricsId = native.createMetrics()
  readonly flights = new Flights()
  /** `:{version}`, appended to every key. */
  suffix = ''
  /**
   * The first tier's store when that tier is local: get and getAll read it synchronously, before
   * any flight (one crossing into Rust, which also counts the hit).
   */
  syncStore: LocalStore | undefined = undefined
  /**
   * The first tier when it is local and its entries carry tags to check (a tagged node without
   * stale options): get reads it synchronously through the tier, which checks the tags.
   */
  taggedLocal: Tier | undefined = undefined
  tiers: readonly Tier[] = []
  /** First tier the asynchronous path reads (1 when tier 0 is local and was just read). */
  firstRead = 0
  maxKeyLength = Number.POSITIVE_INFINITY
  doorkeeper: BloomFilter | undefined = undefined
  loadAll: LoadAll | undefined = undefined
  /**
   * Stale windows and load timeouts (freshness.ts); undefined for a node with none, whose reads take
   * the paths they took before these options existed.
   */
  fresh: Freshness | undefined = undefined
  /**
   * The tag check of a class with tags() (or one invalidateAll was used on): its entries are stamped
   * and checked (tiers/tags.ts). Undefined for other classes, whose tiers store as before.
   */
  guard: TagGuard | undefined = undefined
  /** invalidateAll was used on the class (here, or by another process over the bus): check its entries. */
  invalidatedAll = false
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
   * Hits in a local first tier of a node with stale options, not yet added to the metrics in Rust:
   * that tier's read cannot count them in its crossing (a stale entry may turn out not to answer),
   * and a second crossing per hit would double the cost of one. stats() adds them.
   */
  pendingHits = 0
  // Counters of the stale paths (freshness.ts).
  staleAnswers = 0
  backgroundReloads = 0
  staleIfErrors = 0
  softTimeouts = 0
  hardTimeouts = 0
  /**
   * Shared-tier writes in flight per stored key (tiers/write.ts): invalidate and refresh wait for
   * them, so that a write already sent cannot land after them. Settles, never rejects; empty when idle.
   */
  readonly writing = new YoungMap<string, Promise<unknown>>()

  constructor(name: string) {
    this.name = name
  }

  /** Forgets the resolution (after close()): the next use resolves against new registrations. */
  unresolve(): void {
    this.cls = undefined
    this.syncStore = undefined
    this.taggedLocal = undefined
    this.tiers = []
    this.fresh = undefined
    this.guard = undefined
  }
}

type Holder = { [RUNTIME]?: NodeRuntime }

function isNodeClass(value: unknown): value is NodeClass {
  return typeof value === 'function' && value.prototype instanceof Node
}

/** The record of `cls`, created (unresolved) on first sight. */
export function recordOf(cls: unknown, caller: string): NodeRuntime {
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

/** The record of `cls` if it has one of its own (not inherited from a parent class). */
export function existingRecord(cls: NodeClass): NodeRuntime | undefined {
  return Object.hasOwn(cls, RUNTIME) ? (cls as Holder)[RUNTIME] : undefined
}

/** Records of every known class that is resolved now. */
export function* resolvedRecords(): Iterable<NodeRuntime> {
  for (const cls of knownNodes) {
    const runtime = existingRecord(cls)
    if (runtime?.cls !== undefined) yield runtime
  }
}
