// Tags and invalidateAll: entries of an invalidated tag (or class) are misses in every tier, also for
// a process that holds no copy of the records and reads only the shared tier; a load that started
// before the invalidation writes nothing that reads as valid; old frames keep reading; garbage under
// a record key is ignored and counted; bad tags are typed errors; records expire after the longest
// TTL of the classes that keep them, and a process's copies of them are bounded. Over SQLite, Redis,
// Redis Cluster, PostgreSQL, MySQL and MongoDB.

import { execFile } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import test from 'ava'
import { Redis } from 'ioredis'
import {
  Cache,
  close,
  get,
  getAll,
  InvalidArgumentError,
  invalidateAll,
  invalidateTags,
  Node,
  registerStorage,
  Storage,
  set,
  stats,
} from '../../lib'
import { frame } from '../../lib/serializers/frame'
import { MsgPackSerializer } from '../../lib/serializers/msgpack'
import { activeStores, KNOWN_LIMIT, RECHECK_MS, TagRecords } from '../../lib/tiers/tags'
import { freshName, RUN, URLS, withServer } from '../storages/servers'
import { deferred, emptyAdapter, sleep, tempDir, unique } from './helpers'

const dir = tempDir()
const local = new Storage({ url: 'local://tlfu', size: 10_000 })
const storages: Record<string, Storage> = {
  sqlite: new Storage({ url: `sqlite://${dir.file('tags.db')}` }),
}

test.before(async () => {
  await registerStorage('local', local)
  await registerStorage('sqlite', storages.sqlite as Storage)
})
test.after.always(async () => {
  await close()
  dir.remove()
})

/** What a new process knows: no copy of any record, an empty local tier. */
function freshProcess(): void {
  for (const store of activeStores) store.forgetAll()
  local.local?.clear()
}

function tagged(storage: string, name = unique(`tg${RUN}`), ttl = 60_000) {
  const counter = { loads: 0 }
  let pending: ReturnType<typeof deferred<string>> | undefined
  class Member extends Node<string> {
    static meta = {
      version: 'v1',
      caches: [new Cache({ storage: 'local', ttl }), new Cache({ storage, ttl })],
    }
    constructor(
      readonly id: number,
      readonly team: string,
    ) {
      super()
    }
    key() {
      return `${name}:${this.id}`
    }
    override tags() {
      return [`team:${this.team}`, `user:${name}:${this.id}`]
    }
    async load() {
      counter.loads++
      if (pending !== undefined) return pending.promise
      return `member ${this.id} (load ${counter.loads})`
    }
  }
  // Classes named alike share their invalidateAll record: each test's class gets a name of its own.
  Object.defineProperty(Member, 'name', { value: name })
  return {
    Member,
    counter,
    hold: () => {
      pending = deferred<string>()
      return pending
    },
    release: () => {
      pending = undefined
    },
    stored: (id: number) => `cacheme:${name}:${id}:v1`,
  }
}

function suite(backend: string, storage: () => string): void {
  test.serial(
    `${backend}: invalidateTags makes tagged entries misses in every tier, and in a fresh process`,
    async (t) => {
      const team = unique(`team${RUN}`)
      const other = unique(`team${RUN}`)
      const { Member, counter } = tagged(storage())
      await getAll([new Member(1, team), new Member(2, team), new Member(3, other)])
      t.is(counter.loads, 3)
      await invalidateTags([`team:${team}`])
      t.is(await get(new Member(1, team)), 'member 1 (load 4)', 'the local tier reads it as a miss')
      t.is(await get(new Member(3, other)), 'member 3 (load 3)', 'another tag is untouched')
      freshProcess()
      t.is(await get(new Member(2, team)), 'member 2 (load 5)', 'the shared tier reads it as a miss')
      t.is(await get(new Member(1, team)), 'member 1 (load 4)', 'the reload replaced the entry')
      t.is(await get(new Member(3, other)), 'member 3 (load 3)')
      t.is(counter.loads, 5)
    },
  )

  test.serial(
    `${backend}: a load that started before invalidateTags writes nothing that reads as valid`,
    async (t) => {
      const team = unique(`race${RUN}`)
      const { Member, counter, hold, release } = tagged(storage())
      const load = hold()
      const reading = get(new Member(1, team))
      while (counter.loads === 0) await new Promise((resolve) => setImmediate(resolve))
      await invalidateTags([`team:${team}`])
      load.resolve('from before the invalidation')
      release()
      t.is(await reading, 'from before the invalidation', 'its caller is answered')
      t.is(await get(new Member(1, team)), 'member 1 (load 2)')
      freshProcess()
      t.is(await get(new Member(1, team)), 'member 1 (load 2)', 'and the shared tier holds the reload')
    },
  )

  test.serial(`${backend}: invalidateAll makes every entry of a class a miss, tagged or not`, async (t) => {
    const { Member, counter } = tagged(storage())
    const name = unique(`plain${RUN}`)
    let plainLoads = 0
    class Plain extends Node<number> {
      static meta = {
        version: 'v1',
        caches: [
          new Cache({ storage: 'local', ttl: 60_000 }),
          new Cache({ storage: storage(), ttl: 60_000 }),
        ],
      }
      constructor(readonly id: number) {
        super()
      }
      key() {
        return `${name}:${this.id}`
      }
      async load() {
        return ++plainLoads
      }
    }
    await get(new Member(1, 'a'))
    t.is(await get(new Plain(1)), 1)
    t.is(await get(new Plain(1)), 1)
    await invalidateAll(Member)
    await invalidateAll(Plain)
    t.is(await get(new Member(1, 'a')), 'member 1 (load 2)')
    t.is(await get(new Plain(1)), 2, 'an untagged class: its bare local entry is older than the record')
    t.is(await get(new Plain(1)), 2)
    freshProcess()
    t.is(await get(new Plain(1)), 2, 'the reload is valid in the shared tier')
    t.is(counter.loads, 2)
  })
}

