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

import { NodeDefinitionError } from './errors'
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
