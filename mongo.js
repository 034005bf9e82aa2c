// The indexes behind a `mongodb://` storage. cacheme creates them when missing (on your `database` and
// `collection` options); run this with mongosh to create them up front:
//   mongosh "mongodb://127.0.0.1:27017/cacheme" mongo.js
// Documents are { key, value: BinData, expire: Date | null, updated_at: Date }; a null expire never
// expires. Expired documents are misses on every read and are deleted in bounded batches by
// cleanupExpired (lib/storages/mongodb.ts). expire is a plain index, not a TTL index: add one with
// { expireAfterSeconds: 0 } under another name only if you also want the server's own sweeper.
/* global db */
db.runCommand({
  createIndexes: 'cacheme_data',
  indexes: [
    { key: { key: 1 }, name: 'key_1', unique: true },
    { key: { expire: 1 }, name: 'expire_1' },
  ],
})
