// Freshness: when an entry past its TTL may still answer, and how long a load may take. One place
// checks the options and decides; the tiers report staleness, the read verbs act on it.
//
// A node with a stale window (staleWhileRevalidate, staleIfError) has every tier keep its entries for
// the TTL plus the longer window (the grace) and call them stale after the TTL. A tier read then
// answers a value, MISS, or a Stale entry: its value and how long it has been past its TTL (its age).
//   - age < staleWhileRevalidate: answered at once, and the key reloaded in the background.
//   - age < staleIfError: kept as the fallback while the read goes on (lower tiers, then the load);
//     answered if the load fails, times out, or outlives softTimeout.
//   - otherwise: a miss.
// A stale value is never filled back into another tier: only a fresh value starts a new TTL.
//
// Nodes without these options never meet a Stale entry: their tiers store and read as they always
// did, and their verbs run the code paths they always ran (NodeRuntime.fresh is undefined for them).
//
// Tags are the other half of "fresh?": an entry of a node with tags() records when its value was
// read from the source and its tags (a Stamp), and reads as a miss once one of its tags, or its node
// class, was invalidated at or after that time (tiers/tags.ts keeps the invalidation records).
// Such a node gets a Freshness too (with no windows, if it sets none), so that its reads take the
// path that reads its local first tier through the tier, which checks the tags, rather than the
// bare store read of get's hot path.

import { InvalidArgumentError, NodeDefinitionError } from './errors'
import type { NodeMeta } from './node'

/** A node's resolved stale windows and load timeouts, in milliseconds (0: not set). */
export interface Freshness {
  readonly staleWhileRevalidate: number
  readonly staleIfError: number
  /** How long past its TTL a tier keeps an entry: the longer window. */
  readonly grace: number
  readonly softTimeout: number
  readonly hardTimeout: number
}

/** An entry past its TTL but within the node's grace, as a tier read reports it. */
export class Stale {
  constructor(
    readonly value: unknown,
    /** Milliseconds since its TTL ended. */
    readonly age: number,
  ) {}
}

/** `stale` may be answered at once while the key reloads in the background. */
export function revalidates(fresh: Freshness, stale: Stale): boolean {
  return stale.age < fresh.staleWhileRevalidate
}

/** `stale` may stand in for a load that fails or is slow. */
export function fallsBack(fresh: Freshness, stale: Stale): boolean {
  return stale.age < fresh.staleIfError
}

/**
 * What an entry of a tagged node records: when its value was read from its source (Date.now() when
 * the read or load that produced it started, so that a load overtaken by an invalidation stamps a
 * time before it) and its tags.
 */
export interface Stamp {
  readonly at: number
  readonly tags: readonly string[]
}

/** Most tags one node may carry: every read of one checks each. */
export const MAX_TAGS = 64
/** Longest tag, in characters (each becomes part of a stored key). */
export const MAX_TAG_LENGTH = 256

/** `tags` checked: an array of at most MAX_TAGS non-empty strings of at most MAX_TAG_LENGTH characters. */
export function checkTags(tags: unknown, where: string): readonly string[] {
  if (!Array.isArray(tags)) {
    throw new InvalidArgumentError('CACHEME_INVALID_ARGUMENT', `${where} must be an array of strings`)
  }
  if (tags.length > MAX_TAGS) {
    throw new InvalidArgumentError(
      'CACHEME_INVALID_ARGUMENT',
      `${where}: at most ${MAX_TAGS} tags; got ${tags.length}`,
    )
  }
  for (const tag of tags) {
    if (typeof tag !== 'string' || tag.length === 0 || tag.length > MAX_TAG_LENGTH) {
      throw new InvalidArgumentError(
        'CACHEME_INVALID_ARGUMENT',
        `${where}: a tag must be a non-empty string of at most ${MAX_TAG_LENGTH} characters; got ${typeof tag === 'string' ? `${tag.length} characters` : typeof tag}`,
      )
    }
  }
  return tags as readonly string[]
}

/** The Freshness of a tagged node that sets no stale option: no windows, no timeouts. */
export const TAGS_ONLY: Freshness = Object.freeze({
  staleWhileRevalidate: 0,
  staleIfError: 0,
  grace: 0,
  softTimeout: 0,
  hardTimeout: 0,
})

/** setTimeout's largest delay. */
const MAX_TIMEOUT = 2 ** 31 - 1
/** Largest window: a stamped payload's TTL field holds 48 bits. */
const MAX_WINDOW = 2 ** 47

function option(name: string, meta: NodeMeta, key: keyof FreshnessOptions, max: number): number {
  const value = meta[key]
  if (value === undefined) return 0
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > max) {
    throw new NodeDefinitionError(
      'CACHEME_INVALID_NODE',
      `${name}.meta: ${key} must be a positive number of milliseconds up to ${max}, or absent; got ${String(value)}`,
    )
  }
  return value
}

/** The options of NodeMeta this module reads. */
export interface FreshnessOptions {
  /**
   * Milliseconds past its TTL an entry is still answered, at once, while the key reloads in the
   * background (one load per key; getAll reloads its stale keys with one loadAll).
   */
  readonly staleWhileRevalidate?: number | undefined
  /** Milliseconds past its TTL an entry is answered when the load fails or times out. */
  readonly staleIfError?: number | undefined
  /**
   * Milliseconds after which a load answers the staleIfError entry, if there is one; the load goes
   * on and writes the tiers when it ends.
   */
  readonly softTimeout?: number | undefined
  /**
   * Milliseconds after which a load is abandoned: its signal aborts and every waiter gets a
   * LoadError with code CACHEME_TIMEOUT (or the staleIfError entry, if there is one).
   */
  readonly hardTimeout?: number | undefined
}

/** The resolved options of `meta`, or undefined when none is set; typed errors name a bad one. */
export function freshnessOf(name: string, meta: NodeMeta): Freshness | undefined {
  const staleWhileRevalidate = option(name, meta, 'staleWhileRevalidate', MAX_WINDOW)
  const staleIfError = option(name, meta, 'staleIfError', MAX_WINDOW)
  const softTimeout = option(name, meta, 'softTimeout', MAX_TIMEOUT)
  const hardTimeout = option(name, meta, 'hardTimeout', MAX_TIMEOUT)
  if (staleWhileRevalidate + staleIfError + softTimeout + hardTimeout === 0) return undefined
  if (softTimeout > 0 && staleIfError === 0) {
    throw new NodeDefinitionError(
      'CACHEME_INVALID_NODE',
      `${name}.meta: softTimeout answers the stale entry a slow load keeps waiting, so it needs staleIfError`,
    )
  }
  if (softTimeout > 0 && hardTimeout > 0 && softTimeout >= hardTimeout) {
    throw new NodeDefinitionError(
      'CACHEME_INVALID_NODE',
      `${name}.meta: softTimeout (${softTimeout}) must be shorter than hardTimeout (${hardTimeout})`,
    )
  }
  return {
    staleWhileRevalidate,
    staleIfError,
    grace: Math.max(staleWhileRevalidate, staleIfError),
    softTimeout,
    hardTimeout,
  }
}
