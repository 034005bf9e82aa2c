// memoize: an existing async function cached under a node class; the function is the loader.

import { InvalidArgumentError } from '../errors'
import type { Node, NodeClass } from '../node'
import { recordOf } from '../runtime/record'
import type { Loader } from './load'
import { cachedRead } from './read'

/** Result of `memoize(NodeClass)(fn)`: say which node caches a call. */
export interface Memoizer<A extends unknown[], T, This> {
  /** `mapper` gets the same arguments (and `this`) as the function and returns its node. */
  toNode(mapper: (this: This, ...args: A) => Node<T>): (this: This, ...args: A) => Promise<T>
}

/**
 * Caches an existing async function (or method) under a node class: the function is the loader,
 * and `.toNode(mapper)` maps its arguments to the node.
 *
 *     const getUser = memoize(UserNode)(async (id: number) => db.user(id)).toNode((id) => new UserNode(id))
 */
export function memoize<T>(
  nodeClass: NodeClass<T>,
): <A extends unknown[], This = unknown>(fn: (this: This, ...args: A) => Promise<T>) => Memoizer<A, T, This> {
  recordOf(nodeClass, 'memoize')
  return <A extends unknown[], This>(fn: (this: This, ...args: A) => Promise<T>): Memoizer<A, T, This> => {
    if (typeof fn !== 'function') {
      throw new InvalidArgumentError('CACHEME_INVALID_ARGUMENT', 'memoize(NodeClass) wraps a function')
    }
    return {
      toNode(mapper) {
        if (typeof mapper !== 'function') {
          throw new InvalidArgumentError(
            'CACHEME_INVALID_ARGUMENT',
            'toNode needs a function from arguments to a node',
          )
        }
        return function memoized(this: This, ...args: A): Promise<T> {
          return readVia(nodeClass, mapper.apply(this, args), () => fn.apply(this, args)) as Promise<T>
        }
      },
    }
  }
}

/** get through `loader`, after checking that the mapper gave a node of the memoized class. */
function readVia(nodeClass: NodeClass, node: Node<unknown>, loader: Loader): Promise<unknown> {
  if (node?.constructor !== (nodeClass as unknown)) {
    return Promise.reject(
      new InvalidArgumentError(
        'CACHEME_INVALID_NODE',
        `toNode must return a ${nodeClass.name}; got ${node === null || typeof node !== 'object' ? String(node) : node.constructor.name}`,
      ),
    )
  }
  return cachedRead(node, loader, 'memoize')
}
