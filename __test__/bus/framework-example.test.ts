// examples/cluster as the README tells users to run it: four node:cluster workers on local + Redis
// tiers; it checks by itself that a price changed through one worker is answered by all four, and
// exits 0 only then.

import { spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { join } from 'node:path'
import test from 'ava'
import { URLS, withServer } from '../storages/servers'

/** A loopback port nothing listens on right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

withServer('redis', URLS.redis, () => {
  test('examples/cluster: an update through one of four workers is answered by every worker', async (t) => {
    const example = join(__dirname, '..', '..', 'examples', 'cluster', 'main.js')
    const child = spawn(process.execPath, [example], {
      env: { ...process.env, PORT: String(await freePort()), REDIS_URL: URLS.redis },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk
    })
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk
    })
    // Bounded: the example gives up by itself after 2,000 requests; this is the backstop.
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
    clearTimeout(timer)
    t.is(code, 0, output)
    t.regex(output, /every worker answered it within/)
  })
})
