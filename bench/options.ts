/**
 * The benchmarks' command lines: strict options (an unknown flag, a missing or malformed value is
 * a usage error naming it, not a silently different run), `--help`, and failures reported as a
 * message rather than a stack trace where the cause is the command line or the machine (no GPU
 * adapter, no scikit-learn).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebGmmError } from '../src/errors.js';
import { SHADERS } from '../src/backends/webgpu/shaders.generated.js';

/** A bad command line: printed with the usage, exit status 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** What the machine lacks or refuses (no adapter, a failed peer): printed as its message, exit status 1. */
export class EnvironmentError extends Error {
  override name = 'EnvironmentError';
}

/** How each option is written: `value` takes one argument, `values` may repeat, `flag` takes none. */
export type OptionKinds = Record<string, 'value' | 'values' | 'flag'>;

export interface Options {
  /** An integer option ≥ `min` (its default when absent). */
  int(name: string, dflt: number, min?: number): number;
  /** A finite number option > 0 (its default when absent). */
  positive(name: string, dflt: number): number;
  /** A string option restricted to `choices`. */
  choice<T extends string>(name: string, dflt: T, choices: readonly T[]): T;
  /** A string option, or undefined when absent. */
  string(name: string): string | undefined;
  /** Every value of a repeatable option, in order. */
  strings(name: string): string[];
  flag(name: string): boolean;
}

/**
 * Parses `--name value`, `--name=value` and `--flag` against `kinds`; `--help`/`-h` prints `usage`
 * and exits. Values are checked when read, each with its option's name in the error.
 */
export function parseOptions(argv: readonly string[], kinds: OptionKinds, usage: string): Options {
  const values = new Map<string, string[]>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--help' || a === '-h') {
      console.log(usage);
      process.exit(0);
    }
    const eq = a.indexOf('=');
    const name = (eq > 0 ? a.slice(0, eq) : a).replace(/^--/, '');
    const kind = a.startsWith('--') ? kinds[name] : undefined;
    if (kind === undefined) throw new UsageError(`unknown argument ${JSON.stringify(a)}`);
    if (kind === 'flag') {
      if (eq > 0) throw new UsageError(`--${name} takes no value`);
      values.set(name, []);
      continue;
    }
    const v = eq > 0 ? a.slice(eq + 1) : argv[++i];
    if (v === undefined) throw new UsageError(`--${name} needs a value`);
    if (kind === 'value' && values.has(name)) throw new UsageError(`--${name} is given twice`);
    values.set(name, [...(values.get(name) ?? []), v]);
  }
  const one = (name: string): string | undefined => values.get(name)?.[0];
  return {
    int(name, dflt, min = 1) {
      const s = one(name);
      if (s === undefined) return dflt;
      const x = Number(s);
      if (s.trim() === '' || !Number.isInteger(x) || x < min) throw new UsageError(`--${name} must be an integer ≥ ${min}, got ${JSON.stringify(s)}`);
      return x;
    },
    positive(name, dflt) {
      const s = one(name);
      if (s === undefined) return dflt;
      const x = Number(s);
      if (s.trim() === '' || !(x > 0) || !Number.isFinite(x)) throw new UsageError(`--${name} must be a positive number, got ${JSON.stringify(s)}`);
      return x;
    },
    choice(name, dflt, choices) {
      const s = one(name);
      if (s === undefined) return dflt;
      if (!(choices as readonly string[]).includes(s)) throw new UsageError(`--${name} must be one of ${choices.join(', ')}, got ${JSON.stringify(s)}`);
      return s as (typeof choices)[number];
    },
    string: one,
    strings: (name) => values.get(name) ?? [],
    flag: (name) => values.has(name),
  };
}

/**
 * Reports what ends a benchmark: a usage error with the usage (exit 2), a missing GPU adapter,
 * scikit-learn or other environment error, or any of webgmm's own errors, as its message (exit 1);
 * anything else with its stack, as the bug it is. Covers top-level await and callbacks alike.
 */
export function reportFailures(usage: string): void {
  const report = (e: unknown): never => {
    if (e instanceof UsageError) {
      console.error(`error: ${e.message}\n${usage}`);
      process.exit(2);
    }
    if (e instanceof EnvironmentError || e instanceof WebGmmError) console.error(`error: ${e.message}`);
    else console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
    process.exit(1);
  };
  process.on('uncaughtException', report);
  process.on('unhandledRejection', report);
  checkEmbeddedShaders();
}

/**
 * The scripts run the kernels embedded in shaders.generated.ts (which the npm scripts write before
 * they run): a copy that differs from `shaders/*.wgsl` would time the kernels as they were.
 */
function checkEmbeddedShaders(): void {
  const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'shaders');
  const embedded = SHADERS as Record<string, string>;
  const files = readdirSync(dir).filter((f) => f.endsWith('.wgsl')).map((f) => f.replace(/\.wgsl$/, ''));
  const stale = [...new Set([...files, ...Object.keys(embedded)])]
    .filter((name) => !files.includes(name) || embedded[name] !== readFileSync(join(dir, `${name}.wgsl`), 'utf8'));
  if (stale.length > 0) {
    throw new EnvironmentError(`the embedded kernels differ from shaders/ (${stale.map((n) => `${n}.wgsl`).join(', ')}): run \`node scripts/embed-shaders.mjs\` (the npm scripts do) before timing them`);
  }
}

/** The median: the middle value, or the mean of the two middle ones; NaN for none. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The Pythons tried for scikit-learn, in order: `WEBGMM_PYTHON` alone if set, else Debian's, then PATH's. */
export const PYTHON_CANDIDATES: readonly string[] = process.env['WEBGMM_PYTHON'] ? [process.env['WEBGMM_PYTHON']] : ['/usr/bin/python3', 'python3'];

/**
 * The first of PYTHON_CANDIDATES that imports sklearn, or null: one choice for every benchmark, so
 * that the EM, k-means and quality benchmarks compare against the same scikit-learn and BLAS.
 */
export function findSklearnPython(): string | null {
  for (const python of PYTHON_CANDIDATES) {
    const r = spawnSync(python, ['-c', 'import sklearn'], { stdio: 'ignore', timeout: 60_000 });
    if (r.status === 0) return python;
  }
  return null;
}

/** The last non-empty line of a process's output (a Python traceback's exception), shortened. */
export function lastLine(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  const last = lines.at(-1) ?? '';
  return last.length > 300 ? `${last.slice(0, 300)}…` : last;
}

/** bench/results/<stem>-<the ISO time of `at`>.json, the folder created: where each script writes its JSON. */
export function resultsPath(stem: string, at = new Date()): string {
  const dir = join(dirname(fileURLToPath(import.meta.url)), 'results');
  mkdirSync(dir, { recursive: true });
  return join(dir, `${stem}-${at.toISOString().replace(/[:.]/g, '-')}.json`);
}
