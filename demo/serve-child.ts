import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, extname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/**
 * `hindsight serve` as the user runs it, in a child process of the demo (its own event loop, so
 * it can use the second core; its stdout carries the console channel's pages). Started from the
 * same build as the demo: src/bin.ts through tsx in a checkout, dist/src/bin.js when built.
 */
export class ServeChild {
  readonly #child: ChildProcess;
  readonly #ready: Promise<string>;
  #stderr = '';
  #exited: Promise<number | null>;

  constructor(options: {
    args: readonly string[];
    env: Readonly<Record<string, string>>;
    onLine: (line: string) => void;
  }) {
    const here = fileURLToPath(import.meta.url);
    const ext = extname(here);
    const bin = join(dirname(here), '..', 'src', `bin${ext}`);
    const loader =
      ext === '.ts' && !process.execArgv.some((a) => a.includes('tsx')) ? ['--import', 'tsx'] : [];
    this.#child = spawn(process.execPath, [...process.execArgv, ...loader, bin, 'serve', ...options.args], {
      env: { ...process.env, ...options.env, HINDSIGHT_LOG_LEVEL: process.env.HINDSIGHT_LOG_LEVEL ?? 'warn' },
      // Its own process group: a Ctrl-C in the terminal reaches the demo, which stops serve in order.
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const { stdout, stderr } = this.#child;
    if (stdout === null || stderr === null) throw new Error('hindsight serve was started without pipes');
    stderr.on('data', (d: Buffer) => {
      this.#stderr = (this.#stderr + d.toString()).slice(-20_000);
    });
    // Should the demo itself die (an uncaught error), serve must not outlive it.
    const orphaned = (): void => {
      this.#child.kill('SIGKILL');
    };
    process.once('exit', orphaned);
    this.#exited = new Promise((resolve) =>
      this.#child.once('exit', (code) => {
        process.off('exit', orphaned);
        resolve(code);
      }),
    );
    this.#ready = new Promise((resolve, reject) => {
      const lines = createInterface({ input: stdout });
      let url: string | null = null;
      lines.on('line', (line) => {
        const match = /^listening on (http:\/\/\S+)/.exec(line);
        if (match && url === null) {
          url = (match[1] ?? '').replace(/\/$/, '');
          resolve(url);
        } else options.onLine(line);
      });
      void this.#exited.then((code) => {
        reject(
          new Error(`hindsight serve exited (code ${String(code)}) before it was ready:\n${this.#stderr}`),
        );
      });
    });
    // Stopped before anyone asked whether it is ready (Ctrl-C during start): not an unhandled rejection.
    this.#ready.catch(() => undefined);
  }

  /** Resolves with serve's base URL once it listens (rejects if it exits first). */
  ready(timeoutMs: number): Promise<string> {
    return Promise.race([
      this.#ready,
      new Promise<string>((_, reject) =>
        setTimeout(() => {
          reject(new Error(`hindsight serve was not ready within ${timeoutMs / 1000} s:\n${this.#stderr}`));
        }, timeoutMs).unref(),
      ),
    ]);
  }

  /** What serve wrote to stderr lately (its logs), for a failure's message. */
  get stderr(): string {
    return this.#stderr;
  }

  /** SIGTERM (serve drains and stops its embedded store), SIGKILL after `timeoutMs`. */
  async stop(timeoutMs = 20_000): Promise<void> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) {
      this.#child.kill('SIGTERM');
      const timer = setTimeout(() => this.#child.kill('SIGKILL'), timeoutMs);
      await this.#exited;
      clearTimeout(timer);
    }
  }
}
