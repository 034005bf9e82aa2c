// What every benchmark section shares: its command line (`--quick`, `--json FILE`), markdown
// helpers, and the JSON file the driver (run.ts) turns into benchmark/RESULTS.md.

import { mkdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'

/** The repository root (sections run from dist/benchmark/). */
export const ROOT = join(__dirname, '..', '..')

export const quick = process.argv.includes('--quick')

/**
 * Where results go: benchmark/ for a full run (RESULTS.md, results/, hit-ratio.png are committed),
 * a temporary directory for --quick, so that a smoke run never overwrites measured figures.
 */
export const OUT_DIR = quick ? join(tmpdir(), 'cacheme-bench-quick') : join(ROOT, 'benchmark')

/** One section's output: its markdown for RESULTS.md and the figures behind it. */
export interface SectionResult {
  section: string
  title: string
  quick: boolean
  /** Wall time of the section, seconds. */
  seconds: number
  /** When it was measured (ISO 8601). */
  date: string
  markdown: string
  data: unknown
}

const started = performance.now()

/** Prints the section's markdown and, with `--json FILE`, writes the result there. */
export function emit(section: string, title: string, markdown: string, data: unknown): void {
  const result: SectionResult = {
    section,
    title,
    quick,
    seconds: (performance.now() - started) / 1000,
    date: new Date().toISOString(),
    markdown,
    data,
  }
  console.log(`\n## ${title}\n\n${markdown}`)
  const at = process.argv.indexOf('--json')
  const file = at >= 0 ? process.argv[at + 1] : undefined
  if (file !== undefined) {
    mkdirSync(dirname(file), { recursive: true })
    writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`)
  }
}

/** A markdown table; numbers are printed as given (format them first). */
export function table(header: string[], rows: (string | number)[][], align?: string[]): string {
  const line = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`
  const rule = header.map((_, i) => align?.[i] ?? (i === 0 ? '---' : '---:'))
  return [line(header), line(rule), ...rows.map(line)].join('\n')
}

/** `1234567.8` → `1,234,568`. */
export const int = (n: number): string => Math.round(n).toLocaleString('en-US')

/** A ratio as `1.23×`. */
export const times = (n: number): string => `${n >= 10 ? n.toFixed(1) : n.toFixed(2)}×`

/** Millions with two decimals. */
export const millions = (n: number): string => (n / 1e6).toFixed(2)

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN
}

/** The value at quantile q (0–1) of already sorted values. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number
}
