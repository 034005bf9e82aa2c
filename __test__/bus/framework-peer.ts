// One process of the framework-level bus tests: cacheme with a local tier in front of a shared Redis
// tier and, unless told otherwise, a bus. framework-workers.ts forks it and drives it over IPC; each
// command gets one reply. argv: a WorkerConfig as JSON.
//
// The source of truth is a directory of files (one per item, written by the test), so every process
// loads the same value and a test changes "the database" by writing a file. Two node classes read it:
// items, and tagged items (same tiers, tagged `team:{id / 100}`) for the tag and invalidateAll tests.
//
// With `holdable`, the shared tier is a RemoteStorage wrapping a real Redis adapter that can hold one
// read after Redis has answered it: the test then decides when that (by then old) answer reaches the
// framework, which makes the read-in-flight race deterministic.

import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  Bus,
  type BusOptions,
  busStats,
  Cache,
  close,
  get,
  getAll,
  invalidate,
  invalidateAll,
  invalidateTags,
  Node,
  onError,
  type RemoteEntry,
  type RemoteStorage,
  refresh,
  registerStorage,
  Storage,
  setBus,
  setPrefix,
} from '../../lib'
import { openRedis } from '../../lib/storages/redis'

export interface WorkerConfig {
  readonly prefix: string
  /** The shared tier's Redis (standalone). */
  readonly redis: string
  /** The bus, or null for a process without one. */
  readonly bus: BusOptions | null
  readonly sourceDir: string
  /** Wrap the shared tier in a storage whose reads can be held (see the top of the file). */
  readonly holdable?: boolean
}

/** Which node class a command reads: items, or tagged items. */
export type Kind = 'item' | 'tagged'

export type Command =
  | { readonly op: 'get'; readonly id: number; readonly kind?: Kind }
  | { readonly op: 'getAll'; readonly ids: readonly number[]; readonly kind?: Kind }
  | { readonly op: 'refresh'; readonly ids: readonly number[] }
  | { readonly op: 'invalidate'; readonly id: number }
  | { readonly op: 'invalidateTags'; readonly tags: readonly string[] }
  | { readonly op: 'invalidateAll'; readonly kind: Kind }
  /** What the local tier holds for each id (null: nothing), without touching recency. */
  | { readonly op: 'local'; readonly ids: readonly number[]; readonly kind?: Kind }
  | { readonly op: 'stats' }
  /** Arms the hold for the next shared-tier read of `id`; replies once Redis has answered that read. */
  | { readonly op: 'hold'; readonly id: number }
  /** Lets the held read answer the framework with what Redis said. */
  | { readonly op: 'release' }
  /**
   * Starts reading `ids` in a loop (one get per id per turn) until stopTraffic; each turn also reads
   * one id never read before, which no local tier can answer.
   */
  | { readonly op: 'traffic'; readonly ids: readonly number[]; readonly kind?: Kind }
  | { readonly op: 'stopTraffic' }
  | { readonly op: 'close' }

export interface Traffic {
  readonly ok: number
  readonly failed: number
  readonly errors: readonly string[]
}

export interface WorkerStats {
  readonly bus: ReturnType<typeof busStats>
  /** onError reports by kind ('bus', 'read', …). */
  readonly reports: Readonly<Record<string, number>>
}

export type Reply =
  | { readonly seq: number; readonly ok: true; readonly value: unknown }
  | { readonly seq: number; readonly ok: false; readonly error: string }

export type Request = Command & { readonly seq: number }

const config = JSON.parse(process.argv[2] as string) as WorkerConfig

async function loadItem(id: number): Promise<string> {
  try {
    return readFileSync(join(config.sourceDir, String(id)), 'utf8')
  } catch {
    return 'none'
  }
}

const tiers = () => [
  new Cache({ storage: 'local', ttl: 600_000 }),
  new Cache({ storage: 'shared', ttl: 600_000 }),
]

class ItemNode extends Node<string> {
  static meta = { version: 'v1', caches: tiers() }
  constructor(readonly id: number) {
    super()
  }
  key() {
    return `item:${this.id}`
  }
  load() {
    return loadItem(this.id)
  }
}

class TaggedNode extends Node<string> {
  static meta = { version: 'v1', caches: tiers() }
  constructor(readonly id: number) {
    super()
  }
  key() {
    return `tagged:${this.id}`
  }
  override tags() {
    return [`team:${Math.floor(this.id / 100)}`]
  }
  load() {
    return loadItem(this.id)
  }
}

const nodeOf = (id: number, kind: Kind = 'item') => (kind === 'item' ? new ItemNode(id) : new TaggedNode(id))

const storedKey = (id: number, kind: Kind = 'item') => `${config.prefix}:${nodeOf(id, kind).key()}:v1`

/** A Redis adapter whose next read of one key can be held after Redis answered it. */
class HoldingStorage implements RemoteStorage {
  readonly maxKeyLength: number
  #armed: { key: string; held: (value: string) => void } | undefined
  #release: (() => void) | undefined

  constructor(readonly inner: RemoteStorage) {
    this.maxKeyLength = inner.maxKeyLength
  }

