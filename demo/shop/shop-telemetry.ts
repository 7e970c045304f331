import type { Hindsight } from '../../src/sdk/index.js';

/**
 * What the shop uses of the Hindsight SDK (`createHindsight(…)`, `hindsight/sdk`): request
 * middleware, the user of a request, jobs, and the release now serving.
 */
export type ShopTelemetry = Pick<Hindsight, 'hono' | 'identify' | 'job' | 'setRelease'>;