suite('sqlite', () => 'sqlite')

/** Records of classes whose longest TTL is RECORD_TTL live that long (with a margin for a slow host). */
const RECORD_TTL = 3_000

/**
 * In a process of its own (so that no class of this file lengthens the records' TTL, and no other
 * storage over the same server writes the same record): a class with a RECORD_TTL tier, an
 * invalidateTags, then whether the record was written and whether it is gone after its TTL.
 */
function expiring(backend: string, options: Record<string, unknown>): void {
  test(`${backend}: tag records expire after the longest TTL of the classes that keep them there`, async (t) => {
    const tag = `expiring:${backend}:${RUN}`
    const file = dir.file(`expiring-${backend}.js`)
    writeFileSync(
      file,
      `const c = require(${JSON.stringify(join(__dirname, '..', '..', 'lib', 'index.js'))})
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
class Member extends c.Node {
  key() { return ${JSON.stringify(`expiring:${RUN}`)} }
  tags() { return [${JSON.stringify(tag)}] }
  async load() { return 1 }
}
Member.meta = { version: 'v1', caches: [new c.Cache({ storage: 'remote', ttl: ${RECORD_TTL} })] }
;(async () => {
  const storage = new c.Storage(${JSON.stringify(options)})
  await c.registerStorage('remote', storage)
  await c.get(new Member())
  await c.invalidateTags([${JSON.stringify(tag)}])
  const record = () => storage.bounded.get(${JSON.stringify(`cacheme:__tag:${tag}`)})
  const written = (await record()) !== undefined
  let gone = false
  for (const end = Date.now() + ${RECORD_TTL * 3}; !gone && Date.now() < end; await sleep(100)) {
    gone = (await record()) === undefined
  }
  console.log(JSON.stringify({ written, gone }))
  await c.close()
})()
`,
    )
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, [file], { timeout: 30_000 }, (error, out, err) =>
        error === null ? resolve(out) : reject(new Error(`${error.message}\n${err}`)),
      )
    })
    t.deepEqual(JSON.parse(stdout), { written: true, gone: true })
  })
}

expiring('sqlite', { url: `sqlite://${dir.file('expiring.db')}` })

for (const [backend, url, options] of [
  ['redis', URLS.redis, {}],
  ['redis-cluster', URLS.redisCluster, { cluster: true }],
  ['postgresql', URLS.postgresql, { table: freshName('tags') }],
  ['mysql', URLS.mysql, { table: freshName('tags') }],
  ['mongodb', URLS.mongodb, { collection: freshName('tags') }],
] as const) {
  withServer(backend, url, () => {
    const name = `${backend}-tags-${RUN}`
    test.before(async () => {
      await registerStorage(name, new Storage({ url, ...options }))
    })
    suite(backend, () => name)
    expiring(backend, { url, ...options })
  })
}

withServer('redis', URLS.redis, () => {
  test.serial(
    'redis: two storages over one server write a tag record with the longest TTL of every class',
    async (t) => {
      // Registered long first: a record written per storage with its own classes' TTL would end
      // with the short one, and expire before the entries of the long class it covers.
      const long = `redis-long-${RUN}`
      const short = `redis-short-${RUN}`
      await registerStorage(long, new Storage({ url: URLS.redis }))
      await registerStorage(short, new Storage({ url: URLS.redis }))
      const tag = unique(`shared${RUN}`)
      const classOn = (storage: string, ttl: number) => {
        const name = unique(`ttl${RUN}`)
        class Item extends Node<number> {
          static meta = { version: 'v1', caches: [new Cache({ storage, ttl })] }
          key() {
            return name
          }
          override tags() {
            return [tag]
          }
          async load() {
            return 1
          }
        }
        return Item
      }
      const Long = classOn(long, 50_000)
      const Short = classOn(short, 1_000)
      await get(new Long())
      await get(new Short())
      await invalidateTags([tag])
      const redis = new Redis(URLS.redis)
      try {
        const ttl = await redis.pttl(`cacheme:__tag:${tag}`)
        t.true(ttl > 5_000, `PTTL ${ttl}`)
      } finally {
        redis.disconnect()
      }
    },
  )
  test.serial("redis: a tag record carries its TTL as the key's PTTL", async (t) => {
    const name = `redis-ttl-${RUN}`
    await registerStorage(name, new Storage({ url: URLS.redis }))
    const { Member } = tagged(name)
    await get(new Member(1, 'x'))
    const tag = unique(`expiring${RUN}`)
    await invalidateTags([tag])
    const redis = new Redis(URLS.redis)
    try {
      const ttl = await redis.pttl(`cacheme:__tag:${tag}`)
      t.true(ttl > 0 && ttl <= 60_000, `PTTL ${ttl}`)
    } finally {
      redis.disconnect()
    }
  })
})

