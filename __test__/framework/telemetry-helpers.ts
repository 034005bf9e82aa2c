// Shared by the telemetry tests: a user adapter that can hang or hold garbage, two tiers in front of
// it (a one-entry local LRU, so that a second key evicts the first), and the scripted sequence the
// issue names — hits in each tier, a coalesced miss, a failing load, a corrupt payload, a storage
// timeout — whose figures every exporter must report exactly as stats() does.

import { Cache, get, Node, type RemoteEntry, type RemoteStorage, registerStorage, Storage } from '../../lib'
import { deferred, sleep } from './helpers'

/** A Map behind the adapter contract; `hang` makes reads never answer (the storage times them out). */
export class MapStorage implements RemoteStorage {
  readonly maxKeyLength = 1024
  readonly entries = new Map<string, Buffer>()
  hang = false

  async get(key: string): Promise<Buffer | undefined> {
    if (this.hang) return new Promise<never>(() => {})
    return this.entries.get(key)
  }
  async getMany(keys: readonly string[]): Promise<(Buffer | undefined)[]> {
    return Promise.all(keys.map((key) => this.get(key)))
  }
  async set(key: string, value: Buffer): Promise<void> {
    this.entries.set(key, Buffer.from(value))
  }
  async setMany(entries: readonly RemoteEntry[]): Promise<void> {
    for (const [key, value] of entries) this.entries.set(key, Buffer.from(value))
  }
  async remove(key: string): Promise<void> {
    this.entries.delete(key)
  }
  async close(): Promise<void> {}
}

/** Values carry this marker, so a test can prove no span or event attribute holds a value. */
export const VALUE_MARKER = 'value-secret-4711'

export interface Product {
  readonly id: number
  readonly secret: string
}

export interface Scenario {
  readonly local: string
  readonly remote: string
  readonly memory: MapStorage
  readonly Product: new (id: number) => Node<Product>
  /** Holds the next load of `id` until released. */
  hold(id: number): () => void
}

/** Registers the two storages and declares the node class (ids ≥ 900 fail to load). */
export async function scenario(prefix: string): Promise<Scenario> {
  const local = `${prefix}-local`
  const remote = `${prefix}-remote`
  const memory = new MapStorage()
  await registerStorage(local, new Storage({ url: 'local://lru', size: 1 }))
  await registerStorage(remote, new Storage({ adapter: memory, timeout: 50 }))
  const held = new Map<number, Promise<void>>()
  class ProductNode extends Node<Product> {
    static meta = {
      version: 'v1',
      caches: [new Cache({ storage: local, ttl: 60_000 }), new Cache({ storage: remote, ttl: 60_000 })],
    }
    constructor(readonly id: number) {
      super()
    }
    key() {
      return `${prefix}:${this.id}`
    }
    async load(): Promise<Product> {
      await held.get(this.id)
      if (this.id >= 900) throw new Error(`product ${this.id} is not in the source`)
      return { id: this.id, secret: VALUE_MARKER }
    }
  }
  Object.defineProperty(ProductNode, 'name', { value: `${prefix}Product` })
  return {
    local,
    remote,
    memory,
    Product: ProductNode,
    hold(id) {
      const gate = deferred<void>()
      held.set(id, gate.promise)
      return () => {
        held.delete(id)
        gate.resolve()
      }
    },
  }
}

/** The stored key of `id` (`cacheme:{key}:v1`). */
export const storedKey = (prefix: string, id: number) => `cacheme:${prefix}:${id}:v1`

/**
 * Misses and loads 1 and 2 (the one-entry local tier evicts 1), hits 1 in the remote tier and 1 in
 * the local one, a coalesced miss on 3, a failing load of 900, a corrupt payload under 4, and a
 * remote read of 5 that times out. Returns how many gets rejected (the failing load).
 */
export async function runScript(s: Scenario, prefix: string): Promise<number> {
  const { Product } = s
  await get(new Product(1))
  await get(new Product(2))
  await get(new Product(1)) // remote hit; fills the local tier back (evicting 2)
  await get(new Product(1)) // local hit
  const release = s.hold(3)
  const both = Promise.all([get(new Product(3)), get(new Product(3))])
  await sleep(5)
  release()
  await both
  let rejected = 0
  await get(new Product(900)).catch(() => rejected++)
  s.memory.entries.set(storedKey(prefix, 4), Buffer.from('garbage, not a frame'))
  await get(new Product(4))
  s.memory.hang = true
  await get(new Product(5))
  s.memory.hang = false
  return rejected
}
