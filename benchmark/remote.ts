// What cacheme costs on top of a server round trip: for each server backend — Redis,
// PostgreSQL, MySQL, MongoDB — throughput of get, set and getAll(20) through cacheme against the raw
// driver doing the same round trip and against keyv with that backend's official adapter, in one
// run, in interleaved rounds.
//
//   cacheme get        `await get(node)` on a warm key; the node class has one remote tier and no
//                      local one, so every get is a round trip (adapter.get) plus msgpack decode
//   cacheme set        `await refresh(node)`: load (an in-memory array), msgpack encode, adapter.set
//   cacheme getAll     `await getAll(20 nodes)`: one batch read (adapter.getMany), all hits
//   raw                the statement the adapter issues, sent through its own client/pool of the
//                      same size, on the same keys of the same table, returning the driver's rows /
//                      Buffers (no decode; set writes a payload encoded once up front)
//   raw + decode       the same, plus what any cache client does with the bytes: decode each value
//                      read, encode each value written (cacheme's header and MessagePack), so that
//                      cacheme against it is the framework's own cost
//   keyv               keyv 5 over @keyv/redis, @keyv/postgres, @keyv/mysql or @keyv/mongo (their
//                      own clients and defaults, own table/namespace on the same server): get,
//                      set (with the TTL) and getMany, values serialized by keyv itself
//
// Every contender keeps CONCURRENCY requests in flight over a bounded number of operations; keys
// in flight at once are distinct, so cacheme never coalesces two requests into one round trip (its
// coalesced-hit and miss counters are printed to show it). Each run uses its own table, collection
// and key prefix and removes them at the end. Prints figures, asserts nothing.
//
//   npm run bench:remote            (node dist/benchmark/remote.js [--quick] [--no-keyv] [--json FILE])
//   REDIS_URL, POSTGRES_URL, MYSQL_URL, MONGO_URL override the loopback defaults of
//   scripts/services.sh; a backend that does not answer is skipped.

import KeyvMongo from '@keyv/mongo'
import KeyvMysql from '@keyv/mysql'
import KeyvPostgres from '@keyv/postgres'
import KeyvRedis from '@keyv/redis'
import { createClient, RESP_TYPES } from '@redis/client'
import Keyv from 'keyv'
import { MongoClient } from 'mongodb'
import { createPool } from 'mysql2/promise'
import { Pool } from 'pg'
import {
  Cache,
  close,
  get,
  getAll,
  MsgPackSerializer,
  Node,
  refresh,
  registerStorage,
  Storage,
  setPrefix,
  stats,
} from '../lib'
import { frame, tagOf, unframe } from '../lib/serializers/frame'
import { YoungMap } from '../lib/young-map'
import { machine } from './machine'
import { emit, table as markdownTable, times } from './section'

const quick = process.argv.includes('--quick')
const verbose = process.argv.includes('--verbose')
/** --no-keyv leaves keyv out (two contenders instead of three). */
const withKeyv = !process.argv.includes('--no-keyv')
/** BENCH_BACKENDS=redis,mysql runs only those backends. */
const only = process.env.BENCH_BACKENDS?.split(',')
const trace = (message: string) => {
  if (verbose) console.error(`    [${new Date().toISOString().slice(11, 23)}] ${message}`)
}
const KEYS = 10_000
const BATCH = 20
const CONCURRENCY = 32
const ROUNDS = 5
/** Operations per contender per round (a getAll counts as one operation of BATCH keys). */
const OPS = { get: quick ? 1_000 : 4_000, set: quick ? 1_000 : 4_000, getAll: quick ? 300 : 2_000 }
const TTL_MS = 3_600_000
/** Pool size of both sides of the SQL backends (the adapters' default) and of MongoDB (likewise). */
const SQL_POOL = 10
const MONGO_POOL = 100

const RUN = `bench_${process.pid}_${Date.now().toString(36)}`
const URLS = {
  redis: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  postgresql: process.env.POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/test',
  mysql: process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test',
  mongodb: process.env.MONGO_URL ?? 'mongodb://127.0.0.1:27017/test',
}

interface User {
  id: number
  name: string
  email: string
}

const users: User[] = Array.from({ length: KEYS }, (_, id) => ({
  id,
  name: `user ${id}`,
  email: `user${id}@example.com`,
}))

