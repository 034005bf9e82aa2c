import os from 'node:os'

/** One line naming the machine and runtime, printed with every benchmark. */
export function machine(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU'
  const gib = (os.totalmem() / 2 ** 30).toFixed(0)
  return `${cpu}, ${os.cpus().length} cores, ${gib} GiB, Node ${process.version}, ${os.platform()}-${os.arch()}`
}
