import { parentPort, workerData } from 'node:worker_threads';
import { analyzeRanges, type ShareJob } from './range-analysis.js';

/**
 * Worker thread entry: analyzes its byte ranges (of one file, or of several files in a row) and
 * posts progress (`{ bytes }`) and then its result (`{ result }`, plain data: Maps and Sets cross
 * by structured clone) to the main thread.
 */
const port = parentPort;
if (port !== null) {
  const jobs = workerData as readonly ShareJob[];
  let pending = 0;
  analyzeRanges(jobs, (n) => {
    pending += n;
    if (pending >= 8 << 20) {
      port.postMessage({ bytes: pending });
      pending = 0;
    }
  }).then(
    (result) => {
      port.postMessage({ bytes: pending, result });
    },
    (error: unknown) => {
      port.postMessage({ error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    },
  );
}
