// Model-based test of the framework over two tiers, a local storage then SQLite: fast-check
// generates sequences of get / getAll / invalidate / refresh / mutate / burst / advance, runs each
// against a fresh node class and checks every answer against a small model.
//
// The model knows, per id, the one value the tiers may hold (the latest one loaded: loads and
// refreshes write every tier, fill-back copies the same value up, invalidate removes it everywhere)
// and the real-time window in which it was written. There is no fake clock — local expiry runs on
// Rust's monotonic clock, SQLite's on Date.now in a worker — so the model judges time conservatively:
//
//   certainly alive  the read ended before the SQLite row can have expired (written ≥ writeStart);
//                    the local copy may be evicted (size 4) but the row answers
//   certainly gone   the read started after the latest moment any copy can live: the row written by
//                    writeEnd, or a local copy filled back from it by a read that may have hit SQLite
//   in between       either answer is right, and the model follows the one observed
//
// Every load returns a fresh serial, so an answer says exactly whether a load ran. At the end of a
// run the node's own load counter must equal the loads the model saw, and stats() must add up.

import { performance } from 'node:perf_hooks'
import test from 'ava'
import fc from 'fast-check'
import {
  Cache,
  close,
  get,
  getAll,
  invalidate,
  Node,
  refresh,
  registerStorage,
  Storage,
  setPrefix,
  stats,
} from '../../lib'
import { sleep, tempDir, unique } from '../framework/helpers'

const LOCAL_TTL = 60
const SQL_TTL = 150
/** Slack for clock granularity (SQLite stores whole milliseconds) and scheduling; generous. */
const MARGIN = 25
/** Ids 0..5: more keys than the tiny local storage holds. */
const MAX_ID = 5

const dir = tempDir()

test.before(async () => {
  await registerStorage('sql', new Storage({ url: `sqlite://${dir.file('model.db')}` }))
})

test.after.always(async () => {
  setPrefix('cacheme')
  await close()
  dir.remove()
})

interface Loaded {
  readonly id: number
  readonly version: number
  readonly serial: number
}

type Command =
  | { readonly op: 'get'; readonly id: number }
  | { readonly op: 'getAll'; readonly ids: readonly number[] }
  | { readonly op: 'invalidate'; readonly id: number }
  | { readonly op: 'refresh'; readonly id: number }
  | { readonly op: 'mutate'; readonly id: number }
  | { readonly op: 'burst'; readonly id: number; readonly callers: number }
  | { readonly op: 'advance'; readonly ms: number }

const id = fc.integer({ min: 0, max: MAX_ID })
const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 6, arbitrary: id.map((id): Command => ({ op: 'get', id })) },
  {
    weight: 3,
    arbitrary: fc.array(id, { minLength: 1, maxLength: 7 }).map((ids): Command => ({ op: 'getAll', ids })),
  },
  { weight: 2, arbitrary: id.map((id): Command => ({ op: 'invalidate', id })) },
  { weight: 2, arbitrary: id.map((id): Command => ({ op: 'refresh', id })) },
  { weight: 2, arbitrary: id.map((id): Command => ({ op: 'mutate', id })) },
  {
    weight: 1,
    arbitrary: fc
      .record({ id, callers: fc.integer({ min: 2, max: 5 }) })
      .map(({ id, callers }): Command => ({ op: 'burst', id, callers })),
  },
  { weight: 2, arbitrary: fc.integer({ min: 1, max: 200 }).map((ms): Command => ({ op: 'advance', ms })) },
)
const commands = fc
  .array(command, { minLength: 1, maxLength: 30, size: 'max' })
  .filter((list) => list.filter((c) => c.op === 'advance').length <= 4)

/** The one value the tiers may hold for an id, and when it got there. */
interface Entry {
  readonly value: Loaded
  /** performance.now() when the command that wrote it started and ended. */
  readonly writeStart: number
  readonly writeEnd: number
  /** Latest moment a local copy filled back from SQLite can live (−∞ if none can exist). */
  filledUntil: number
}

