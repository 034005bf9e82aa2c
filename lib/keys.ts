// Stored keys: `{prefix}:{key()}:{version}`. The prefix is global (setPrefix); the version suffix
// belongs to the node class (NodeRuntime.suffix). Also the errors for keys a node or a storage refuses.

import { InvalidArgumentError, NodeDefinitionError } from './errors'
import type { Node } from './node'
import type { NodeRuntime } from './runtime/record'

/** Global key prefix plus ':' (see setPrefix). A live binding: get's hot path reads it directly. */
export let keyHead = 'cacheme:'

export function setPrefix(prefix: string): void {
  if (typeof prefix !== 'string' || prefix.length === 0) {
    throw new InvalidArgumentError('CACHEME_INVALID_ARGUMENT', 'prefix must be a non-empty string')
  }
  keyHead = `${prefix}:`
}

/** `{prefix}:{key()}:{version}`, checking what key() returned and that every tier accepts it. */
export function storedKey(runtime: NodeRuntime, node: Node<unknown>): string {
  const key = node.key()
  if (typeof key !== 'string' || key.length === 0) throw badKey(runtime, key)
  const stored = keyHead + key + runtime.suffix
  if (stored.length > runtime.maxKeyLength) throw keyTooLong(runtime, stored)
  return stored
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

/**
 * The reserved stored key of a tag's invalidation record (tiers/tags.ts). `key()` may return any
 * string, so a node whose key() starts with `__tag:` or `__class:` shares this space: do not do that.
 */
export function tagRecordKey(tag: string): string {
  return `${keyHead}__tag:${tag}`
}

/** The reserved stored key of a node class's invalidateAll record: its name and version. */
export function classRecordKey(runtime: NodeRuntime): string {
  return `${keyHead}__class:${runtime.name}${runtime.suffix}`
}

/** Whether a stored key is a tag or class record's (the bus carries both kinds). */
export function isRecordKey(key: string): boolean {
  return key.startsWith(`${keyHead}__tag:`) || key.startsWith(`${keyHead}__class:`)
}
