// Every error cacheme throws is a CachemeError with a stable `code`, so callers can branch on the
// kind of failure without parsing messages.

export type CachemeErrorCode =
  | 'CACHEME_INVALID_ARGUMENT'
  | 'CACHEME_INVALID_KEY'
  | 'CACHEME_INVALID_TTL'
  | 'CACHEME_INVALID_WEIGHT'
  | 'CACHEME_INVALID_NODE'
  | 'CACHEME_UNKNOWN_STORAGE'
  | 'CACHEME_INVALID_STORAGE_URL'
  | 'CACHEME_SERIALIZATION'
  | 'CACHEME_STORAGE'
  | 'CACHEME_TIMEOUT'
  | 'CACHEME_LOAD'
  | 'CACHEME_CLOSED'
  | 'CACHEME_BUS_DROPPED'

export class CachemeError extends Error {
  readonly code: CachemeErrorCode

  constructor(code: CachemeErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = new.target.name
    this.code = code
  }
}

/** A value given to cacheme is not acceptable (bad size, TTL, key, option…). */
export class InvalidArgumentError extends CachemeError {}

/** A node class or its `meta` is malformed. */
export class NodeDefinitionError extends CachemeError {}

/** A storage could not be configured, reached or used. */
export class StorageError extends CachemeError {}

/** A value could not be encoded, or stored bytes could not be decoded. */
export class SerializationError extends CachemeError {}

/**
 * A node's load failed (`CACHEME_LOAD`, reported through onError when a stale value was answered
 * instead, with the loader's error as `cause`) or outlived the node's hardTimeout (`CACHEME_TIMEOUT`,
 * thrown to every waiter).
 */
export class LoadError extends CachemeError {}