class Model {
  readonly source = new Map<number, number>()
  readonly entries = new Map<number, Entry>()
  /** Loads observed, and the highest serial handed out by them. */
  loads = 0
  // What stats() must report.
  requests = 0
  misses = 0
  coalescedMin = 0
  /** Joins that may have happened on top of coalescedMin (bursts answered by a tier). */
  coalescedSlack = 0
  /** Requests answered by a tier (an upper bound for the SQLite tier's hit count). */
  tierHits = 0
  /** How reads were judged, for the test's log. */
  readonly judged = { alive: 0, expired: 0, absent: 0, between: 0 }

  version(id: number): number {
    return this.source.get(id) ?? 0
  }

  /**
   * Judges one read of `id` that ran from `start` to `end` and answered `value`; returns whether it
   * loaded. A getAll judges several reads in one step, and `step` collects the serials they loaded.
   */
  read(id: number, value: Loaded, start: number, end: number, step: Step): 'hit' | 'load' {
    const entry = this.entries.get(id)
    const said = `read of ${id} from ${fmt(start)} to ${fmt(end)} ms answered ${show(value)}`
    if (entry === undefined) this.judged.absent++
    else if (start > Math.max(entry.writeEnd + SQL_TTL, entry.filledUntil) + MARGIN) this.judged.expired++
    else if (end < entry.writeStart + SQL_TTL - MARGIN) this.judged.alive++
    else this.judged.between++
    if (value.serial <= step.loadsBefore) {
      if (entry === undefined) throw new Error(`${said}: a cached value, but nothing can be cached`)
      if (!same(entry.value, value)) {
        throw new Error(`${said}: a cached value, but the cache can only hold ${show(entry.value)}`)
      }
      const goneAfter = Math.max(entry.writeEnd + SQL_TTL, entry.filledUntil) + MARGIN
      if (start > goneAfter) {
        throw new Error(`${said}: still cached, but every copy expired by ${fmt(goneAfter)} ms`)
      }
      // If SQLite may have answered, the value was filled back into the local tier.
      if (start < entry.writeEnd + SQL_TTL + MARGIN) {
        entry.filledUntil = Math.max(entry.filledUntil, end + LOCAL_TTL)
      }
      return 'hit'
    }
    if (value.id !== id || value.version !== this.version(id) || step.loaded.has(value.serial)) {
      throw new Error(
        `${said}: a load, which must return id ${id} version ${this.version(id)} and a new serial`,
      )
    }
    if (entry !== undefined && end < entry.writeStart + SQL_TTL - MARGIN) {
      throw new Error(
        `${said}: a load, but ${show(entry.value)} was certainly still cached (until ${fmt(entry.writeStart + SQL_TTL)} ms)`,
      )
    }
    this.loads++
    step.loaded.add(value.serial)
    this.entries.set(id, { value, writeStart: start, writeEnd: end, filledUntil: Number.NEGATIVE_INFINITY })
    return 'load'
  }
}

/** One command's view of the loads: how many there were before it, and the serials it saw loaded. */
interface Step {
  readonly loadsBefore: number
  readonly loaded: Set<number>
}

const same = (a: Loaded, b: Loaded) => a.id === b.id && a.version === b.version && a.serial === b.serial
const show = (v: Loaded) => `{id ${v.id} v${v.version} #${v.serial}}`
let origin = 0
const fmt = (t: number) => (t - origin).toFixed(1)

/** A fresh node class over `localName` then SQLite, with loads numbered by `serial`. */
function itemClass(localName: string, batched: boolean, model: Model) {
  let serial = 0
  const load = (id: number): Loaded => ({ id, version: model.version(id), serial: ++serial })
  const caches = [
    new Cache({ storage: localName, ttl: LOCAL_TTL }),
    new Cache({ storage: 'sql', ttl: SQL_TTL }),
  ]
  class Item extends Node<Loaded> {
    static meta = { version: 'v1', caches }
    constructor(readonly id: number) {
      super()
    }
    key() {
      return `item:${this.id}`
    }
    async load() {
      return load(this.id)
    }
  }
  class BatchedItem extends Item {
    static async loadAll(nodes: Item[]): Promise<Loaded[]> {
      return nodes.map((node) => load(node.id))
    }
  }
  const cls = batched ? BatchedItem : Item
  return { cls, make: (id: number): Item => new cls(id), loads: () => serial }
}