// Keys in a shuffled order, walked in sequence: the CONCURRENCY (× BATCH) keys in flight at any
// moment are distinct. A fixed LCG seed gives every run the same order.
function shuffled(count: number): number[] {
  const ids = Array.from({ length: count }, (_, i) => i)
  let seed = 12345
  for (let i = count - 1; i > 0; i--) {
    seed = (seed * 1103515245 + 12345) >>> 0
    const j = seed % (i + 1)
    ;[ids[i], ids[j]] = [ids[j] as number, ids[i] as number]
  }
  return ids
}

type Op = 'get' | 'set' | 'getAll'
const every = (factor: number): Record<Op, number> => ({ get: factor, set: factor, getAll: factor })

// FerretDB 1.x (standing in for MongoDB in scripts/services.sh) has PostgreSQL filter a key's
// equality by scanning the table, and answers `$in` by reading every document itself, so a read or
// an upsert costs time linear in the number of documents: there, 1,000 keys (still > CONCURRENCY ×
// BATCH, so keys in flight stay distinct), 7.5% of the single-key operations and 0.75% of the
// batches.
// Redis answers fast enough that a round of 4,000 operations lasts well under a second, where one GC
// pause or JIT tier-up moves a contender's figure by 10 points: longer rounds there.
const SCALE: Record<Backend, { keys: number; ops: Record<Op, number> }> = {
  redis: { keys: KEYS, ops: every(6) },
  postgresql: { keys: KEYS, ops: every(1) },
  mysql: { keys: KEYS, ops: every(1) },
  mongodb: { keys: 1_000, ops: { get: 0.075, set: 0.075, getAll: 0.0075 } },
}

const serializer = new MsgPackSerializer()
/** The payloads cacheme stores for each user (its two-byte header, then msgpack), for the raw writes. */
const payloads: Buffer[] = users.map((user) => frame(tagOf(serializer), serializer.dumps(user)))

type Backend = 'redis' | 'postgresql' | 'mysql' | 'mongodb'

/** A node class per backend: that backend as its only tier. */
function nodeClass(storage: Backend) {
  return class extends Node<User> {
    static meta = { version: 'v1', caches: [new Cache({ storage, ttl: TTL_MS })] }
    constructor(readonly id: number) {
      super()
    }
    key() {
      return `user:${this.id}`
    }
    async load(): Promise<User> {
      return users[this.id] as User
    }
  }
}

/** The key cacheme stores `user:id` under (prefix set below, version v1). */
const storedKey = (id: number) => `${RUN}:user:${id}:v1`
const keys: string[] = users.map((user) => storedKey(user.id))

const TAG = tagOf(serializer)
/** A stored payload as cacheme decodes it (header, then MessagePack). */
const decodePayload = (payload: Buffer) => serializer.loads(unframe(TAG, payload))
/**
 * The least bookkeeping that SPEC §2's coalescing asks of any cache ("concurrent get/getAll of one
 * stored key share one read-through"): per key, the stored key built per request (as cacheme builds
 * `{prefix}:{key}:{version}`), a lookup in a table of keys in flight, an entry while the round trip
 * runs, its removal after. Nothing else: no tiers, timeouts, metrics or error handling. cacheme ×
 * this floor is what its remaining machinery costs; floor × (raw + decode) is what coalescing costs.
 */
function coalescingFloor() {
  // A YoungMap, as cacheme's own table (lib/young-map.ts): a long-lived Map taking young keys was
  // measured slower than this whole floor should be.
  const inFlight = new YoungMap<string, number>()
  const head = `${RUN}:`
  return {
    /** Stored keys of `ids`, each entered in the table (checked first, as a join would be). */
    enter(ids: readonly number[]): string[] {
      const stored = new Array<string>(ids.length)
      for (let j = 0; j < ids.length; j++) {
        const key = `${head}${`user:${ids[j]}`}:v1`
        if (inFlight.get(key) === undefined) inFlight.set(key, j)
        stored[j] = key
      }
      return stored
    },
    leave(stored: readonly string[]): void {
      for (const key of stored) inFlight.delete(key)
    },
  }
}

