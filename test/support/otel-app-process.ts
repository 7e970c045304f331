import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The OpenTelemetry-instrumented test app (see its header) and where it lives. */
export const otelAppDir = fileURLToPath(new URL('../integration/api/otlp/', import.meta.url));
export const otelAppFile = 'otel-instrumented-app.ts';

/** `otel-instrumented-app.ts:LINE` of the line holding `marker`: a call site as the app's hook reports it. */
export const otelAppCallSite = (marker: string): string => {
  const lines = readFileSync(path.join(otelAppDir, otelAppFile), 'utf8').split('\n');
  return `${otelAppFile}:${lines.findIndex((line) => line.includes(marker)) + 1}`;
};

export interface OtelApp {
  readonly child: ChildProcess;
  readonly url: string;
  stderr(): string;
  /** SIGTERM: the app exports what it has, then exits; resolves with its exit code. */
  stop(): Promise<number | null>;
}

/**
 * Starts the app (`node --import tsx`, cwd its folder so call sites read `otel-instrumented-app.ts:N`)
 * with `env` (DATABASE_URL, OTEL_EXPORTER_OTLP_ENDPOINT, HINDSIGHT_TOKEN, OTLP_PROTOCOL, …).
 */
export async function startOtelApp(env: Record<string, string>): Promise<OtelApp> {
  const child = spawn(process.execPath, ['--import', 'tsx', otelAppFile], {
    cwd: otelAppDir,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /listening (\d+)/.exec(out);
      if (m !== null) resolve(Number(m[1]));
    });
    child.on('exit', (code) => {
      reject(new Error(`the app exited (${String(code)}) before listening: ${stderr}`));
    });
  });
  return {
    child,
    url: `http://127.0.0.1:${port}`,
    stderr: () => stderr,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) {
          resolve(child.exitCode);
          return;
        }
        child.on('exit', (code) => {
          resolve(code);
        });
        child.kill('SIGTERM');
      }),
  };
}