  /** Resolves with what Redis answered for `key`'s next read, once the read is held. */
  arm(key: string): Promise<string> {
    return new Promise((held) => {
      this.#armed = { key, held }
    })
  }

  release(): void {
    this.#release?.()
    this.#release = undefined
  }

  async #hold(keys: readonly string[], values: (Buffer | undefined)[]): Promise<void> {
    const armed = this.#armed
    const at = armed === undefined ? -1 : keys.indexOf(armed.key)
    if (armed === undefined || at < 0) return
    this.#armed = undefined
    const released = new Promise<void>((resolve) => {
      this.#release = resolve
    })
    armed.held(values[at]?.toString('latin1') ?? '(miss)')
    await released
  }

  async get(key: string) {
    const value = await this.inner.get(key)
    await this.#hold([key], [value])
    return value
  }
  async getMany(keys: readonly string[]) {
    const values = await this.inner.getMany(keys)
    await this.#hold(keys, values)
    return values
  }
  set(key: string, value: Buffer, ttlMs: number | null) {
    return this.inner.set(key, value, ttlMs)
  }
  setMany(entries: readonly RemoteEntry[], ttlMs: number | null) {
    return this.inner.setMany(entries, ttlMs)
  }
  remove(key: string) {
    return this.inner.remove(key)
  }
  close() {
    return this.inner.close()
  }
}

const reports: Record<string, number> = {}
let holding: HoldingStorage | undefined
let local: Storage | undefined
let traffic: { running: boolean; done: Promise<Traffic> } | undefined

async function readLoop(ids: readonly number[], kind: Kind, state: { running: boolean }): Promise<Traffic> {
  let ok = 0
  let failed = 0
  const errors: string[] = []
  let fresh = 1_000_000
  while (state.running) {
    fresh += 1
    for (const id of [...ids, fresh]) {
      try {
        await get(nodeOf(id, kind))
        ok += 1
      } catch (error) {
        failed += 1
        if (errors.length < 5) errors.push(String(error))
      }
    }
    // A turn of the event loop between rounds: the bus's messages and the storages' sockets run.
    await new Promise((resolve) => setImmediate(resolve))
  }
  return { ok, failed, errors }
}

async function run(command: Command): Promise<unknown> {
  switch (command.op) {
    case 'get':
      return get(nodeOf(command.id, command.kind))
    case 'getAll':
      return command.kind === 'tagged'
        ? getAll(command.ids.map((id) => new TaggedNode(id)))
        : getAll(command.ids.map((id) => new ItemNode(id)))
    case 'refresh':
      return Promise.all(command.ids.map((id) => refresh(new ItemNode(id))))
    case 'invalidate':
      return invalidate(new ItemNode(command.id))
    case 'invalidateTags':
      return invalidateTags(command.tags)
    case 'invalidateAll':
      return invalidateAll(command.kind === 'item' ? ItemNode : TaggedNode)
    case 'local':
      return command.ids.map((id) => {
        const store = local?.local
        const key = storedKey(id, command.kind)
        if (!store?.has(key)) return null
        // Classes with tags, or invalidated as a whole, keep their local entries stamped (tiers/local.ts).
        const held = store.get(key)
        return typeof held === 'object' && held !== null ? (held as { stored: unknown }).stored : held
      })
    case 'stats':
      return { bus: busStats(), reports: { ...reports } } satisfies WorkerStats
    case 'hold':
      if (holding === undefined) throw new Error('this worker was not started with holdable')
      return holding.arm(storedKey(command.id))
    case 'release':
      holding?.release()
      return undefined
    case 'traffic': {
      const state = { running: true, done: Promise.resolve<Traffic>({ ok: 0, failed: 0, errors: [] }) }
      state.done = readLoop(command.ids, command.kind ?? 'item', state)
      traffic = state
      return undefined
    }
    case 'stopTraffic': {
      const running = traffic
      traffic = undefined
      if (running === undefined) throw new Error('no traffic running')
      running.running = false
      return running.done
    }
    case 'close':
      await close()
      return undefined
  }
}

async function main(): Promise<void> {
  setPrefix(config.prefix)
  onError((event) => {
    reports[event.kind] = (reports[event.kind] ?? 0) + 1
  })
  local = new Storage({ url: 'local://tlfu', size: 10_000 })
  await registerStorage('local', local)
  if (config.holdable) {
    holding = new HoldingStorage(await openRedis(config.redis))
    // Long enough that a held read is never cut short by the storage timeout.
    await registerStorage('shared', new Storage({ adapter: holding, timeout: 60_000 }))
  } else {
    await registerStorage('shared', new Storage({ url: config.redis }))
  }
  if (config.bus !== null) await setBus(new Bus(config.bus))
  process.on('message', (request: Request) => {
    const { seq, ...command } = request
    run(command as Command).then(
      (value) => process.send?.({ seq, ok: true, value } satisfies Reply),
      (error: unknown) => process.send?.({ seq, ok: false, error: String(error) } satisfies Reply),
    )
  })
  process.send?.({ seq: 0, ok: true, value: 'ready' } satisfies Reply)
}

main().catch((error: unknown) => {
  process.send?.({ seq: 0, ok: false, error: String(error) } satisfies Reply)
  process.disconnect?.()
})