/** A value as a driver returns it: a Buffer, a row or document holding one, or a BSON Binary. */
function asPayload(item: unknown): Buffer | null {
  if (item === null || item === undefined) return null
  if (Buffer.isBuffer(item)) return item
  const value = (item as { value?: unknown }).value
  if (value !== undefined) return asPayload(value)
  const bytes = (item as { buffer?: Uint8Array }).buffer
  return bytes === undefined ? null : Buffer.from(bytes)
}
/** The payloads of a raw batch read, in the driver's order. */
const payloadsOf = (found: unknown): (Buffer | null)[] => (found as unknown[]).map(asPayload)

/** The raw side of one backend: the adapter's statements, issued directly. */
interface Raw {
  get(key: string): Promise<unknown>
  set(key: string, value: Buffer): Promise<unknown>
  getMany(keys: string[]): Promise<unknown>
  /** Drops another table / collection of this run (keyv's), before drop(). */
  dropTable(name: string): Promise<void>
  /** Removes what this run stored, then closes the client. */
  drop(): Promise<void>
}

/** The driver the adapter uses (lib/storages/redis.ts), reading strings as Buffers as it does. */
async function rawRedis(url: string): Promise<Raw> {
  const client = createClient({ url }).withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer })
  client.on('error', () => {})
  await client.connect()
  // Raw arguments, as lib/storages/redis.ts sends GET and SET.
  const asBuffers = { typeMapping: { [RESP_TYPES.BLOB_STRING]: Buffer } }
  const ttl = String(TTL_MS)
  return {
    get: (key) => client.sendCommand(['GET', key], asBuffers),
    set: (key, value) => client.sendCommand(['SET', key, value, 'PX', ttl], asBuffers),
    getMany: (keys) => client.mGet(keys),
    async dropTable() {},
    async drop() {
      for (let i = 0; i < keys.length; i += 1000) await client.del(keys.slice(i, i + 1000))
      await client.close()
    },
  }
}

async function rawPostgres(url: string, table: string): Promise<Raw> {
  const pool = new Pool({ connectionString: url, max: SQL_POOL })
  pool.on('error', () => {})
  const t = `"${table}"`
  const live = '(expire IS NULL OR expire > now())'
  const expire = "now() + $1::double precision * interval '1 millisecond'"
  // lib/storages/postgresql.ts: get, getMany and upsert(1), verbatim.
  const getSql = `SELECT value FROM ${t} WHERE key = $1 AND ${live}`
  const getManySql = `SELECT key, value FROM ${t} WHERE key = ANY($1::varchar[]) AND ${live}`
  const setSql = `INSERT INTO ${t} (key, value, expire, updated_at) VALUES ($2, $3, ${expire}, now())
ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, expire = EXCLUDED.expire, updated_at = EXCLUDED.updated_at`
  // Named (prepared once per connection), as the storage runs them by default.
  const named = (name: string, text: string) => (values: unknown[]) => pool.query({ name, text, values })
  const getNamed = named(`raw_get_${table}`, getSql)
  const setNamed = named(`raw_set_${table}`, setSql)
  const getManyNamed = named(`raw_get_many_${table}`, getManySql)
  return {
    get: async (key) => (await getNamed([key])).rows[0]?.value,
    set: (key, value) => setNamed([TTL_MS, key, value]),
    getMany: async (keys) => (await getManyNamed([keys])).rows,
    async dropTable(name) {
      await pool.query(`DROP TABLE IF EXISTS "${name}"`)
    },
    async drop() {
      await pool.query(`DROP TABLE IF EXISTS ${t}`)
      await pool.end()
    },
  }
}

async function rawMysql(url: string, table: string): Promise<Raw> {
  const pool = createPool({ uri: url, connectionLimit: SQL_POOL, waitForConnections: true, queueLimit: 0 })
  const t = `\`${table}\``
  // lib/storages/mysql.ts: get is getMany of one key; a batch of 20 keys is padded to 32 by
  // repeating the last key (one prepared statement per power of two); set is a one-row upsert.
  const select = (n: number) =>
    `SELECT \`key\`, value FROM ${t}
WHERE \`key\` IN (${new Array<string>(n).fill('?').join(', ')}) AND (expire IS NULL OR expire > UTC_TIMESTAMP(3))`
  const getSql = select(1)
  const padded = 2 ** Math.ceil(Math.log2(BATCH))
  const getManySql = select(padded)
  const setSql = `INSERT INTO ${t} (\`key\`, value, expire, updated_at)
VALUES (?, ?, UTC_TIMESTAMP(3) + INTERVAL ? MICROSECOND, UTC_TIMESTAMP(3))
ON DUPLICATE KEY UPDATE value = VALUES(value), expire = VALUES(expire), updated_at = VALUES(updated_at)`
  return {
    get: async (key) => ((await pool.execute(getSql, [key]))[0] as { value: Buffer }[])[0]?.value,
    set: (key, value) => pool.execute(setSql, [key, value, TTL_MS * 1000]),
    getMany: async (keys) => {
      const params = keys.slice()
      const last = params[params.length - 1] as string
      while (params.length < padded) params.push(last)
      return (await pool.execute(getManySql, params))[0]
    },
    async dropTable(name) {
      await pool.query(`DROP TABLE IF EXISTS \`${name}\``)
    },
    async drop() {
      await pool.query(`DROP TABLE IF EXISTS ${t}`)
      await pool.end()
    },
  }
}