interface Variant {
  readonly url: 'local://lru' | 'local://tlfu'
  readonly size: number
  /** The class has a static loadAll (else getAll loads concurrently). */
  readonly batched: boolean
}

/** Runs `list` against a fresh class and local storage; returns the model and the SQLite tier's hits. */
async function run(variant: Variant, list: readonly Command[]): Promise<{ model: Model; sqlHits: number }> {
  const localName = unique('model-local-')
  await registerStorage(localName, new Storage({ url: variant.url, size: variant.size }))
  setPrefix(unique('model'))
  const model = new Model()
  const { cls, make, loads } = itemClass(localName, variant.batched, model)
  origin = performance.now()
  try {
    for (const [step, c] of list.entries()) {
      try {
        await apply(model, c, make, { loadsBefore: model.loads, loaded: new Set() })
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error)
        throw new Error(`step ${step} ${JSON.stringify(c)}: ${message}`)
      }
      // Serials are distinct and above loadsBefore (checked per read); with this, they are exactly
      // the loads the node ran.
      if (loads() !== model.loads) {
        throw new Error(
          `after step ${step}: the node loaded ${loads()} times, the answers show ${model.loads}`,
        )
      }
    }
    const s = stats(cls)
    const expected = {
      requestCount: model.requests,
      missCount: model.misses,
      hitCount: model.requests - model.misses,
      loadCount: model.loads,
      loadSuccessCount: model.loads,
      loadFailureCount: 0,
      inFlightCount: 0,
      decodeErrorCount: 0,
      storageErrorCount: 0,
    }
    const got = Object.fromEntries(Object.keys(expected).map((k) => [k, s[k as keyof typeof expected]]))
    if (JSON.stringify(got) !== JSON.stringify(expected)) {
      throw new Error(`stats ${JSON.stringify(got)}, expected ${JSON.stringify(expected)}`)
    }
    // A class never read has no tiers resolved yet, so no per-tier counts.
    const none = model.requests === 0 ? 0 : Number.NaN
    const localHits = s.hitsByCache[localName] ?? none
    const sqlHits = s.hitsByCache.sql ?? none
    const coalescedMax = model.coalescedMin + model.coalescedSlack
    if (
      !(localHits >= 0 && sqlHits >= 0 && sqlHits <= model.tierHits) ||
      !(s.coalescedHits >= model.coalescedMin && s.coalescedHits <= coalescedMax) ||
      localHits + sqlHits + s.coalescedHits !== s.hitCount
    ) {
      throw new Error(
        `stats: hitsByCache ${JSON.stringify(s.hitsByCache)} and coalescedHits ${s.coalescedHits} of ` +
          `${s.hitCount} hits; expected ${model.tierHits} tier hits at most and ` +
          `${model.coalescedMin}..${coalescedMax} coalesced`,
      )
    }
    return { model, sqlHits }
  } finally {
    setPrefix('cacheme')
  }
}

