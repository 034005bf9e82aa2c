// A two-tier cache in front of a slow source, in a few seconds (npm run demo).
//
// A product catalog whose source takes 20 ms per read is asked for products in a Zipf stream (a few
// products are very popular, most are rare) by many concurrent callers. cacheme keeps a small
// in-process W-TinyLFU tier in front of a SQLite file; concurrent requests for the same product share
// one load. The demo runs the stream three times: with no cache, with a cold cache, and after a
// "restart" (a new, empty process-local tier; the SQLite file survives), and prints what each tier
// answered. Then it prints what an exporter sees (OpenTelemetry and Prometheus read the same
// snapshot), checked against stats().

import { rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  Cache,
  close,
  get,
  Node,
  type NodeStats,
  registerPrometheus,
  registerStorage,
  Storage,
  stats,
} from '../lib'
import { snapshot } from '../lib/telemetry/figures'
import { zipfIds } from './zipf'

const PRODUCTS = 5_000
const REQUESTS = 20_000
const CONCURRENCY = 200
const SOURCE_LATENCY_MS = 20
const LOCAL_SIZE = 500

interface Product {
  id: number
  name: string
  priceCents: number
}

let sourceReads = 0

/** The slow source: every read takes SOURCE_LATENCY_MS. */
async function readProduct(id: number): Promise<Product> {
  sourceReads++
  await new Promise((resolve) => setTimeout(resolve, SOURCE_LATENCY_MS))
  return { id, name: `product ${id}`, priceCents: 100 + ((id * 37) % 9_900) }
}

class ProductNode extends Node<Product> {
  static meta = {
    version: 'v1',
    caches: [new Cache({ storage: 'local', ttl: 60_000 }), new Cache({ storage: 'sqlite', ttl: 600_000 })],
  }
  constructor(readonly id: number) {
    super()
  }
  key() {
    return `product:${this.id}`
  }
  load() {
    return readProduct(this.id)
  }
}

/** CONCURRENCY callers working through the stream; resolves when it is done. */
async function drive(stream: Uint32Array, fetch: (id: number) => Promise<Product>): Promise<number> {
  const start = performance.now()
  let next = 0
  const caller = async () => {
    while (next < stream.length) {
      const id = stream[next++] as number
      const product = await fetch(id)
      if (product.id !== id) throw new Error(`asked for ${id}, got ${product.id}`)
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, caller))
  return performance.now() - start
}

async function register(file: string): Promise<void> {
  await registerStorage('local', new Storage({ url: 'local://tlfu', size: LOCAL_SIZE }))
  await registerStorage('sqlite', new Storage({ url: `sqlite://${file}` }))
}

const pct = (part: number, whole: number) => `${((100 * part) / Math.max(whole, 1)).toFixed(1).padStart(5)}%`

function report(label: string, ms: number, before: NodeStats, after: NodeStats, reads: number): void {
  const requests = after.requestCount - before.requestCount
  const local = (after.hitsByCache.local ?? 0) - (before.hitsByCache.local ?? 0)
  const sqlite = (after.hitsByCache.sqlite ?? 0) - (before.hitsByCache.sqlite ?? 0)
  const joined = after.coalescedHits - before.coalescedHits
  const loads = after.loadCount - before.loadCount
  console.log(`\n${label}: ${(ms / 1000).toFixed(2)} s, ${reads.toLocaleString()} source reads`)
  console.log('  answered by (share of the requests):')
  const row = (label: string, n: number, note = '') =>
    console.log(`  ${label.padEnd(32)} ${pct(n, requests)}${note}`)
  row(`local tlfu tier (${LOCAL_SIZE} entries)`, local)
  row('SQLite tier', sqlite)
  row('joined an in-flight read', joined, `  (${joined.toLocaleString()} reads saved by coalescing)`)
  row('loaded from the source', loads)
}

/** The figures exporters see for ProductNode, and (with prom-client installed) its scrape. */
async function exported(): Promise<void> {
  console.log('\nexported figures (OpenTelemetry name {attributes} value; Prometheus reads the same):')
  const mine = snapshot().filter(
    (f) => f.attributes['cacheme.node'] === 'ProductNode' || f.name.startsWith('cacheme.local'),
  )
  for (const figure of mine) {
    if (figure.value === 0) continue
    const attributes = Object.entries(figure.attributes).map(([k, v]) => `${k}=${v}`)
    console.log(`  ${figure.name} {${attributes.join(', ')}} ${Number(figure.value.toFixed(3))}`)
  }
  const requests = mine.filter((f) => f.name === 'cacheme.requests').reduce((sum, f) => sum + f.value, 0)
  const counted = stats(ProductNode).requestCount
  console.log(
    `  cacheme.requests sum ${requests} = stats(ProductNode).requestCount ${counted}: ${requests === counted}`,
  )
  let prom: typeof import('prom-client')
  try {
    prom = require('prom-client')
  } catch {
    console.log('  (npm install prom-client to see the Prometheus scrape too)')
    return
  }
  const registry = new prom.Registry()
  const exporter = registerPrometheus(registry)
  const text = await registry.metrics()
  exporter.close()
  console.log('\nPrometheus scrape (registerPrometheus), cacheme_requests_total and cacheme_loads_total:')
  for (const line of text.split('\n')) {
    if (/^cacheme_(requests|loads)_total\{node="ProductNode"/.test(line)) console.log(`  ${line}`)
  }
}

async function main(): Promise<void> {
  const file = join(tmpdir(), `cacheme-demo-${process.pid}.db`)
  const stream = zipfIds(PRODUCTS, 1.0, REQUESTS, 7)
  console.log(
    `${REQUESTS.toLocaleString()} requests for ${PRODUCTS.toLocaleString()} products (Zipf 1.0), ` +
      `${CONCURRENCY} concurrent callers, source latency ${SOURCE_LATENCY_MS} ms`,
  )
  console.log(`cache: local://tlfu (${LOCAL_SIZE} entries, ttl 60 s) → sqlite://${file} (ttl 10 min)`)

  try {
    sourceReads = 0
    const direct = await drive(stream, readProduct)
    console.log(`\nno cache: ${(direct / 1000).toFixed(2)} s, ${sourceReads.toLocaleString()} source reads`)

    await register(file)
    let before = stats(ProductNode)
    sourceReads = 0
    const cold = await drive(stream, (id) => get(new ProductNode(id)))
    report('cold cache', cold, before, stats(ProductNode), sourceReads)
    console.log(`  → ${(direct / cold).toFixed(1)}× faster than no cache`)

    // A restart: the process-local tier starts empty, the SQLite file keeps what was loaded.
    await close()
    await register(file)
    before = stats(ProductNode)
    sourceReads = 0
    const warm = await drive(stream, (id) => get(new ProductNode(id)))
    report(
      'after a restart (empty local tier, warm SQLite file)',
      warm,
      before,
      stats(ProductNode),
      sourceReads,
    )
    console.log(`  → ${(direct / warm).toFixed(1)}× faster than no cache`)
    await exported()
  } finally {
    await close()
    for (const suffix of ['', '-wal', '-shm']) rmSync(file + suffix, { force: true })
  }
}

main().catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