async function rawMongo(url: string, collectionName: string): Promise<Raw> {
  const client = new MongoClient(url, { maxPoolSize: MONGO_POOL })
  await client.connect()
  const collection = client
    .db()
    .collection<{ key: string; value: Buffer; expire: Date | null }>(collectionName)
  const live = () => ({ $or: [{ expire: null }, { expire: { $gt: new Date() } }] })
  // lib/storages/mongodb.ts: findOne, find $in (first batch holds every match), and the upsert its
  // set sends as a one-operation bulkWrite (the same `update` command as updateOne).
  return {
    get: async (key) =>
      (
        await collection.findOne(
          { key, ...live() },
          { projection: { _id: 0, value: 1 }, promoteBuffers: true },
        )
      )?.value,
    set: (key, value) => {
      const now = new Date()
      return collection.updateOne(
        { key },
        { $set: { value, expire: new Date(now.getTime() + TTL_MS), updated_at: now } },
        { upsert: true },
      )
    },
    getMany: (keys) =>
      collection
        .find(
          { key: { $in: keys }, ...live() },
          {
            projection: { _id: 0, key: 1, value: 1 },
            promoteBuffers: true,
            limit: keys.length,
            batchSize: keys.length,
          },
        )
        .toArray(),
    async dropTable(name) {
      await client
        .db()
        .collection(name)
        .drop()
        .catch(() => {})
    },
    async drop() {
      await collection.drop().catch(() => {})
      await client.close()
    },
  }
}

/** Runs op(0) … op(total − 1) with at most CONCURRENCY in flight; returns elapsed nanoseconds. */
async function drive(total: number, op: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0
  const start = process.hrtime.bigint()
  const worker = async () => {
    while (next < total) await op(next++)
  }
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, total) }, worker))
  return Number(process.hrtime.bigint() - start)
}

type Side = 'raw' | 'decoded' | 'floor' | 'cacheme' | 'keyv'
type Runner = (i: number) => Promise<unknown>

interface Row {
  backend: string
  op: string
  raw: number
  /** The raw driver plus the serializer work any cache client does: decode each read, encode each write. */
  decoded: number
  /** raw + decode plus the per-key table that coalescing needs (see coalescingFloor). */
  floor: number
  cacheme: number
  /** keyv with the backend's adapter (absent with --no-keyv or if it could not open). */
  keyv?: number
}

/** The keyv side: its own table / collection / namespace on the same server. */
const KEYV_TABLE = `${RUN}_keyv`

function openKeyv(backend: Backend): Keyv {
  const store =
    backend === 'redis'
      ? new KeyvRedis(URLS.redis)
      : backend === 'postgresql'
        ? new KeyvPostgres({ uri: URLS.postgresql, table: KEYV_TABLE })
        : backend === 'mysql'
          ? new KeyvMysql({ uri: URLS.mysql, table: KEYV_TABLE })
          : new KeyvMongo({ url: URLS.mongodb, collection: KEYV_TABLE })
  const keyv = new Keyv({ store, namespace: KEYV_TABLE })
  keyv.on('error', () => {})
  return keyv
}

let rawMisses = 0
let keyvMisses = 0
/** Backends whose measurement failed, with the error. */
const failures: string[] = []
/** Backends keyv was left out of, with the reason. */
const keyvLeftOut: string[] = []
/** Longest the keyv side may take to warm its keys. */
const KEYV_WARM_S = 30

