import { Worker } from 'node:worker_threads';
import type { ShareJob, RangesResult } from './range-analysis.js';

interface WorkerMessage {
  readonly bytes?: number;
  readonly result?: RangesResult;
  readonly error?: string;
}

/**
 * Starts the worker for one range. From the compiled `.js` the worker file runs as is; from the
 * `.ts` sources (tsx, Vitest) a small bootstrap registers tsx in the worker first.
 */
function startWorker(job: readonly ShareJob[]): Worker {
  const url = new URL(`./analyze-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);
  // The young generation is where each entry's short-lived objects die, and a large part of a
  // worker's memory. Measured with two workers on a 1.07 GB log (peak RSS of the process, 1 MB
  // read buffers then): 6 MB → 151–173 MB, 8–12 MB → 183–245 MB at the same speed; 4 MB made
  // scavenges cost ~40 % more time.
  const options = { workerData: job, resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB } };
  if (!url.pathname.endsWith('.ts')) return new Worker(url, options);
  const bootstrap = `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(url.href)}); })`;
  return new Worker(bootstrap, { ...options, eval: true });
}

const YOUNG_GENERATION_MB = 6;

/** Runs each sequence of ranges in a worker thread of its own; resolves with the results in order. */
export async function runRangeWorkers(
  jobs: readonly (readonly ShareJob[])[],
  onBytes: (n: number) => void,
): Promise<RangesResult[]> {
  return Promise.all(
    jobs.map(
      (job) =>
        new Promise<RangesResult>((resolve, reject) => {
          const worker = startWorker(job);
          let settled = false;
          worker.on('message', (message: WorkerMessage) => {
            if (message.bytes !== undefined && message.bytes > 0) onBytes(message.bytes);
            if (message.error !== undefined) {
              settled = true;
              reject(new Error(`analyze worker failed: ${message.error}`));
            } else if (message.result !== undefined) {
              settled = true;
              resolve(message.result);
            }
            if (settled) void worker.terminate();
          });
          worker.on('error', (error) => {
            settled = true;
            reject(error);
          });
          worker.on('exit', (code) => {
            if (!settled) reject(new Error(`analyze worker exited with code ${code} before it answered`));
          });
        }),
    ),
  );
}
