// The verbs of the public API, one module per kind.

export { close } from './lifecycle'
export { type Memoizer, memoize } from './memoize'
export { get, getAll, type OneClass } from './read'
export { type NodeStats, nodes, stats } from './stats'
export { invalidateAll, invalidateTags } from './tags'
export { invalidate, refresh, set, setAll } from './write'
