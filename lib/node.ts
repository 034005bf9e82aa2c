// Nodes: a class per kind of cached data. Subclass Node (static `meta`, `key()`, `load()`), or build
// one at run time with buildNode. Nothing here touches storages; lib/runtime/ checks a class on
// first use.

import type { BloomFilter } from './bloom'
import type { Cache } from './cache'
import { InvalidArgumentError, NodeDefinitionError } from './errors'
import type { FreshnessOptions } from './freshness'
import type { Serializer } from './serializers/serializer'

/** Type-level only: lets `get(node)` know the value type. Never set at run time. */
declare const VALUE: unique symbol

/**
 * What a load is given: `signal`, for a node with a hardTimeout, aborts when the load is abandoned
 * (so the loader can stop its work); absent otherwise.
 */
export interface LoadOptions {
  readonly signal?: AbortSignal | undefined
}

/**
 * A node class's static meta. The stale windows and load timeouts (FreshnessOptions, all optional)
 * are described in freshness.ts and the README's "When the source is slow or down".
 */
export interface NodeMeta extends FreshnessOptions {
  /** Part of every stored key (`{prefix}:{key()}:{version}`): bump it when the value's shape changes. */
  readonly version: string
  /** Tiers, read left to right; a hit fills every tier before it; a load writes them all. */
  readonly caches: readonly Cache[]
  /** Encoding for remote tiers (default: the storage's, else MsgPackSerializer). Local tiers ignore it. */
  readonly serializer?: Serializer | undefined
  /** Cache a key only on its second load (see BloomFilter). */
  readonly doorkeeper?: BloomFilter | undefined
}

export abstract class Node<T> {
  declare readonly [VALUE]: T

  /** Identifies the data (e.g. `user:42:info`); prefix and version are added by cacheme. */
  abstract key(): string

  /**
   * Reads the value from the source on a miss in every tier. (A class used only through memoize,
   * whose wrapped function is the loader, can be made with buildNode and no load.) A node with a
   * hardTimeout gets `{ signal }`, aborted when the load is abandoned; others get no argument.
   */
  abstract load(options?: LoadOptions): Promise<T>

  /**
   * Optional: the groups this node's entries belong to (e.g. `['team:7', 'user:1']`), for
   * invalidateTags. At most 64 non-empty strings. A class that defines it stamps and checks its
   * entries (tiers/tags.ts); a class without it stores exactly as before.
   */
  tags?(): readonly string[]
}

/**
 * Every node class cacheme knows of: built by buildNode, or used at least once (a plain subclass of
 * Node cannot be seen before that). Read by `nodes()`.
 */
export const knownNodes = new Set<NodeClass>()

/** The value type of a node: `NodeValue<UserNode>` is `User`. */
export type NodeValue<N> = N extends Node<infer T> ? T : never

/** A node class: any (abstract) constructor of `Node<T>`, carrying `static meta`. */
export type NodeClass<T = unknown> = (abstract new (
  ...args: never
) => Node<T>) & {
  readonly meta?: NodeMeta | undefined
}

export interface BuildNodeOptions<A extends readonly unknown[], T> extends NodeMeta {
  /** The key of a node built with `args`; default: the arguments joined by ':' (strings and numbers). */
  readonly key?: (...args: A) => string
  /**
   * Loads the value of a node built with `args`. Omit it for a class used only through memoize.
   * Called with `this` = the load's LoadOptions: a function (not an arrow) reads `this.signal`.
   */
  readonly load?: (this: LoadOptions, ...args: A) => Promise<T>
  /** Optional: the tags of the node with these arguments (see Node.tags). */
  readonly tags?: ((...args: A) => readonly string[]) | undefined
  /** Optional batch loader for getAll: values in the order of `args`. */
  readonly loadAll?: (args: readonly A[], options?: LoadOptions) => Promise<readonly T[]>
}

/** An instance of a class made by buildNode: its constructor arguments are kept as `args`. */
export interface BuiltNode<A extends readonly unknown[], T> extends Node<T> {
  readonly args: A
}

export type BuiltNodeClass<A extends readonly unknown[], T> = (new (
  ...args: A
) => BuiltNode<A, T>) & {
  readonly meta: NodeMeta
  readonly name: string
}

const NO_OPTIONS: LoadOptions = Object.freeze({})

function defaultKey(name: string, args: readonly unknown[]): string {
  for (const arg of args) {
    const type = typeof arg
    if (type !== 'string' && type !== 'number' && type !== 'bigint' && type !== 'boolean') {
      throw new NodeDefinitionError(
        'CACHEME_INVALID_KEY',
        `${name}: the default key joins string/number arguments; give buildNode a key function for ${type} arguments`,
      )
    }
  }
  return args.join(':')
}

/**
 * Makes a node class at run time (the original's DynamicNode), for kinds of data known only then.
 *
 *     const UserNode = buildNode('user', {
 *       version: 'v1',
 *       caches: [new Cache({ storage: 'local', ttl: 60_000 })],
 *       key: (id: number) => `user:${id}`,
 *       load: async (id: number) => db.user(id),
 *     })
 *     const user = await get(new UserNode(42))
 */
export function buildNode<A extends readonly unknown[], T>(
  name: string,
  options: BuildNodeOptions<A, T>,
): BuiltNodeClass<A, T> {
  if (typeof name !== 'string' || name.length === 0) {
    throw new InvalidArgumentError('CACHEME_INVALID_ARGUMENT', 'buildNode needs a non-empty class name')
  }
  if (typeof options !== 'object' || options === null) {
    throw new InvalidArgumentError('CACHEME_INVALID_ARGUMENT', `buildNode(${name}) needs an options object`)
  }
  const { key, load, loadAll, tags, version, caches, serializer, doorkeeper } = options
  const { staleWhileRevalidate, staleIfError, softTimeout, hardTimeout } = options
  for (const [what, fn] of [
    ['key', key],
    ['load', load],
    ['loadAll', loadAll],
    ['tags', tags],
  ] as const) {
    if (fn !== undefined && typeof fn !== 'function') {
      throw new NodeDefinitionError('CACHEME_INVALID_NODE', `buildNode(${name}): ${what} must be a function`)
    }
  }
  const meta: NodeMeta = {
    version,
    caches,
    serializer,
    doorkeeper,
    staleWhileRevalidate,
    staleIfError,
    softTimeout,
    hardTimeout,
  }

  class Built extends Node<T> implements BuiltNode<A, T> {
    static readonly meta = meta
    readonly args: A

    constructor(...args: A) {
      super()
      this.args = args
    }

    key(): string {
      return key === undefined ? defaultKey(name, this.args) : key(...this.args)
    }

    load(options?: LoadOptions): Promise<T> {
      if (load !== undefined) return load.call(options ?? NO_OPTIONS, ...this.args)
      return Promise.reject(
        new NodeDefinitionError(
          'CACHEME_INVALID_NODE',
          `${name} was built without load: use it through memoize`,
        ),
      )
    }
  }
  if (tags !== undefined) {
    Object.defineProperty(Built.prototype, 'tags', {
      value(this: Built) {
        return tags(...this.args)
      },
    })
  }
  if (loadAll !== undefined) {
    Object.defineProperty(Built, 'loadAll', {
      value: (nodes: readonly Built[], options?: LoadOptions) =>
        loadAll(
          nodes.map((node) => node.args),
          options,
        ),
    })
  }
  Object.defineProperty(Built, 'name', { value: name })
  knownNodes.add(Built)
  return Built
}