/** Waits for `promise` (ignoring its outcome) or `ms`, whichever comes first. */
async function within(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  await Promise.race([
    promise.catch(() => {}),
    new Promise((resolve) => {
      timer = setTimeout(resolve, ms)
    }),
  ])
  clearTimeout(timer)
}

/** Stands in for keyv when it is left out (its runners are then never called). */
function openKeyvPlaceholder(): Keyv {
  return new Keyv()
}

async function measure(backend: Backend, label: string, raw: Raw, keyvIn: Keyv | undefined): Promise<Row[]> {
  let keyv = keyvIn
  const UserNode = nodeClass(backend)
  const { keys: keyCount, ops: scale } = SCALE[backend]
  const reduced = Object.values(scale).some((factor) => factor < 1)
  const order = shuffled(keyCount)
  const idAt = (i: number) => order[i % keyCount] as number
  const batchIds = (i: number) => Array.from({ length: BATCH }, (_, j) => idAt(i * BATCH + j))
  // Warm every key through cacheme (misses, loads, one batch write per getAll).
  trace(`${label} warming ${keyCount} keys`)
  for (let i = 0; i < keyCount; i += 500) {
    await getAll(Array.from({ length: Math.min(500, keyCount - i) }, (_, j) => new UserNode(i + j)))
  }
  if (keyv !== undefined) {
    trace(`${label} warming ${keyCount} keys through keyv`)
    const store = keyv
    const warm = async () => {
      for (let i = 0; i < keyCount; i += 100) {
        await Promise.all(
          Array.from({ length: Math.min(100, keyCount - i) }, (_, j) =>
            store.set(`user:${i + j}`, users[i + j] as User, TTL_MS),
          ),
        )
      }
    }
    // An adapter that cannot work with this server (keyv's Mongo adapter on FerretDB 1.x) is left
    // out with the reason instead of holding up the run.
    let timer: NodeJS.Timeout | undefined
    const failure = await Promise.race([
      warm().then(
        () => undefined,
        (error: unknown) => `failed: ${(error as Error).message}`,
      ),
      new Promise<string>((resolve) => {
        timer = setTimeout(
          () => resolve(`warming ${keyCount} keys took over ${KEYV_WARM_S} s`),
          KEYV_WARM_S * 1000,
        )
      }),
    ])
    clearTimeout(timer)
    if (failure !== undefined) {
      keyvLeftOut.push(`${label}: ${failure}`)
      console.log(`  ${label}: keyv left out (${failure})`)
      keyv = undefined
    }
  }
  const counted = (value: unknown) => {
    if (value === undefined || value === null) rawMisses++
  }
  const keyvSide = keyv ?? openKeyvPlaceholder()
  const floor = coalescingFloor()
  const runners: Record<Op, Record<Side, Runner>> = {
    get: {
      raw: async (i) => counted(await raw.get(keys[idAt(i)] as string)),
      decoded: async (i) => {
        const payload = asPayload(await raw.get(keys[idAt(i)] as string))
        if (payload === null) rawMisses++
        else decodePayload(payload)
      },
      floor: async (i) => {
        const stored = floor.enter([idAt(i)])
        const payload = asPayload(await raw.get(stored[0] as string))
        floor.leave(stored)
        if (payload === null) rawMisses++
        else decodePayload(payload)
      },
      cacheme: (i) => get(new UserNode(idAt(i))),
      keyv: async (i) => {
        if ((await keyvSide.get(`user:${idAt(i)}`)) === undefined) keyvMisses++
      },
    },
    set: {
      raw: (i) => {
        const id = idAt(i)
        return raw.set(keys[id] as string, payloads[id] as Buffer)
      },
      decoded: (i) => {
        const id = idAt(i)
        return raw.set(keys[id] as string, frame(TAG, serializer.dumps(users[id])))
      },
      floor: async (i) => {
        const id = idAt(i)
        const stored = floor.enter([id])
        await raw.set(stored[0] as string, frame(TAG, serializer.dumps(users[id])))
        floor.leave(stored)
      },
      cacheme: (i) => refresh(new UserNode(idAt(i))),
      keyv: (i) => {
        const id = idAt(i)
        return keyvSide.set(`user:${id}`, users[id] as User, TTL_MS)
      },
    },
    getAll: {
      raw: async (i) => {
        const found = (await raw.getMany(batchIds(i).map((id) => keys[id] as string))) as unknown[]
        if (found.length !== BATCH || found.some((value) => value === null)) rawMisses++
      },
      decoded: async (i) => {
        const found = payloadsOf(await raw.getMany(batchIds(i).map((id) => keys[id] as string)))
        if (found.length !== BATCH) rawMisses++
        for (const payload of found) if (payload !== null) decodePayload(payload)
      },
      floor: async (i) => {
        const stored = floor.enter(batchIds(i))
        const found = payloadsOf(await raw.getMany(stored))
        floor.leave(stored)
        if (found.length !== BATCH) rawMisses++
        for (const payload of found) if (payload !== null) decodePayload(payload)
      },
      cacheme: (i) => getAll(batchIds(i).map((id) => new UserNode(id))),
      keyv: async (i) => {
        const found = await keyvSide.getMany(batchIds(i).map((id) => `user:${id}`))
        if (found.some((value) => value === undefined)) keyvMisses++
      },
    },
  }
  const before = stats(UserNode)
  const rows: Row[] = []
  for (const op of ['get', 'set', 'getAll'] as const) {
    // Keys in flight at once must be distinct, or cacheme would join a lagging read (coalesce)
    // where the raw driver reads again. A round may walk the keys more than once only where a pass
    // is far longer than the CONCURRENCY requests in flight; elsewhere (MongoDB's 1,000 keys in
    // batches of 20) one pass per round. Coalesced hits would show in the check after the loop.
    const pass = Math.floor(keyCount / (op === 'getAll' ? BATCH : 1))
    const wanted = Math.round(OPS[op] * scale[op])
    const total = pass >= 10 * CONCURRENCY ? wanted : Math.min(wanted, pass)
    const sides: Side[] =
      keyv === undefined
        ? ['raw', 'decoded', 'floor', 'cacheme']
        : ['raw', 'decoded', 'floor', 'cacheme', 'keyv']
    // Warm-up (connections, prepared statements, JIT), not timed.
    for (const side of sides) {
      trace(`${label} ${op} ${side} warm-up`)
      await drive(Math.min(total, 1_000), runners[op][side])
    }
    // Per-round rates, reported as the median: one round stalled by the server (a checkpoint, a
    // vacuum) would otherwise weigh on one contender's total.
    const rates: Record<Side, number[]> = { raw: [], decoded: [], floor: [], cacheme: [], keyv: [] }
    for (let round = 0; round < ROUNDS; round++) {
      // Alternate which side goes first; each round walks a different stretch of the key order.
      for (let k = 0; k < sides.length; k++) {
        const side = sides[(round + k) % sides.length] as Side
        const offset = round * total
        trace(`${label} ${op} ${side} round ${round + 1}`)
        const nanos = await drive(total, (i) => (runners[op][side] as Runner)(offset + i))
        rates[side].push(total / (nanos / 1e9))
      }
    }
    const perSec = (side: Side) => {
      const sorted = [...rates[side]].sort((a, b) => a - b)
      return sorted[Math.floor(sorted.length / 2)] as number
    }
    rows.push({
      backend: reduced ? `${label}†` : label,
      op: op === 'getAll' ? `getAll(${BATCH})` : op,
      raw: perSec('raw'),
      decoded: perSec('decoded'),
      floor: perSec('floor'),
      cacheme: perSec('cacheme'),
      ...(keyv === undefined ? {} : { keyv: perSec('keyv') }),
    })
  }
  const after = stats(UserNode)
  // get and getAll must have been hits answered by their own round trip, refresh a load each.
  const misses = after.missCount - before.missCount
  const coalesced = after.coalescedHits - before.coalescedHits
  const errors = after.storageErrorCount + after.decodeErrorCount
  if (misses !== 0 || coalesced !== 0 || errors !== 0) {
    console.log(
      `  ${label}: cacheme misses ${misses}, coalesced hits ${coalesced}, absorbed errors ${errors}`,
    )
  }
  return rows
}

