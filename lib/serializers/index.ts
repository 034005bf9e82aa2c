export { CompressedJSONSerializer, CompressedMsgPackSerializer, CompressedV8Serializer } from './compressed'
export { JSONSerializer } from './json'
export { MsgPackSerializer } from './msgpack'
export { isSerializer, type Serializer } from './serializer'
export { V8Serializer } from './v8'

import { MsgPackSerializer } from './msgpack'

/** Used by a remote cache when neither the node nor the storage names a serializer. */
export const defaultSerializer = new MsgPackSerializer()
