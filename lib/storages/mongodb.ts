// `mongodb://` storage over the official driver (poolSize → `maxPoolSize`, default 100). Other driver
// settings go in the URL's query (e.g. `?serverSelectionTimeoutMS=2000`, `tls=true`).
//
// One collection (mongo.js, indexes created when missing) of documents
// `{ key, value: Binary, expire: Date | null, updated_at: Date }`, with a unique index on key and an
// index on expire. Unlike the SQL backends, expiry is judged by this process's clock: a query
// filter cannot read the server's. Batches: getMany is one `$in` find (its first batch sized to hold
// every key), setMany one ordered bulkWrite of upserts. Expired documents are misses on every read;
// cleanupExpired deletes them a bounded batch at a time.

import type { AnyBulkWriteOperation, Collection, MongoClient, MongoServerError } from 'mongodb'
import type { RemoteBackend } from './backend'
import type { RemoteEntry, RemoteStorage } from './remote'
import {
  CLEANUP_BATCH,
  checkCleanupLimit,
  closedError,
  failure,
  integerOption,
  messageOf,
  type OptionChecks,
  readOptions,
  redact,
  retrying,
  storageError,
} from './shared'
import { checkName, DEFAULT_TABLE, MAX_KEY_LENGTH, TABLE_BACKEND } from './sql-names'

export interface MongoStorageOptions {
  /** mongodb: database name (default: the URL's path, else `cacheme`). */
  readonly database?: string | undefined
  /** mongodb: collection name (default `cacheme_data`). */
  readonly collection?: string | undefined
  /** mongodb: the driver's maxPoolSize (default 100). */
  readonly poolSize?: number | undefined
}

const OPTIONS: OptionChecks<MongoStorageOptions> = {
  collection: (collection = DEFAULT_TABLE) => checkName('collection', collection),
  poolSize: integerOption('mongodb poolSize', 1, 10_000, 100),
  // `client.db()` without a name is the URL's database; the driver says "test" when there is none.
  database: (database, url) => {
    const fromUrl = /^mongodb(?:\+srv)?:\/\/[^/]*\/([^?]+)/.exec(url)?.[1]
    return checkName('database', database ?? (fromUrl ? decodeURIComponent(fromUrl) : 'cacheme'))
  },
}

interface CacheDocument {
  key: string
  value: Buffer
  expire: Date | null
  updated_at: Date
}

/** Keys per find, and entries per bulkWrite on MongoDB. */
const CHUNK = 1000
// FerretDB 1.x keeps one backend connection per statement of an `update` command until the whole
// command ends, and its backend pools hold 50 (PostgreSQL) or 100 (SQLite) connections: a larger batch
// of upserts that match existing documents deadlocks it. Against FerretDB 1.x, writes go in chunks
// of this size instead.
const FERRETDB_V1_WRITE_CHUNK = 40
/** Attempts for a write that lost an upsert race on the unique key (E11000) to a concurrent writer. */
const DUPLICATE_ATTEMPTS = 3

/** The indexes of mongo.js (a test keeps the two identical). */
export const MONGO_INDEXES = [
  { key: { key: 1 }, name: 'key_1', unique: true },
  { key: { expire: 1 }, name: 'expire_1' },
] as const

const isDuplicateKey = (error: unknown) => (error as MongoServerError).code === 11000

/** A live entry: no expiry, or one still ahead. `expire: null` also matches a missing field. */
function live(now: Date) {
  return { $or: [{ expire: null }, { expire: { $gt: now } }] }
}

export class MongoStorage implements RemoteStorage {
  readonly maxKeyLength = MAX_KEY_LENGTH
  readonly #client: MongoClient
  readonly #collection: Collection<CacheDocument>
  readonly #writeChunk: number
  #closed = false

  private constructor(client: MongoClient, collection: Collection<CacheDocument>, writeChunk: number) {
    this.#client = client
    this.#collection = collection
    this.#writeChunk = writeChunk
  }

  /** Connects, then creates the collection's indexes when missing. */
  static async open(url: string, options: MongoStorageOptions = {}): Promise<MongoStorage> {
    const { collection: collectionName, poolSize, database } = readOptions(OPTIONS, options, url)
    // mongodb is an optional peer dependency: required when a storage opens, not when cacheme loads.
    const mongodb = require('mongodb') as typeof import('mongodb')
    const client = new mongodb.MongoClient(url, { maxPoolSize: poolSize })
    try {
      await client.connect()
      const build = await client.db('admin').command({ buildInfo: 1 })
      const ferretdbV1 = /^v?1\./.test(String(build.ferretdbVersion ?? ''))
      const collection = client.db(database).collection<CacheDocument>(collectionName)
      // One index per command: FerretDB 1.x drops the connection when one createIndexes names
      // several indexes that already exist.
      for (const index of MONGO_INDEXES) await collection.createIndexes([{ ...index }])
      return new MongoStorage(client, collection, ferretdbV1 ? FERRETDB_V1_WRITE_CHUNK : CHUNK)
    } catch (error) {
      await client.close().catch(() => {})
      throw storageError('mongodb', `cannot open ${redact(url)}: ${messageOf(error)}`, error)
    }
  }