async function apply(
  model: Model,
  c: Command,
  make: (id: number) => Node<Loaded>,
  step: Step,
): Promise<void> {
  const start = performance.now()
  switch (c.op) {
    case 'get': {
      const value = await get(make(c.id))
      const how = model.read(c.id, value, start, performance.now(), step)
      model.requests++
      if (how === 'load') model.misses++
      else model.tierHits++
      return
    }
    case 'burst': {
      // Callers start one after another, synchronously: all share one answer, except that a local
      // copy may expire between two of them — then the first ones hit it and the rest share a load.
      const values = await Promise.all(Array.from({ length: c.callers }, () => get(make(c.id))))
      const end = performance.now()
      const first = values[0] as Loaded
      const switched = values.findIndex((value) => !same(value, first))
      const last = values[values.length - 1] as Loaded
      if (switched >= 0 && !values.slice(switched).every((value) => same(value, last))) {
        throw new Error(`concurrent callers got more than two values: ${values.map(show).join(', ')}`)
      }
      model.requests += c.callers
      const answers = switched < 0 ? [first] : [first, last]
      let hits = 0
      for (const value of answers) {
        if (model.read(c.id, value, start, end, step) === 'hit') hits++
        else {
          model.misses++
          // The load's leader counts as the miss, every caller sharing its value as a join.
          model.coalescedMin += values.filter((other) => same(other, value)).length - 1
        }
      }
      if (switched >= 0 && hits !== 1) {
        throw new Error(
          `concurrent callers got ${values.map(show).join(', ')}: a hit must come before a load`,
        )
      }
      if (hits > 0) {
        // Answered by a tier: by the local one, synchronously, or by SQLite with the rest joining.
        model.tierHits++
        model.coalescedSlack += (switched < 0 ? c.callers : switched) - 1
      }
      return
    }
    case 'getAll': {
      const values = await getAll(c.ids.map(make))
      const end = performance.now()
      if (values.length !== c.ids.length) throw new Error(`${values.length} values for ${c.ids.length} nodes`)
      const byId = new Map<number, Loaded>()
      c.ids.forEach((id, i) => {
        const value = values[i] as Loaded
        const earlier = byId.get(id)
        if (earlier !== undefined && !same(earlier, value)) {
          throw new Error(
            `node ${i} (id ${id}) got ${show(value)}, an earlier node of id ${id} ${show(earlier)}`,
          )
        }
        if (value?.id !== id) throw new Error(`node ${i} (id ${id}) got ${show(value)}: not in input order`)
        byId.set(id, value)
      })
      for (const [id, value] of byId) {
        const occurrences = c.ids.filter((other) => other === id).length
        model.requests += occurrences
        if (model.read(id, value, start, end, step) === 'load') {
          model.misses++
          model.coalescedMin += occurrences - 1
        } else model.tierHits += occurrences
      }
      return
    }
    case 'refresh': {
      const value = await refresh(make(c.id))
      const end = performance.now()
      if (
        !(value.serial === step.loadsBefore + 1 && value.id === c.id && value.version === model.version(c.id))
      ) {
        throw new Error(
          `refresh answered ${show(value)}: expected a load of id ${c.id} v${model.version(c.id)}`,
        )
      }
      model.loads++
      model.entries.set(c.id, {
        value,
        writeStart: start,
        writeEnd: end,
        filledUntil: Number.NEGATIVE_INFINITY,
      })
      return
    }
    case 'invalidate':
      await invalidate(make(c.id))
      model.entries.delete(c.id)
      return
    case 'mutate':
      model.source.set(c.id, model.version(c.id) + 1)
      return
    case 'advance':
      await sleep(c.ms)
      return
  }
}

const variants: [string, Variant, number][] = [
  [
    'local://tlfu of 4 entries (evicting; SQLite fills back) then SQLite',
    { url: 'local://tlfu', size: 4, batched: false },
    35,
  ],
  [
    'local://lru of 4 entries with a batch loadAll, then SQLite',
    { url: 'local://lru', size: 4, batched: true },
    30,
  ],
  ['local://lru of 1,000 entries then SQLite', { url: 'local://lru', size: 1000, batched: false }, 25],
]

for (const [title, variant, numRuns] of variants) {
  test.serial(`random command sequences match the model: ${title}`, async (t) => {
    const seen = { runs: 0, commands: 0, loads: 0, sqlHits: 0, alive: 0, expired: 0, absent: 0, between: 0 }
    await fc.assert(
      fc.asyncProperty(commands, async (list) => {
        const { model, sqlHits } = await run(variant, list)
        seen.runs++
        seen.commands += list.length
        seen.loads += model.loads
        seen.sqlHits += sqlHits
        seen.alive += model.judged.alive
        seen.expired += model.judged.expired
        seen.absent += model.judged.absent
        seen.between += model.judged.between
      }),
      { numRuns, includeErrorInReport: true },
    )
    t.log(
      `${seen.runs} runs, ${seen.commands} commands, ${seen.loads} loads, ${seen.sqlHits} SQLite hits; reads ` +
        `certainly cached ${seen.alive}, certainly expired ${seen.expired}, never cached or invalidated ` +
        `${seen.absent}, either ${seen.between}`,
    )
    // fc.assert threw on any mismatch; these check the property really ran and judged reads.
    t.is(seen.runs, numRuns)
    t.true(seen.alive > 0 && seen.absent > 0, 'the runs read cached values and values that were never cached')
  })
}