test.serial('old frames still read for a tagged class, until its class is invalidated', async (t) => {
  const { Member, stored } = tagged('sqlite')
  const adapter = storages.sqlite?.bounded as NonNullable<Storage['bounded']>
  const serializer = new MsgPackSerializer()
  await adapter.set(stored(1), frame(serializer.tag as number, serializer.dumps('from 0xCA')), null)
  t.is(await get(new Member(1, 'x')), 'from 0xCA')
  await invalidateAll(Member)
  t.is(await get(new Member(1, 'x')), 'member 1 (load 1)')
})

test.serial('garbage under a tag record key is ignored and counted as a decode error', async (t) => {
  const { Member } = tagged('sqlite')
  const team = unique(`garbage${RUN}`)
  const adapter = storages.sqlite?.bounded as NonNullable<Storage['bounded']>
  await adapter.set(`cacheme:__tag:team:${team}`, Buffer.from('not a record'), null)
  freshProcess()
  t.is(await get(new Member(1, team)), 'member 1 (load 1)')
  local.local?.clear()
  const before = stats(Member).decodeErrorCount
  freshProcess()
  t.is(await get(new Member(1, team)), 'member 1 (load 1)', 'the entry reads as valid')
  t.true(stats(Member).decodeErrorCount > before)
})

test('bad tags are typed errors: not a string, empty, too many, and from tags()', async (t) => {
  for (const tags of [[''], [1], Array.from({ length: 65 }, (_, i) => `t${i}`), 'team:1']) {
    const error = await t.throwsAsync(invalidateTags(tags as never), { instanceOf: InvalidArgumentError })
    t.is(error?.code, 'CACHEME_INVALID_ARGUMENT')
  }
  const name = unique('badtags')
  class Bad extends Node<number> {
    static meta = { version: 'v1', caches: [new Cache({ storage: 'local', ttl: 1_000 })] }
    key() {
      return name
    }
    override tags() {
      return [''] as string[]
    }
    async load() {
      return 1
    }
  }
  await t.throwsAsync(get(new Bad()), { instanceOf: InvalidArgumentError })
  await t.throwsAsync(set(new Bad(), 2), { instanceOf: InvalidArgumentError })
  await t.throwsAsync(invalidateAll(class NotANode {} as never), { instanceOf: InvalidArgumentError })
})

test.serial('a class with no shared tier keeps its records in the process', async (t) => {
  const name = unique('localonly')
  let loads = 0
  class Only extends Node<number> {
    static meta = { version: 'v1', caches: [new Cache({ storage: 'local', ttl: 60_000 })] }
    key() {
      return name
    }
    override tags() {
      return [`only:${name}`]
    }
    async load() {
      return ++loads
    }
  }
  t.is(await get(new Only()), 1)
  t.is(await get(new Only()), 1)
  await invalidateTags([`only:${name}`])
  t.is(await get(new Only()), 2)
  t.is(await get(new Only()), 2)
})

test('past KNOWN_LIMIT copies of records, a process drops those due for a re-read and keeps the rest', async (t) => {
  const empty = emptyAdapter(1_000)
  const records = new TagRecords('copies', empty)
  const counts = { name: 'Copies', decodeErrors: 0, storageErrors: 0 }
  const read = async (from: number, count: number) => {
    for (let at = from; at < from + count; at += 1_000) {
      await records.fetch(
        Array.from({ length: Math.min(1_000, from + count - at) }, (_, i) => `k${at + i}`),
        counts,
      )
    }
  }
  await read(0, KNOWN_LIMIT + 10)
  t.is(records.size, KNOWN_LIMIT + 10, 'copies read within one re-check interval are all kept')
  await sleep(RECHECK_MS + 100)
  await read(KNOWN_LIMIT + 10, KNOWN_LIMIT)
  t.true(records.size <= KNOWN_LIMIT, `${records.size} copies`)
  t.is(records.at('k0', Date.now(), counts), undefined, 'an old copy is dropped')
  t.is(records.at(`k${2 * KNOWN_LIMIT}`, Date.now(), counts), 0, 'a recent one is kept')
})
