import { parentPort, workerData } from 'node:worker_threads';
import { analyzeRange, type RangeJob } from './range-analysis.js';

/**
 * Worker thread entry: analyzes one byte range and posts progress (`{ bytes }`) and then its
 * result (`{ result }`, plain data: Maps and Sets cross by structured clone) to the main thread.
 */
const port = parentPort;
if (port !== null) {
  const job = workerData as RangeJob;
  let pending = 0;
  analyzeRange(job, (n) => {
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
