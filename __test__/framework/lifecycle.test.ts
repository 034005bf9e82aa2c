// close(), setPrefix and process exit. Own file: both change process-wide state.

import { execFile } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import test from 'ava'
import { Cache, close, get, Node, registerStorage, Storage, StorageError, setPrefix, stats } from '../../lib'
import { tempDir } from './helpers'

const dir = tempDir()
test.after.always(() => dir.remove())

const lib = join(__dirname, '..', '..', 'lib', 'index.js')

/** Runs a script using cacheme in a child process; resolves with its exit code and output. */
function runChild(body: string): Promise<{ code: number | null; stdout: string; timedOut: boolean }> {
  const file = dir.file(`child-${Math.random().toString(36).slice(2)}.js`)
  writeFileSync(
    file,
    `const c = require(${JSON.stringify(lib)})
class N extends c.Node {
  constructor(id) { super(); this.id = id }
  key() { return 'n:' + this.id }
  async load() { return { id: this.id } }
}
N.meta = { version: 'v1', caches: [new c.Cache({ storage: 'local', ttl: null }), new c.Cache({ storage: 'sql', ttl: 60000 })] }
;(async () => {
  await c.registerStorage('local', new c.Storage({ url: 'local://tlfu', size: 100 }))
  await c.registerStorage('sql', new c.Storage({ url: ${JSON.stringify(`sqlite://${dir.file('child.db')}`)}, poolSize: 2 }))
  ${body}
  console.log('done')
})()
`,
  )
  return new Promise((resolve) => {
    execFile(process.execPath, [file], { timeout: 20_000 }, (error, stdout) => {
      const timedOut = error !== null && (error as { killed?: boolean }).killed === true
      resolve({ code: error === null ? 0 : ((error as { code?: number }).code ?? null), stdout, timedOut })
    })
  })
}

test('after close() the process exits by itself', async (t) => {
  const child = await runChild(`
  await c.get(new N(1)); await c.getAll([new N(1), new N(2)]); await c.invalidate(new N(2))
  await c.close()`)
  t.false(child.timedOut, 'a dangling handle kept the process alive')
  t.is(child.code, 0)
  t.is(child.stdout.trim(), 'done')
})

test('close() with SQLite requests in flight waits for the workers to exit before it resolves', async (t) => {
  // The replies to those requests arrive while close() waits; they must not let the process exit
  // with close() unresolved (it could: the last reply unref'ed the worker, and on a busy machine the
  // process sometimes ended before the worker did, without running the rest of the script).
  const child = await runChild(`
  const storage = new c.Storage({ url: ${JSON.stringify(`sqlite://${dir.file('inflight.db')}`)}, poolSize: 1 })
  await c.registerStorage('inflight', storage)
  const writes = []
  for (let i = 0; i < 64; i++) {
    writes.push(storage.adapter.setMany([['k' + i, Buffer.alloc(64 * 1024, i)]], null))
    // One microtask: the batch is posted to the worker before the next one starts.
    await Promise.resolve()
  }
  await c.close()
  await Promise.allSettled(writes)`)
  t.false(child.timedOut)
  t.is(child.code, 0)
  t.is(child.stdout.trim(), 'done', 'close() resolved and the script went on')
})

test('an idle SQLite worker does not keep the process alive even without close()', async (t) => {
  const child = await runChild('await c.get(new N(3)); await c.get(new N(3))')
  t.false(child.timedOut)
  t.is(child.code, 0)
})

test.serial('close() closes every storage; names can be registered again and stats survive', async (t) => {
  let loads = 0
  class Life extends Node<number> {
    static meta = { version: 'v1', caches: [new Cache({ storage: 'mem', ttl: null })] }
    key() {
      return 'life'
    }
    async load() {
      return ++loads
    }
  }
  await registerStorage('mem', new Storage({ url: 'local://lru', size: 10 }))
  t.is(await get(new Life()), 1)
  t.is(await get(new Life()), 1)
  await close()
  const error = await t.throwsAsync(get(new Life()), { instanceOf: StorageError })
  t.is(error?.code, 'CACHEME_CLOSED')
  await registerStorage('mem', new Storage({ url: 'local://lru', size: 10 }))
  t.is(await get(new Life()), 2, 'the new storage starts empty')
  t.is(stats(Life).requestCount, 3)
  await close()
})

test.serial('setPrefix changes the first part of every stored key', async (t) => {
  const mem = new Storage({ url: 'local://lru', size: 10 })
  await registerStorage('prefixed', mem)
  class Prefixed extends Node<string> {
    static meta = { version: 'v3', caches: [new Cache({ storage: 'prefixed', ttl: null })] }
    key() {
      return 'p'
    }
    async load() {
      return 'value'
    }
  }
  await get(new Prefixed())
  t.true(mem.local?.has('cacheme:p:v3'))
  setPrefix('myapp')
  try {
    await get(new Prefixed())
    t.true(mem.local?.has('myapp:p:v3'))
    t.throws(() => setPrefix(''))
  } finally {
    setPrefix('cacheme')
    await close()
  }
})