/** The Mongo row's reduced run, in words. */
function mongoScale(): string {
  const { keys, ops } = SCALE.mongodb
  return `${fmt(keys)} keys, ${ops.get * 100}% of the gets and sets and ${ops.getAll * 100}% of the batches`
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US')

async function main(): Promise<void> {
  console.log(`machine: ${machine()}`)
  console.log(
    `remote round trips${quick ? ' (--quick)' : ''}: ${CONCURRENCY} in flight, ${ROUNDS} interleaved rounds of ` +
      `${fmt(OPS.get)} get / ${fmt(OPS.set)} set / ${fmt(OPS.getAll)} getAll(${BATCH}) per contender, ` +
      `${fmt(KEYS)} warm keys, ${payloads[0]?.length}-byte msgpack values; SQL pools ${SQL_POOL}, MongoDB pool ${MONGO_POOL}`,
  )
  setPrefix(RUN)
  const table = RUN
  const backends: [Backend, string, () => Promise<Raw>, Storage][] = [
    ['redis', 'Redis', () => rawRedis(URLS.redis), new Storage({ url: URLS.redis })],
    [
      'postgresql',
      'PostgreSQL',
      () => rawPostgres(URLS.postgresql, table),
      new Storage({ url: URLS.postgresql, table, poolSize: SQL_POOL }),
    ],
    [
      'mysql',
      'MySQL (MariaDB)',
      () => rawMysql(URLS.mysql, table),
      new Storage({ url: URLS.mysql, table, poolSize: SQL_POOL }),
    ],
    [
      'mongodb',
      'MongoDB (FerretDB)',
      () => rawMongo(URLS.mongodb, table),
      // FerretDB can answer a busy upsert in seconds: a timeout above that, so the benchmark
      // measures it instead of cacheme's default 1 s bound.
      new Storage({ url: URLS.mongodb, collection: table, poolSize: MONGO_POOL, timeout: 30_000 }),
    ],
  ]
  const rows: Row[] = []
  /** Dropped after close(): a storage still open would run its expired-row cleanup on a dropped table. */
  const toDrop: Raw[] = []
  for (const [backend, label, openRaw, storage] of backends) {
    if (only !== undefined && !only.includes(backend)) continue
    let raw: Raw | undefined
    try {
      // cacheme opens first: it creates the table / collection indexes the raw side then shares.
      await registerStorage(backend, storage)
      raw = await openRaw()
    } catch (error) {
      console.log(`  ${label}: skipped (${(error as Error).message})`)
      await raw?.drop().catch(() => {})
      continue
    }
    // keyv's Mongo adapter creates a TTL index (expireAfterSeconds), which FerretDB 1.x refuses, and
    // its connect swallows that error and never settles: on FerretDB it only runs when asked for
    // with BENCH_KEYV_MONGO=1 (against a real MongoDB).
    const keyvHere = withKeyv && (backend !== 'mongodb' || process.env.BENCH_KEYV_MONGO === '1')
    if (withKeyv && !keyvHere) {
      keyvLeftOut.push(
        `${label}: @keyv/mongo creates a TTL index (\`expireAfterSeconds\`), which FerretDB 1.x does not ` +
          'implement, and then never finishes connecting (BENCH_KEYV_MONGO=1 runs it against a real MongoDB)',
      )
    }
    const keyv = keyvHere ? openKeyv(backend) : undefined
    try {
      const started = Date.now()
      rows.push(...(await measure(backend, label, raw, keyv)))
      console.log(`  ${label}: ${((Date.now() - started) / 1000).toFixed(1)} s`)
    } catch (error) {
      // One backend failing (FerretDB under load times out) must not lose the others' figures.
      failures.push(`${label}: ${(error as Error).message}`)
      console.log(`  ${label}: failed (${(error as Error).message})`)
    } finally {
      if (keyv !== undefined) {
        // Bounded: an adapter that hung while warming may hang here too.
        await within(keyv.clear(), 10_000)
        await within(keyv.disconnect(), 5_000)
        await raw.dropTable(KEYV_TABLE).catch(() => {})
      }
      toDrop.push(raw)
    }
  }
  await close()
  for (const raw of toDrop) await raw.drop()
  if (rawMisses > 0) console.log(`  raw reads that found nothing: ${rawMisses}`)
  if (keyvMisses > 0) console.log(`  keyv reads that found nothing: ${keyvMisses}`)

  console.log(
    '\n| backend | op | raw driver ops/s | raw + decode ops/s | coalescing floor ops/s | cacheme ops/s | cacheme / (raw + decode) | floor / (raw + decode) | cacheme / floor | keyv ops/s | cacheme / keyv |',
  )
  console.log('|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|')
  for (const row of rows) {
    const keyvCells =
      row.keyv === undefined ? '— | —' : `${fmt(row.keyv)} | ${(row.cacheme / row.keyv).toFixed(2)}`
    console.log(
      `| ${row.backend} | ${row.op} | ${fmt(row.raw)} | ${fmt(row.decoded)} | ${fmt(row.floor)} | ${fmt(row.cacheme)} | ` +
        `${(row.cacheme / row.decoded).toFixed(2)} | ${(row.floor / row.decoded).toFixed(2)} | ${(row.cacheme / row.floor).toFixed(2)} | ${keyvCells} |`,
    )
  }
  if (rows.some((row) => row.backend.endsWith('†'))) {
    console.log(`† ${mongoScale()} (FerretDB scans the collection per query).`)
  }
  console.log(
    `\nget = await get(node), one remote tier and no local one; set = await refresh(node) (load, encode, ` +
      `adapter.set); getAll(${BATCH}) = one adapter.getMany; getAll ops/s are calls (× ${BATCH} keys). ` +
      'floor = raw + decode + the per-key table coalescing needs (coalescingFloor).',
  )
  const markdown = [
    `${CONCURRENCY} requests in flight, median of ${ROUNDS} interleaved rounds of ${fmt(OPS.get)} get / ${fmt(OPS.set)} set / ` +
      `${fmt(OPS.getAll)} getAll(${BATCH}) per contender (× ${SCALE.redis.ops.get} on Redis), ${fmt(KEYS)} warm keys, ${payloads[0]?.length}-byte msgpack values; SQL pools ${SQL_POOL}, MongoDB pool ${MONGO_POOL}. cacheme get = \`await get(node)\` with ` +
      'the server as the only tier (every get a round trip plus decode); set = `await refresh(node)` (load, ' +
      `encode, write); getAll(${BATCH}) = one batch read. raw = the same statement through the bare driver, ` +
      'bytes in and out; raw + decode = the same plus the serializer work any cache client does (MessagePack ' +
      "decode of each value read, encode of each value written, cacheme's 2-byte header), so cacheme × (raw + " +
      "decode) is the framework's own cost (keys, coalescing, tiers, timeouts, metrics); coalescing floor = " +
      'raw + decode plus the least bookkeeping that per-key coalescing (SPEC §2) needs of any cache: the ' +
      'stored key built per request, a lookup and an entry in a table of keys in flight, its removal after ' +
      '(so floor × (raw + decode) is what coalescing alone costs, and cacheme × floor what the rest of ' +
      "cacheme's machinery costs); keyv " +
      '= keyv 5 with the official adapter (`@keyv/redis` on node-redis, `@keyv/postgres`, `@keyv/mysql`, ' +
      '`@keyv/mongo`), its own table or namespace on the same server, JSON-serialized by keyv. getAll ops/s ' +
      `are calls (× ${BATCH} keys); ratios > 1 mean cacheme is faster.`,
    markdownTable(
      [
        'backend',
        'op',
        'raw driver ops/s',
        'raw + decode ops/s',
        'coalescing floor ops/s',
        'cacheme ops/s',
        'keyv ops/s',
        'cacheme × (raw + decode)',
        'floor × (raw + decode)',
        'cacheme × floor',
        'cacheme × keyv',
      ],
      rows.map((row) => [
        row.backend,
        row.op,
        fmt(row.raw),
        fmt(row.decoded),
        fmt(row.floor),
        fmt(row.cacheme),
        row.keyv === undefined ? '—' : fmt(row.keyv),
        times(row.cacheme / row.decoded),
        times(row.floor / row.decoded),
        times(row.cacheme / row.floor),
        row.keyv === undefined ? '—' : times(row.cacheme / row.keyv),
      ]),
      ['---', '---'],
    ),
    rows.some((row) => row.backend.endsWith('†'))
      ? `† MongoDB is FerretDB 1.x on PostgreSQL here (it scans the collection per query): ${mongoScale()}.`
      : '',
    keyvLeftOut.length > 0 ? `keyv left out: ${keyvLeftOut.join('; ')}.` : '',
    failures.length > 0 ? `**Failed in this run:** ${failures.join('; ')}.` : '',
  ]
    .filter((part) => part !== '')
    .join('\n\n')
  emit('remote', 'Remote storages: cacheme vs the raw driver vs keyv', markdown, { rows })
}

main().catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
