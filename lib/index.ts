// Package root. The framework (nodes, API, remote storages) builds on these.

export {
  close,
  get,
  getAll,
  invalidate,
  invalidateAll,
  invalidateTags,
  type Memoizer,
  memoize,
  type NodeStats,
  nodes,
  type OneClass,
  refresh,
  set,
  setAll,
  stats,
} from './api'
export { BloomFilter } from './bloom'
export { Bus, type BusOptions, type BusStats } from './bus/bus'
export { Cache, type CacheOptions, type TtlFunction } from './cache'
export { busStats, setBus } from './coherence'
export {
  CachemeError,
  type CachemeErrorCode,
  InvalidArgumentError,
  LoadError,
  NodeDefinitionError,
  SerializationError,
  StorageError,
} from './errors'
export { type CacheErrorEvent, type CacheErrorKind, type CacheErrorListener, onError } from './events'
export type { FreshnessOptions } from './freshness'
export { setPrefix } from './keys'
export type { LocalStorageStats } from './native'
export {
  type BuildNodeOptions,
  type BuiltNode,
  type BuiltNodeClass,
  buildNode,
  type LoadOptions,
  Node,
  type NodeClass,
  type NodeMeta,
  type NodeValue,
} from './node'
export {
  CompressedJSONSerializer,
  CompressedMsgPackSerializer,
  CompressedV8Serializer,
  JSONSerializer,
  MsgPackSerializer,
  type Serializer,
  V8Serializer,
} from './serializers'
export {
  type ConformanceSuite,
  type ConformanceTarget,
  type ConformanceTest,
  runStorageConformance,
  storageConformance,
} from './storages/conformance'
export { type LocalPolicy, LocalStore, type LocalStoreOptions, MAX_LOCAL_SIZE } from './storages/local'
export type { RemoteEntry, RemoteStorage } from './storages/remote'
export { registerStorage, Storage, type StorageOptions } from './storages/storage'
export {
  CHANNEL_NAMES,
  type Operation,
  type OperationContext,
  type StorageContext,
} from './telemetry/channels'
export {
  type CacheEventListener,
  type CacheEventName,
  type CacheEvents,
  type EvictionEvent,
  type HitEvent,
  type LoadEvent,
  type MissEvent,
  on,
} from './telemetry/events'
export {
  type Instrumentation,
  instrumentOpenTelemetry,
  type MeterProviderLike,
  type OpenTelemetryOptions,
  type TracerProviderLike,
} from './telemetry/otel'
export { type PrometheusRegistryLike, registerPrometheus } from './telemetry/prometheus'