  async get(key: string): Promise<Buffer | undefined> {
    const collection = this.#open()
    try {
      const document = await collection.findOne(
        { key, ...live(new Date()) },
        { projection: { _id: 0, value: 1 }, promoteBuffers: true },
      )
      return document?.value
    } catch (error) {
      throw failure('mongodb', 'find', error)
    }
  }

  async getMany(keys: readonly string[]): Promise<(Buffer | undefined)[]> {
    if (keys.length === 0) return []
    const collection = this.#open()
    const found = new Map<string, Buffer>()
    try {
      for (let start = 0; start < keys.length; start += CHUNK) {
        const chunk = keys.slice(start, start + CHUNK)
        const documents = await collection
          .find(
            { key: { $in: chunk }, ...live(new Date()) },
            // limit = batchSize: the first reply holds every match and closes the cursor (a batch
            // merely filled to batchSize would leave it open and cost an empty getMore).
            {
              projection: { _id: 0, key: 1, value: 1 },
              promoteBuffers: true,
              limit: chunk.length,
              batchSize: chunk.length,
            },
          )
          .toArray()
        for (const document of documents) found.set(document.key, document.value)
      }
    } catch (error) {
      throw failure('mongodb', 'find', error)
    }
    return keys.map((key) => found.get(key))
  }

  async set(key: string, value: Buffer, ttlMs: number | null): Promise<void> {
    await this.setMany([[key, value]], ttlMs)
  }

  async setMany(entries: readonly RemoteEntry[], ttlMs: number | null): Promise<void> {
    if (entries.length === 0) return
    const collection = this.#open()
    const now = new Date()
    const expire = ttlMs === null ? null : new Date(now.getTime() + ttlMs)
    for (let start = 0; start < entries.length; start += this.#writeChunk) {
      const operations = entries.slice(start, start + this.#writeChunk).map(
        ([key, value]): AnyBulkWriteOperation<CacheDocument> => ({
          updateOne: { filter: { key }, update: { $set: { value, expire, updated_at: now } }, upsert: true },
        }),
      )
      // Ordered, so a later entry for a key wins. Two upserts racing to insert one new key can lose
      // to each other on the unique index; repeating the batch is safe (each write is a plain set).
      try {
        await retrying(DUPLICATE_ATTEMPTS, isDuplicateKey, () =>
          collection.bulkWrite(operations, { ordered: true }),
        )
      } catch (error) {
        throw failure('mongodb', 'bulkWrite', error)
      }
    }
  }

  async remove(key: string): Promise<void> {
    await this.removeMany([key])
  }

  async removeMany(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return
    const collection = this.#open()
    try {
      for (let start = 0; start < keys.length; start += CHUNK) {
        await collection.deleteMany({ key: { $in: keys.slice(start, start + CHUNK) } })
      }
    } catch (error) {
      throw failure('mongodb', 'delete', error)
    }
  }

  /** Deletes up to `limit` expired documents; returns how many. */
  async cleanupExpired(limit = CLEANUP_BATCH): Promise<number> {
    checkCleanupLimit(limit)
    const collection = this.#open()
    const now = new Date()
    try {
      // deleteMany has no limit: pick the ids first. The repeated expire test spares a document
      // rewritten with a new expiry in between.
      const expired = await collection
        .find({ expire: { $lte: now } }, { projection: { _id: 1 }, limit, batchSize: limit })
        .toArray()
      if (expired.length === 0) return 0
      const result = await collection.deleteMany({
        _id: { $in: expired.map((document) => document._id) },
        expire: { $lte: now },
      })
      return result.deletedCount
    } catch (error) {
      throw failure('mongodb', 'cleanup', error)
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await this.#client.close()
  }

  #open(): Collection<CacheDocument> {
    if (this.#closed) throw closedError('mongodb')
    return this.#collection
  }
}

/** Opens a `mongodb://` storage (see MongoStorage). */
export function openMongo(url: string, options: MongoStorageOptions = {}): Promise<MongoStorage> {
  return MongoStorage.open(url, options)
}

/** `mongodb://` and `mongodb+srv://` over the official driver. */
export const mongodbBackend: RemoteBackend<MongoStorageOptions> = {
  ...TABLE_BACKEND,
  name: 'mongodb',
  schemes: ['mongodb', 'mongodb+srv'],
  options: OPTIONS,
  driver: { package: 'mongodb', install: 'npm install mongodb' },
  open: (url, _rest, options) => MongoStorage.open(url, options),
}
