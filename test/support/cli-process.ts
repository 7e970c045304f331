import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Stream } from 'node:stream';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const tsx = fileURLToPath(new URL('../../node_modules/.bin/tsx', import.meta.url));

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `hindsight ARGS` (from source, through tsx) to completion; `stdin` is what it reads there. */
export function runCli(
  args: readonly string[],
  options: { timeoutMs?: number; env?: NodeJS.ProcessEnv; stdin?: Buffer } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(tsx, ['src/bin.ts', ...args], { cwd: root, env: { ...process.env, ...options.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`hindsight ${args.join(' ')} did not finish in time; stderr:\n${stderr}`));
    }, options.timeoutMs ?? 30_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.stdin);
  });
}

/** A long-running `hindsight` process whose stdout is read as JSON lines. */
export class CliProcess {
  readonly child: ChildProcess;
  readonly lines: unknown[] = [];
  stderr = '';
  readonly #waiters: { test: (line: unknown) => boolean; resolve: (line: unknown) => void }[] = [];

  /** `stdin`: what the process reads there — another process's stdout makes a real pipe between the two. */
  constructor(args: readonly string[], env: NodeJS.ProcessEnv = {}, options: { stdin?: Stream } = {}) {
    this.child = spawn(tsx, ['src/bin.ts', ...args], {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: [options.stdin ?? 'pipe', 'pipe', 'pipe'],
    });
    this.child.stderr?.on('data', (d: Buffer) => (this.stderr += d.toString()));
    const rl = createInterface({ input: this.child.stdout! });
    rl.on('line', (text) => {
      let line: unknown;
      try {
        line = JSON.parse(text);
      } catch {
        line = text;
      }
      this.lines.push(line);
      for (const waiter of [...this.#waiters]) {
        if (waiter.test(line)) {
          this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
          waiter.resolve(line);
        }
      }
    });
  }

  /** Resolves with the first line (already seen or still to come) that passes `test`. */
  waitFor<T>(test: (line: unknown) => line is T, timeoutMs?: number): Promise<T>;
  waitFor(test: (line: unknown) => boolean, timeoutMs?: number): Promise<unknown>;
  waitFor(test: (line: unknown) => boolean, timeoutMs?: number): Promise<unknown> {
    const limit = timeoutMs ?? 20_000;
    const seen = this.lines.find(test);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new Error(
            `no matching line within ${limit} ms; got:\n${this.lines.map((l) => JSON.stringify(l)).join('\n')}\nstderr:\n${this.stderr}`,
          ),
        );
      }, limit);
      this.#waiters.push({
        test,
        resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
      });
    });
  }

  /** Sends SIGINT and resolves with the exit code. */
  stop(): Promise<number | null> {
    if (this.child.exitCode !== null) return Promise.resolve(this.child.exitCode);
    return new Promise((resolve) => {
      this.child.once('close', (code) => {
        resolve(code);
      });
      this.child.kill('SIGINT');
      setTimeout(() => {
        this.child.kill('SIGKILL');
      }, 5000).unref();
    });
  }
}
