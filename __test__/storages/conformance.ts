// The shared conformance suite (lib/storages/conformance.ts) registered with AVA for one built-in
// backend, plus what only the built-in adapters promise: maxKeyLength 512, cacheme's own errors, and
// a batch delete (removeMany, outside the RemoteStorage contract).

import { createRequire } from 'node:module'
import test from 'ava'
import { batchKeys, type ConformanceTarget, storageConformance } from '../../lib/storages/conformance'
import type { RemoteEntry, RemoteStorage } from '../../lib/storages/remote'
import { freshName, RUN } from './servers'

/** Redis Cluster's hash slot of a key, as ioredis computes it. */
export const keySlot = createRequire(require.resolve('ioredis'))('cluster-key-slot') as (
  key: string,
) => number

let prefixes = 0
/** A key prefix no other test, file or run uses. */
export function keyPrefix(): string {
  prefixes += 1
  return `cacheme-test:${RUN}:${prefixes}:`
}

/** A built-in adapter: RemoteStorage plus the batch delete each of them has. */
type BuiltIn = RemoteStorage & { removeMany?(keys: readonly string[]): Promise<void> }

export function conformance(
  target: Omit<ConformanceTarget, 'keyPrefix' | 'cachemeErrors' | 'maxKeyLength'>,
): void {
  const name = target.name
  const suite = storageConformance({
    ...target,
    maxKeyLength: 512,
    cachemeErrors: true,
    keyPrefix: `cacheme-test:${RUN}:conformance:`,
  })
  for (const shared of suite.tests) {
    test(shared.title, async (t) => {
      await shared.run()
      t.pass()
    })
  }
  test.after.always(() => suite.close())

  test(`${name}: the keys of the 100-key batch test fall into many cluster slots`, (t) => {
    t.true(new Set(batchKeys(keyPrefix()).map(keySlot)).size >= 50)
  })

  test(`${name}: removeMany deletes exactly the keys it names`, async (t) => {
    const s: BuiltIn = await target.open(freshName('remove'), {})
    try {
      const keys = batchKeys(keyPrefix())
      await s.setMany(
        keys.map((key, i): RemoteEntry => [key, Buffer.from(`value ${i}`)]),
        null,
      )
      t.is(typeof s.removeMany, 'function')
      await s.removeMany?.(keys.slice(0, 50))
      const after = await s.getMany(keys)
      t.true(after.slice(0, 50).every((value) => value === undefined))
      t.true(after.slice(50).every((value) => value !== undefined))
    } finally {
      await s.close()
    }
  })
}
