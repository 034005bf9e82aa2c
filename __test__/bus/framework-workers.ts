// The test side of framework-peer.ts: forks framework processes, sends them commands, and the waits
// the framework-level bus tests share. Every wait is bounded and names what it waited for.

import { type ChildProcess, fork } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import test from 'ava'
import type { BusStats } from '../../lib'
import { RUN } from '../storages/servers'
import type { Command, Kind, Reply, Traffic, WorkerConfig, WorkerStats } from './framework-peer'
import { until } from './helpers'

/** How long one command may take before the test fails naming it (a held read is released sooner). */
const COMMAND_MS = 30_000

export class Worker {
  readonly #child: ChildProcess
  readonly #pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>()
  #seq = 0
  #exited: number | null | undefined

  constructor(
    readonly name: string,
    config: WorkerConfig,
  ) {
    this.#child = fork(join(__dirname, 'framework-peer.js'), [JSON.stringify(config)], { stdio: 'inherit' })
    this.#pending.set(0, { resolve: () => {}, reject: () => {} })
    this.#child.on('message', (reply: Reply) => {
      const waiter = this.#pending.get(reply.seq)
      if (waiter === undefined) return
      this.#pending.delete(reply.seq)
      if (reply.ok) waiter.resolve(reply.value)
      else waiter.reject(new Error(`${this.name}: ${reply.error}`))
    })
    this.#child.on('exit', (code) => {
      this.#exited = code
      for (const waiter of this.#pending.values()) waiter.reject(new Error(`${this.name} exited (${code})`))
      this.#pending.clear()
    })
  }

  /** Resolves once the process has registered its storages and attached its bus. */
  ready(): Promise<void> {
    return this.#wait(0, 'start').then(() => undefined)
  }

  call<T = unknown>(command: Command): Promise<T> {
    this.#seq += 1
    const seq = this.#seq
    const reply = this.#wait(seq, command.op)
    this.#child.send({ ...command, seq })
    return reply as Promise<T>
  }

  get(id: number, kind: Kind = 'item'): Promise<string> {
    return this.call({ op: 'get', id, kind })
  }

  getAll(ids: readonly number[], kind: Kind = 'item'): Promise<string[]> {
    return this.call({ op: 'getAll', ids, kind })
  }

  refresh(...ids: number[]): Promise<void> {
    return this.call({ op: 'refresh', ids })
  }

  invalidate(id: number): Promise<void> {
    return this.call({ op: 'invalidate', id })
  }

  invalidateTags(...tags: string[]): Promise<void> {
    return this.call({ op: 'invalidateTags', tags })
  }

  invalidateAll(kind: Kind): Promise<void> {
    return this.call({ op: 'invalidateAll', kind })
  }

  local(...ids: number[]): Promise<(string | null)[]> {
    return this.call({ op: 'local', ids })
  }

  /** What the local tier holds for each tagged id (null: nothing). */
  localTagged(...ids: number[]): Promise<(string | null)[]> {
    return this.call({ op: 'local', ids, kind: 'tagged' })
  }

  async bus(): Promise<BusStats> {
    const stats = (await this.call<WorkerStats>({ op: 'stats' })).bus
    if (stats === undefined) throw new Error(`${this.name} has no bus`)
    return stats
  }

  reports(): Promise<Readonly<Record<string, number>>> {
    return this.call<WorkerStats>({ op: 'stats' }).then((stats) => stats.reports)
  }

  traffic(ids: readonly number[], kind: Kind = 'item'): Promise<void> {
    return this.call({ op: 'traffic', ids, kind })
  }

  stopTraffic(): Promise<Traffic> {
    return this.call({ op: 'stopTraffic' })
  }

  /** Closes cacheme in the process, disconnects, and waits until it has exited by itself. */
  async close(): Promise<void> {
    if (this.#exited !== undefined) return
    await this.call({ op: 'close' })
    this.#child.disconnect()
    await until(`${this.name} exited by itself`, () => this.#exited !== undefined)
  }

  kill(): void {
    if (this.#exited === undefined) this.#child.kill('SIGKILL')
  }

  #wait(seq: number, what: string): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(seq)
        reject(new Error(`${this.name}: no answer to ${what} within ${COMMAND_MS} ms`))
      }, COMMAND_MS)
      this.#pending.set(seq, {
        resolve: (value) => {
          clearTimeout(timer)
          resolve(value)
        },
        reject: (error) => {
          clearTimeout(timer)
          reject(error)
        },
      })
    })
  }
}

/** What a test chooses for each worker; the pool adds the key prefix and the source. */
export type WorkerSetup = Omit<WorkerConfig, 'prefix' | 'sourceDir'>

/** "The database" of one test: one file per item, which every worker of the test loads from. */
export interface Source {
  readonly dir: string
  write(id: number, value: string): void
}

/** What a test starts: its workers, on one key prefix of their own and one source of their own. */
export interface Started {
  readonly workers: Worker[]
  readonly source: Source
  readonly prefix: string
}

/**
 * Starts the workers of one test (`config(name)` says each one's shared tier and bus) and waits
 * until all are ready. The file's after.always hook kills any worker a failed test left running
 * and removes every source.
 */
export function workerPool(): (names: string[], config: (name: string) => WorkerSetup) => Promise<Started> {
  const root = mkdtempSync(join(tmpdir(), 'cacheme-bus-source-'))
  const all: Worker[] = []
  let count = 0
  test.after.always(() => {
    for (const worker of all) worker.kill()
    rmSync(root, { recursive: true, force: true })
  })
  return async (names, config) => {
    count += 1
    const dir = join(root, String(count))
    mkdirSync(dir)
    const source: Source = { dir, write: (id, value) => writeFileSync(join(dir, String(id)), value) }
    const prefix = `cm-fw-${RUN}-${count}`
    const workers = names.map((name) => new Worker(name, { ...config(name), prefix, sourceDir: dir }))
    all.push(...workers)
    await Promise.all(workers.map((worker) => worker.ready()))
    return { workers, source, prefix }
  }
}

/** Resolves once `check()` resolves true; polls (bounded) and names `what` when it never does. */
export async function eventually(
  what: string,
  check: () => Promise<boolean>,
  withinMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + withinMs
  for (;;) {
    if (await check()) return
    if (Date.now() > deadline) throw new Error(`not within ${withinMs} ms: ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

/**
 * Resolves once every message `from` has published so far has reached each of `to`: nothing is
 * queued in `from`, and each receiver has counted as many messages as `from` sent (the only sender
 * on the channel while this is used).
 */
export async function delivered(from: Worker, ...to: Worker[]): Promise<void> {
  let sent = 0
  await eventually(`${from.name} has published everything`, async () => {
    const stats = await from.bus()
    sent = stats.sent
    return stats.queued === 0
  })
  for (const worker of to) {
    await eventually(`${worker.name} received ${from.name}'s ${sent} messages`, async () => {
      return (await worker.bus()).received >= sent
    })
  }
}
