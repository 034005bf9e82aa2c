// Corrupt or foreign bytes in a remote tier, on every remote backend against its
// real server: each must read as a miss plus a counted, reported decode error, never reach the caller
// as data, and be replaced by the value the miss loads.

import { randomBytes } from 'node:crypto'
import test from 'ava'
import {
  Cache,
  type CacheErrorEvent,
  CompressedMsgPackSerializer,
  close,
  get,
  getAll,
  JSONSerializer,
  MsgPackSerializer,
  Node,
  onError,
  type RemoteStorage,
  registerStorage,
  SerializationError,
  type Serializer,
  Storage,
  stats,
} from '../../lib'
import { tempDir } from '../framework/helpers'
import { freshName, RUN, URLS, withServer } from '../storages/servers'

const dir = tempDir()
const events: CacheErrorEvent[] = []
const stopListening = onError((event) => events.push(event))

test.after.always(async () => {
  stopListening()
  await close()
  dir.remove()
})

const backends = [
  { name: 'sqlite', url: `sqlite://${dir.file('corrupt.db')}`, options: {} },
  { name: 'redis', url: URLS.redis, options: {} },
  { name: 'redis-cluster', url: URLS.redisCluster, options: { cluster: true } },
  { name: 'postgresql', url: URLS.postgresql, options: { table: freshName('corrupt') } },
  { name: 'mysql', url: URLS.mysql, options: { table: freshName('corrupt') } },
  { name: 'mongodb', url: URLS.mongodb, options: { collection: freshName('corrupt') } },
] as const

/** A node class on `storage` with `serializer`, counting loads; the value is its id, and `id + 1000` is returned. */
function nodeClass(storage: string, serializer: Serializer, label: string) {
  const counter = { loads: 0 }
  class Item extends Node<number | { id: number; text: string }> {
    static meta = { version: 'v1', caches: [new Cache({ storage, ttl: 600_000 })], serializer }
    constructor(readonly id: number) {
      super()
    }
    key() {
      return `corrupt:${RUN}:${this.id}`
    }
    async load() {
      counter.loads++
      // Large and repetitive, so that compression has something to truncate.
      return this.id >= 100 ? { id: this.id, text: 'x'.repeat(4000) } : this.id + 1000
    }
  }
  Object.defineProperty(Item, 'name', { value: label })
  return { Item, counter }
}

const storedKey = (id: number) => `cacheme:corrupt:${RUN}:${id}:v1`

/** What each corrupt input is, and how to put it into the tier under the key of node `id`. */
const CORRUPTIONS: readonly {
  readonly what: string
  readonly id: number
  plant(adapter: RemoteStorage, id: number): Promise<void>
}[] = [
  {
    what: 'random bytes',
    id: 1,
    plant: (adapter, id) => adapter.set(storedKey(id), randomBytes(64), null),
  },
  {
    what: 'MessagePack written by another program (no cacheme header)',
    id: 2,
    plant: (adapter, id) => adapter.set(storedKey(id), new MsgPackSerializer().dumps(5), null),
  },
  {
    what: 'a lone header byte',
    id: 3,
    plant: (adapter, id) => adapter.set(storedKey(id), Buffer.from([0xca]), null),
  },
  {
    what: "a cacheme header with a body MessagePack can't decode",
    id: 4,
    plant: (adapter, id) => adapter.set(storedKey(id), Buffer.from([0xca, 2, 0xc1]), null),
  },
]

/** SQLite is a file: no server to wait for. */
const withBackend = (name: string, url: string, register: () => void) =>
  name === 'sqlite' ? register() : withServer(name, url, register)

for (const backend of backends) {
  withBackend(backend.name, backend.url, () => {
    const storage = `corrupt-${backend.name}-${RUN}`
    let adapter: RemoteStorage

    test.before(async () => {
      const opened = new Storage({ url: backend.url, ...backend.options })
      await registerStorage(storage, opened)
      adapter = opened.adapter as RemoteStorage
    })

    test.serial(
      `${backend.name}: corrupt payloads read as misses, are counted and reported, and are replaced`,
      async (t) => {
        const { Item, counter } = nodeClass(storage, new MsgPackSerializer(), `Corrupt_${backend.name}`)
        for (const { what, id, plant } of CORRUPTIONS) {
          await plant(adapter, id)
          const reported = events.length
          t.is(await get(new Item(id)), id + 1000, what)
          t.is(events.length, reported + 1, `${what}: reported once`)
          const event = events.at(-1) as CacheErrorEvent
          t.is(event.kind, 'decode')
          t.is(event.storage, storage)
          t.is(event.key, storedKey(id))
          t.true(event.error instanceof SerializationError)
          // The load replaced the bytes: the next read is a hit with the loaded value.
          const loads = counter.loads
          t.is(await get(new Item(id)), id + 1000, `${what}: replaced`)
          t.is(counter.loads, loads, `${what}: the replacement is read back without a load`)
        }
        // getAll: corrupt entries among good ones are misses, loaded in one batch, in input order.
        await plant2(adapter)
        t.deepEqual(await getAll([new Item(1), new Item(2), new Item(3)]), [1001, 1002, 1003])
        t.is(stats(Item).decodeErrorCount, CORRUPTIONS.length + 2)
      },
    )

    test.serial(
      `${backend.name}: bytes of another serializer are a miss, never that serializer's value`,
      async (t) => {
        // JSON `7` is the byte 0x37, which is also valid MessagePack (the number 55): without the
        // serializer tag, the MessagePack reader would return 55.
        const { Item: JsonItem } = nodeClass(storage, new JSONSerializer(), `Json_${backend.name}`)
        const { Item: PackItem, counter } = nodeClass(
          storage,
          new MsgPackSerializer(),
          `Pack_${backend.name}`,
        )
        class Seven extends JsonItem {
          override async load() {
            return 7
          }
        }
        t.is(await get(new Seven(10)), 7)
        t.is(await get(new PackItem(10)), 1010, 'read as a miss and loaded, not decoded as 55')
        t.is(counter.loads, 1)
        t.is(stats(PackItem).decodeErrorCount, 1)
        t.regex(
          (events.at(-1) as CacheErrorEvent).error.message,
          /written by the serializer with tag 1, not by this one \(tag 2\)/,
        )
      },
    )

    test.serial(`${backend.name}: a truncated compressed payload is a miss and is replaced`, async (t) => {
      const { Item, counter } = nodeClass(storage, new CompressedMsgPackSerializer(), `Zip_${backend.name}`)
      const value = await get(new Item(100))
      const stored = (await adapter.get(storedKey(100))) as Buffer
      t.true(stored.length > 20)
      await adapter.set(storedKey(100), stored.subarray(0, Math.floor(stored.length / 2)), null)
      t.deepEqual(await get(new Item(100)), value)
      t.is(counter.loads, 2, 'the truncated payload was a miss')
      t.is(stats(Item).decodeErrorCount, 1)
      t.regex((events.at(-1) as CacheErrorEvent).error.message, /inflate/)
      t.deepEqual(await adapter.get(storedKey(100)), stored, 'the load wrote the whole payload again')
    })
  })
}

/** Corrupts two of three entries again, for the getAll check. */
async function plant2(adapter: RemoteStorage): Promise<void> {
  await adapter.set(storedKey(1), Buffer.from('garbage'), null)
  await adapter.set(storedKey(3), Buffer.alloc(1), null)
}
