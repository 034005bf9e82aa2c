// Where the test servers are (scripts/services.sh starts them all on loopback) and what a test file
// does when one is not there: with CI=true it registers one failing test that says which server and
// how to start it; elsewhere it prints a loud warning and registers one skipped test, never a pass.

import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import test from 'ava'

export const URLS = {
  redis: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  redisCluster: process.env.REDIS_CLUSTER_URL ?? 'redis://127.0.0.1:7000',
  postgresql: process.env.POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/test',
  mysql: process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test',
  mongodb: process.env.MONGO_URL ?? 'mongodb://127.0.0.1:27017/test',
} as const

const DEFAULT_PORTS: Readonly<Record<string, number>> = {
  redis: 6379,
  rediss: 6379,
  postgresql: 5432,
  postgres: 5432,
  mysql: 3306,
  mongodb: 27017,
}

/** Unique to this test run, so reruns and parallel files never share a table, collection or key. */
export const RUN = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`

let names = 0
/** A fresh table/collection name for this run. */
export function freshName(label = 't'): string {
  names += 1
  return `cm_${RUN}_${label}${names}`
}

/**
 * Whether a TCP connection to the URL's first host opens within 2 s. Synchronous (a child process)
 * because AVA needs every test declared before the file's first tick ends.
 */
export function reachable(url: string): boolean {
  const match = /^([a-z+]+):\/\/(?:[^@/]*@)?([^/?#,]+)/i.exec(url)
  if (match === null) return false
  const { hostname, port } = new URL(`tcp://${match[2]}`)
  const portNumber = Number(port || DEFAULT_PORTS[(match[1] as string).toLowerCase()] || 0)
  const probe = `const s = require('node:net').connect(${portNumber}, ${JSON.stringify(hostname.replace(/^\[|\]$/g, ''))});
s.setTimeout(2000, () => process.exit(1)); s.on('connect', () => process.exit(0)); s.on('error', () => process.exit(1))`
  return spawnSync(process.execPath, ['-e', probe], { timeout: 5000 }).status === 0
}

/**
 * Calls `register` when the server at `url` answers; otherwise registers the CI failure or the
 * local skip described above.
 */
export function withServer(name: string, url: string, register: () => void): void {
  if (reachable(url)) {
    register()
    return
  }
  const message = `${name} server not reachable at ${url}: start it with \`bash scripts/services.sh\` (or set its URL variable)`
  if (process.env.CI === 'true') {
    test(`${name}: the test server is reachable`, (t) => {
      t.fail(message)
    })
    return
  }
  console.warn(`\n!!! SKIPPING every ${name} storage test: ${message}\n`)
  test.skip(`${name}: storage tests (server not reachable at ${url})`, () => {})
}
