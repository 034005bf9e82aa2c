// Four node:cluster workers behind one HTTP port, each with its own in-process tier in front of a
// shared Redis tier, kept coherent by the invalidation bus. Run it (after `npm run build`):
//
//   node dist/examples/cluster/main.js            # serves on :3000 and checks itself, then exits
//   node dist/examples/cluster/main.js --serve    # keeps serving: curl localhost:3000/products/1
//                                                 #   curl -X POST 'localhost:3000/products/1?price=999'
//
// REDIS_URL overrides redis://127.0.0.1:6379. The "database" is a JSON file every worker reads.
//
// The check: it sets the price through one worker (Redis may still hold a price from an earlier run
// for ten minutes), asks for product 1 until every worker has answered it (so each holds that price in
// its local tier, cached for a minute), changes the price through one worker (which writes the file
// and calls refresh), then asks again until every worker answers the new price. Without the bus the
// other three would serve the old price until their local TTL ran out; with it, within milliseconds.

import cluster from 'node:cluster'
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Bus, Cache, close, get, Node, refresh, registerStorage, Storage, setBus } from '../../lib'

const WORKERS = 4
const PORT = Number(process.env.PORT ?? 3000)
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const DATABASE = join(tmpdir(), `cacheme-cluster-example-${process.env.EXAMPLE_RUN ?? process.pid}.json`)

interface Product {
  readonly id: number
  readonly name: string
  readonly price: number
}

function readDatabase(): Record<string, Product> {
  return JSON.parse(readFileSync(DATABASE, 'utf8')) as Record<string, Product>
}

class ProductNode extends Node<Product> {
  static meta = {
    version: 'v1',
    caches: [new Cache({ storage: 'local', ttl: 60_000 }), new Cache({ storage: 'redis', ttl: 600_000 })],
  }
  constructor(readonly id: number) {
    super()
  }
  key() {
    return `example:product:${this.id}`
  }
  async load() {
    const product = readDatabase()[this.id]
    if (product === undefined) throw new Error(`no product ${this.id}`)
    return product
  }
}

async function worker(): Promise<void> {
  await registerStorage('local', new Storage({ url: 'local://tlfu', size: 10_000 }))
  await registerStorage('redis', new Storage({ url: REDIS_URL }))
  await setBus(new Bus({ url: REDIS_URL }))
  const id = cluster.worker?.id ?? 0
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost')
    const match = /^\/products\/(\d+)$/.exec(url.pathname)
    if (match === null) {
      res.writeHead(404).end()
      return
    }
    const productId = Number(match[1])
    const answer = async () => {
      if (req.method === 'POST') {
        const database = readDatabase()
        const product = database[productId]
        if (product === undefined) throw new Error(`no product ${productId}`)
        database[productId] = { ...product, price: Number(url.searchParams.get('price')) }
        writeFileSync(DATABASE, JSON.stringify(database))
        // Loads the new value into every tier here and, through the bus, evicts it from the others.
        await refresh(new ProductNode(productId))
      }
      return { worker: id, product: await get(new ProductNode(productId)) }
    }
    answer().then(
      (body) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body)),
      (error: unknown) => res.writeHead(500).end(String(error)),
    )
  })
  server.listen(PORT)
  process.on('message', (message) => {
    if (message !== 'shutdown') return
    server.close()
    void close().then(() => cluster.worker?.disconnect())
  })
}

/** One request on a new connection, so that the primary hands it to the next worker in turn. */
function ask(method: 'GET' | 'POST', path: string): Promise<{ worker: number; product: Product }> {
  return new Promise((resolve, reject) => {
    const req = request({ port: PORT, path, method, agent: false }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        body += chunk
      })
      res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(body)) : reject(new Error(body))))
    })
    req.on('error', reject)
    req.end()
  })
}

/** Asks for product 1 until every worker has answered `price`; gives up after `attempts`. */
async function untilEveryWorkerSays(price: number, attempts = 2_000): Promise<number> {
  const seen = new Set<number>()
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const { worker, product } = await ask('GET', '/products/1')
    if (product.price === price) seen.add(worker)
    if (seen.size === WORKERS) return attempt
  }
  throw new Error(`after ${attempts} requests only workers ${[...seen].join(', ')} answered price ${price}`)
}

async function primary(): Promise<void> {
  writeFileSync(DATABASE, JSON.stringify({ 1: { id: 1, name: 'teapot', price: 100 } }))
  const listening = new Promise<void>((resolve) => {
    let count = 0
    cluster.on('listening', () => {
      count += 1
      if (count === WORKERS) resolve()
    })
  })
  for (let i = 0; i < WORKERS; i++) cluster.fork({ EXAMPLE_RUN: String(process.pid) })
  await listening
  console.log(`${WORKERS} workers on http://localhost:${PORT}`)
  if (process.argv.includes('--serve')) return

  let failed = false
  try {
    await ask('POST', '/products/1?price=100')
    await untilEveryWorkerSays(100)
    console.log('every worker has price 100 in its local tier')
    const started = performance.now()
    const updated = await ask('POST', '/products/1?price=250')
    const requests = await untilEveryWorkerSays(250)
    const ms = (performance.now() - started).toFixed(1)
    console.log(
      `price 250 set through worker ${updated.worker}; every worker answered it within ${ms} ms (${requests} requests)`,
    )
  } catch (error) {
    failed = true
    console.error(error)
  } finally {
    for (const child of Object.values(cluster.workers ?? {})) child?.send('shutdown')
    cluster.on('exit', () => {
      if (Object.keys(cluster.workers ?? {}).length > 0) return
      rmSync(DATABASE, { force: true })
      process.exitCode = failed ? 1 : 0
    })
  }
}

if (cluster.isPrimary) {
  primary().catch((error: unknown) => {
    console.error(error)
    process.exit(1)
  })
} else {
  worker().catch((error: unknown) => {
    console.error(error)
    process.exit(1)
  })
}
