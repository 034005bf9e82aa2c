// The periodic cleanup of expired rows and documents (lib/storages/cleanup.ts) on the SQL and MongoDB
// storages, against their real servers.

import test from 'ava'
import { close, InvalidArgumentError, type RemoteStorage, registerStorage, Storage } from '../../lib'
import { sleep } from '../framework/helpers'
import { freshName, RUN, URLS, withServer } from './servers'

const backends = [
  { name: 'postgresql', url: URLS.postgresql, options: { table: freshName('clean') } },
  { name: 'mysql', url: URLS.mysql, options: { table: freshName('clean') } },
  { name: 'mongodb', url: URLS.mongodb, options: { collection: freshName('clean') } },
] as const

test.after.always(async () => {
  await close()
})

test('cleanupInterval is validated and refused where it does not apply', (t) => {
  for (const cleanupInterval of [-1, 1.5, Number.NaN, 2 ** 31]) {
    t.throws(() => new Storage({ url: URLS.postgresql, cleanupInterval }), {
      instanceOf: InvalidArgumentError,
      message: /cleanupInterval must be an integer/,
    })
  }
  for (const url of ['redis://127.0.0.1:6379', 'sqlite://:memory:']) {
    t.throws(() => new Storage({ url, cleanupInterval: 1000 }), {
      message: /option cleanupInterval does not apply/,
    })
  }
})

for (const backend of backends) {
  withServer(backend.name, backend.url, () => {
    test(`${backend.name}: expired entries are deleted by the periodic pass; live ones stay`, async (t) => {
      const storage = new Storage({ url: backend.url, ...backend.options, cleanupInterval: 200 })
      await registerStorage(`clean-${backend.name}-${RUN}`, storage)
      const adapter = storage.adapter as RemoteStorage
      const key = (label: string, i: number) => `clean:${RUN}:${label}:${i}`
      await adapter.setMany(
        Array.from({ length: 5 }, (_, i) => [key('short', i), Buffer.from('s')] as const),
        100,
      )
      await adapter.setMany(
        Array.from({ length: 2 }, (_, i) => [key('forever', i), Buffer.from('f')] as const),
        null,
      )
      await sleep(2500)
      t.is(
        await adapter.cleanupExpired?.(1000),
        0,
        'nothing left for a manual pass: the periodic one deleted them',
      )
      t.deepEqual(await adapter.getMany([key('forever', 0), key('forever', 1)]), [
        Buffer.from('f'),
        Buffer.from('f'),
      ])
    })
  })
}
