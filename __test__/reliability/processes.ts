// Server processes a test owns, so it can kill, freeze and restart them without touching the shared
// servers of scripts/services.sh: a redis-server and a PostgreSQL cluster of their own, on loopback
// ports of their own, with data in a temporary directory. Both come from the Debian packages that
// scripts/services.sh installs.

import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Resolves once something accepts TCP connections on 127.0.0.1:`port`; rejects after `withinMs`. */
export async function waitForPort(port: number, withinMs = 15_000): Promise<void> {
  const until = Date.now() + withinMs
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1')
      socket.once('connect', () => {
        socket.destroy()
        resolve(true)
      })
      socket.once('error', () => resolve(false))
    })
    if (open) return
    if (Date.now() > until) throw new Error(`nothing listens on 127.0.0.1:${port} after ${withinMs} ms`)
    await sleep(50)
  }
}

export interface OwnServer {
  readonly url: string
  /** Kills the server at once (SIGKILL / immediate shutdown): every connection drops. */
  kill(): Promise<void>
  /** Starts it again on the same port and data, resolving once it accepts connections. */
  restart(): Promise<void>
  /** Stops and removes everything; safe to call twice. */
  remove(): Promise<void>
}

export interface OwnRedis extends OwnServer {
  /** SIGSTOP: connections stay open but nothing answers, as with a hung or partitioned server. */
  freeze(): void
  /** SIGCONT after freeze(). */
  thaw(): void
}

export function redisServerPath(): string | undefined {
  const found = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' })
  return found.status === 0 ? found.stdout.trim() : undefined
}

export async function startRedis(port: number): Promise<OwnRedis> {
  const binary = redisServerPath()
  if (binary === undefined) throw new Error('redis-server is not installed (bash scripts/services.sh)')
  let child: ChildProcess | undefined
  const start = async () => {
    child = spawn(
      binary,
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      {
        stdio: 'ignore',
      },
    )
    await waitForPort(port)
  }
  const stop = async () => {
    const running = child
    child = undefined
    if (running === undefined || running.exitCode !== null) return
    const exited = new Promise((resolve) => running.once('exit', resolve))
    running.kill('SIGCONT')
    running.kill('SIGKILL')
    await exited
  }
  // A crashed test must not leave the server behind.
  process.once('exit', () => child?.kill('SIGKILL'))
  await start()
  return {
    url: `redis://127.0.0.1:${port}`,
    kill: stop,
    restart: start,
    remove: stop,
    freeze: () => child?.kill('SIGSTOP'),
    thaw: () => child?.kill('SIGCONT'),
  }
}

/** The directory of PostgreSQL's server binaries (initdb, pg_ctl), if installed. */
export function postgresBinDir(): string | undefined {
  const root = '/usr/lib/postgresql'
  if (!existsSync(root)) return undefined
  const versions = readdirSync(root)
    .filter((name) => existsSync(join(root, name, 'bin', 'pg_ctl')))
    .sort((a, b) => Number(b) - Number(a))
  return versions[0] === undefined ? undefined : join(root, versions[0], 'bin')
}

/**
 * Runs a PostgreSQL binary. PostgreSQL refuses to run as root, so as root (CI) it runs as the
 * `postgres` user the Debian package creates.
 */
function pgRun(bin: string, args: string[]): void {
  const asRoot = process.getuid?.() === 0
  const command = asRoot ? 'runuser' : bin
  const argv = asRoot ? ['-u', 'postgres', '--', bin, ...args] : args
  const result = spawnSync(command, argv, { encoding: 'utf8', timeout: 60_000 })
  if (result.status !== 0) {
    throw new Error(`${bin} ${args.join(' ')} failed: ${result.stderr || result.stdout || result.error}`)
  }
}

function uidOf(user: string): { uid: number; gid: number } {
  const uid = spawnSync('id', ['-u', user], { encoding: 'utf8' })
  const gid = spawnSync('id', ['-g', user], { encoding: 'utf8' })
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) }
}

export async function startPostgres(port: number): Promise<OwnServer> {
  const bin = postgresBinDir()
  if (bin === undefined) throw new Error('PostgreSQL is not installed (bash scripts/services.sh)')
  const dir = mkdtempSync(join(tmpdir(), 'cacheme-pg-'))
  if (process.getuid?.() === 0) {
    const { uid, gid } = uidOf('postgres')
    chownSync(dir, uid, gid)
  }
  const data = join(dir, 'data')
  pgRun(join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync'])
  const pgCtl = join(bin, 'pg_ctl')
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50`
  let running = false
  const start = async () => {
    pgRun(pgCtl, ['-D', data, '-l', join(dir, 'log'), '-o', options, '-w', 'start'])
    running = true
    await waitForPort(port)
  }
  const stop = async () => {
    if (!running) return
    running = false
    pgRun(pgCtl, ['-D', data, '-m', 'immediate', '-w', 'stop'])
  }
  process.once('exit', () => {
    if (!running) return
    try {
      pgRun(pgCtl, ['-D', data, '-m', 'immediate', 'stop'])
    } catch {
      // Exiting anyway: nothing more to do.
    }
  })
  await start()
  return {
    url: `postgresql://postgres@127.0.0.1:${port}/postgres`,
    kill: stop,
    restart: start,
    remove: async () => {
      await stop()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
