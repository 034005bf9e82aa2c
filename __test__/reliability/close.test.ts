// close() in the middle of traffic, in a child process so that "the process exits
// by itself" can be observed: requests in flight finish (a storage closing under them is a miss, so
// they answer from the loader), calls made after close() reject with CACHEME_CLOSED, and no timer,
// socket or worker is left to keep the process alive.

import { execFile } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import test from 'ava'
import { tempDir } from '../framework/helpers'
import { URLS, withServer } from '../storages/servers'

const dir = tempDir()
test.after.always(() => dir.remove())

const lib = join(__dirname, '..', '..', 'lib', 'index.js')

interface ChildReport {
  answered: number
  answeredAfterClose: number
  failures: string[]
  closedRejections: number
  afterClose: string[]
}

/** The child: three remote tiers behind a local one, 16 request loops, close() after 300 answers. */
function childScript(): string {
  return `const c = require(${JSON.stringify(lib)})
class Item extends c.Node {
  constructor(id) { super(); this.id = id }
  key() { return 'close:' + process.pid + ':' + this.id }
  async load() { await new Promise((r) => setTimeout(r, 1)); return { id: this.id } }
}
Item.meta = { version: 'v1', caches: [
  new c.Cache({ storage: 'local', ttl: 1000 }),
  new c.Cache({ storage: 'sql', ttl: 60000 }),
  new c.Cache({ storage: 'redis', ttl: 60000 }),
  new c.Cache({ storage: 'pg', ttl: 60000 }),
] }
c.onError(() => {})
;(async () => {
  await c.registerStorage('local', new c.Storage({ url: 'local://tlfu', size: 50 }))
  await c.registerStorage('sql', new c.Storage({ url: ${JSON.stringify(`sqlite://${dir.file('close.db')}`)}, poolSize: 2 }))
  await c.registerStorage('redis', new c.Storage({ url: ${JSON.stringify(URLS.redis)} }))
  await c.registerStorage('pg', new c.Storage({ url: ${JSON.stringify(URLS.postgresql)}, table: 'cacheme_close_test' }))
  const report = { answered: 0, answeredAfterClose: 0, failures: [], closedRejections: 0, afterClose: [] }
  let closed = false
  let closing
  const loops = Array.from({ length: 16 }, async (_, worker) => {
    for (let i = 0; i < 100000 && !closed; i++) {
      const id = (worker * 31 + i * 7) % 500
      const ids = [id, id + 1, id + 2]
      try {
        const value = i % 5 === 0 ? await c.getAll(ids.map((n) => new Item(n))) : [await c.get(new Item(id))]
        if (value[0].id !== id) report.failures.push('wrong value for ' + id)
        report.answered++
        if (closing !== undefined) report.answeredAfterClose++
        if (report.answered === 300 && closing === undefined) closing = c.close()
      } catch (error) {
        if (error.code === 'CACHEME_CLOSED') { report.closedRejections++; closed = true }
        else report.failures.push(String(error && error.stack || error))
      }
    }
  })
  await Promise.all(loops)
  await closing
  for (const call of [() => c.get(new Item(1)), () => c.getAll([new Item(1)]), () => c.refresh(new Item(1)), () => c.invalidate(new Item(1))]) {
    try { await call(); report.afterClose.push('resolved') } catch (error) { report.afterClose.push(error.code) }
  }
  console.log(JSON.stringify(report))
})()
`
}

function runChild(): Promise<{ code: number | null; stdout: string; stderr: string; timedOut: boolean }> {
  const file = dir.file('close-child.js')
  writeFileSync(file, childScript())
  return new Promise((resolve) => {
    execFile(process.execPath, [file], { timeout: 60_000 }, (error, stdout, stderr) => {
      const timedOut = error !== null && (error as { killed?: boolean }).killed === true
      resolve({
        code: error === null ? 0 : ((error as { code?: number }).code ?? null),
        stdout,
        stderr,
        timedOut,
      })
    })
  })
}

withServer('redis', URLS.redis, () => {
  withServer('postgresql', URLS.postgresql, () => {
    test('close() during traffic: in-flight requests answer, later calls reject CACHEME_CLOSED, the process exits', async (t) => {
      const child = await runChild()
      t.false(child.timedOut, 'a timer, socket or worker kept the process alive after close()')
      t.is(child.code, 0, child.stderr)
      const report = JSON.parse(child.stdout.trim().split('\n').at(-1) as string) as ChildReport
      t.deepEqual(report.failures, [], 'no request failed other than with CACHEME_CLOSED')
      t.true(report.answered >= 300)
      t.true(report.closedRejections > 0, 'calls after close() were refused')
      t.deepEqual(report.afterClose, ['CACHEME_CLOSED', 'CACHEME_CLOSED', 'CACHEME_CLOSED', 'CACHEME_CLOSED'])
      t.log(
        `answered ${report.answered} (${report.answeredAfterClose} of them in flight when close() began), ` +
          `${report.closedRejections} refused with CACHEME_CLOSED`,
      )
    })
  })
})
