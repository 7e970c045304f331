import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

/**
 * `hindsight serve …` as one process (Node with tsx's loader, so that a signal — `kill -9` too —
 * reaches serve itself, not a launcher): ready once it prints `listening on http://HOST:PORT`;
 * `api()` calls it with a bearer token.
 */
export class ServeProcess {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  url = '';
  readonly #ready: Promise<string>;

  /** `nodeArgs`: options for Node itself, e.g. `--cpu-prof` (not allowed in NODE_OPTIONS). */
  constructor(args: readonly string[], env: NodeJS.ProcessEnv = {}, nodeArgs: readonly string[] = []) {
    this.child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', 'src/bin.ts', 'serve', ...args], {
      cwd: root,
      env: { ...process.env, ...env },
    });
    this.child.stderr?.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.#ready = new Promise((resolve, reject) => {
      this.child.stdout?.on('data', (d: Buffer) => {
        this.stdout += d.toString();
        const match = /listening on (http:\/\/\S+)/.exec(this.stdout);
        if (match) {
          this.url = match[1]!.replace(/\/$/, '');
          resolve(this.url);
        }
      });
      this.child.once('exit', (code, signal) => {
        reject(
          new Error(
            `serve exited (${code ?? signal}) before it was ready\nstdout:\n${this.stdout}\nstderr:\n${this.stderr}`,
          ),
        );
      });
    });
  }

  /** Resolves with the base URL once serve listens. */
  ready(timeoutMs = 60_000): Promise<string> {
    return Promise.race([
      this.#ready,
      new Promise<string>((_, reject) =>
        setTimeout(() => {
          reject(
            new Error(
              `serve not ready within ${timeoutMs} ms\nstdout:\n${this.stdout}\nstderr:\n${this.stderr}`,
            ),
          );
        }, timeoutMs).unref(),
      ),
    ]);
  }

  /** A JSON request to the API; resolves with status and parsed body (typed as the test expects it). */
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller names the shape it asserts on
  async api<T>(
    path: string,
    init: { token?: string; method?: string; body?: unknown } = {},
  ): Promise<{ status: number; body: T }> {
    const response = await fetch(`${this.url}${path}`, {
      method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
      headers: {
        ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
        ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    });
    const text = await response.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON (e.g. /metrics): the text itself
    }
    return { status: response.status, body: body as T };
  }

  /** SIGTERM (or `signal`) and resolves with the exit code once it has exited. */
  stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 20_000): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null)
      return Promise.resolve(this.child.exitCode);
    return new Promise((resolve) => {
      this.child.once('exit', (code) => {
        resolve(code);
      });
      this.child.kill(signal);
      setTimeout(() => {
        this.child.kill('SIGKILL');
      }, timeoutMs).unref();
    });
  }
}

/** Polls `probe` every `everyMs` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(
  probe: () => Promise<T | undefined>,
  what: string,
  timeoutMs = 20_000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(
    `${what}: not within ${timeoutMs} ms${last ? ` (last error: ${last instanceof Error ? last.message : JSON.stringify(last)})` : ''}`,
  );
}
