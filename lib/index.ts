// Package root. The framework (nodes, API, remote storages) builds on these.
export { BloomFilter } from './bloom'
export {
  CachemeError,
  type CachemeErrorCode,
  InvalidArgumentError,
  NodeDefinitionError,
  SerializationError,
  StorageError,
} from './errors'
export type { LocalStorageStats } from './native'
export { type LocalPolicy, LocalStore, MAX_LOCAL_SIZE } from './storages/local'
