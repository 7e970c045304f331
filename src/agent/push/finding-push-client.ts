import type { TargetHealth } from '../../core/catalog.js';
import { userError } from '../../core/errors.js';
import type { Finding } from '../../core/finding.js';
import type { SeriesPoint, StatementPoint } from '../../core/metrics-series.js';
import type { FindingSink } from '../../core/ports.js';
import { sleep } from '../../platform/abortable-sleep.js';
import { Backoff, type BackoffOptions } from '../../platform/backoff.js';
import type { Logger } from '../../platform/logger.js';
import { systemClock } from '../../platform/system-clock.js';

export interface FindingPushOptions {
  /** The server's base URL, e.g. http://hindsight.internal:8080 (no trailing slash). */
  readonly server: string;
  /** A bearer token with role responder or admin. */
  readonly token: string;
  /** This agent's name, sent with every batch (several agents feed one server). */
  readonly agent: string;
  readonly logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** At most this many findings per request (100). */
  readonly batchSize?: number;
  /** A batch leaves at least this often while findings wait (500 ms). */
  readonly flushIntervalMs?: number;
  /** Findings kept while the server is unreachable; beyond it the oldest are dropped (10,000). */
  readonly maxBuffered?: number;
  /** Metrics intervals (a point and its statements) kept while the server is unreachable (8,640: a day of one target at 10 s). */
  readonly maxBufferedIntervals?: number;
  /** Target health is re-sent at least this often even when unchanged (10 s). */
  readonly healthIntervalMs?: number;
  readonly requestTimeoutMs?: number;
  /** How long `run` keeps trying to deliver what is buffered once its signal aborts (3 s). */
  readonly drainMs?: number;
  readonly backoff?: BackoffOptions;
  readonly fetch?: typeof fetch;
  readonly now?: () => number;
}

export interface FindingPushStats {
  readonly buffered: number;
  readonly sent: number;
  /** Dropped because the buffer was full while the server could not be reached. */
  readonly dropped: number;
  /** Refused by the server as invalid (a 400): retrying would not help. */
  readonly rejected: number;
}

type Attempt = 'sent' | 'idle' | 'retry';

interface PendingInterval {
  readonly point: SeriesPoint;
  readonly statements: readonly StatementPoint[];
}

const INGEST_PATH = '/api/v1/ingest/findings';

/**
 * Pushes findings and target health to a Hindsight server (`POST /api/v1/ingest/findings`):
 * batched, authenticated, buffered (bounded: the oldest are dropped and counted) while the server
 * cannot be reached, retried with backoff. A server outage never ends it; a refused token (401/403)
 * does, as a user error. Findings carry ids and the server keeps each once, so a retry after a lost
 * answer doubles nothing.
 */
export class FindingPushClient implements FindingSink {
  readonly #o: Required<Omit<FindingPushOptions, 'backoff' | 'fetch' | 'now'>>;
  readonly #backoff: Backoff;
  readonly #fetch: typeof fetch;
  readonly #now: () => number;
  #buffer: Finding[] = [];
  #series: PendingInterval[] = [];
  readonly #health = new Map<string, TargetHealth>();
  #healthDirty = false;
  #healthSentAt = Number.NEGATIVE_INFINITY;
  #batchLimit: number;
  #sent = 0;
  #dropped = 0;
  #droppedSinceDelivery = 0;
  #rejected = 0;
  #failing: string | null = null;
  #wake: (() => void) | null = null;

  constructor(options: FindingPushOptions) {
    this.#o = {
      server: options.server.replace(/\/+$/, ''),
      token: options.token,
      agent: options.agent,
      logger: options.logger,
      batchSize: options.batchSize ?? 100,
      flushIntervalMs: options.flushIntervalMs ?? 500,
      maxBuffered: options.maxBuffered ?? 10_000,
      maxBufferedIntervals: options.maxBufferedIntervals ?? 8_640,
      healthIntervalMs: options.healthIntervalMs ?? 10_000,
      requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
      drainMs: options.drainMs ?? 3000,
    };
    this.#backoff = new Backoff({ initialMs: 500, maxMs: 30_000, ...options.backoff });
    this.#fetch = options.fetch ?? fetch;
    this.#now = options.now ?? (() => systemClock.now());
    this.#batchLimit = this.#o.batchSize;
  }

  publish(finding: Finding): void {
    this.#buffer.push(finding);
    this.#trim();
    if (this.#buffer.length >= this.#batchLimit) this.#wake?.();
  }

  /**
   * Metrics intervals the agent closed, sent with the next push (at most 100 a request). Bounded
   * like findings: while the server cannot be reached the oldest are dropped.
   */
  publishSeries(points: readonly SeriesPoint[], statements: readonly StatementPoint[]): void {
    for (const point of points) {
      this.#series.push({
        point,
        statements: statements.filter(
          (s) => s.target === point.target && s.at === point.at && s.resolutionMs === point.resolutionMs,
        ),
      });
    }
    const excess = this.#series.length - this.#o.maxBufferedIntervals;
    if (excess > 0) this.#series.splice(0, excess);
  }

  /** The latest health of a target; a change of reachability is sent at once. */
  reportHealth(health: TargetHealth): void {
    const before = this.#health.get(health.target);
    this.#health.set(health.target, health);
    if (before?.reachable !== health.reachable) {
      this.#healthDirty = true;
      this.#wake?.();
    }
  }

  get stats(): FindingPushStats {
    return {
      buffered: this.#buffer.length,
      sent: this.#sent,
      dropped: this.#dropped,
      rejected: this.#rejected,
    };
  }

  /**
   * Delivers until `signal` aborts, then tries for `drainMs` more to deliver what is buffered.
   * Rejects only when the server refuses the token.
   */
  async run(signal: AbortSignal): Promise<void> {
    const stopped = (): boolean => signal.aborted;
    while (!stopped()) {
      await this.#waitForWork(signal);
      if (stopped()) break;
      const outcome = await this.#attempt(signal);
      if (outcome === 'retry') await sleep(this.#backoff.next(), signal);
      else this.#backoff.reset();
    }
    const deadline = this.#now() + this.#o.drainMs;
    const drain = AbortSignal.timeout(this.#o.drainMs);
    while (this.#now() < deadline && (this.#buffer.length > 0 || this.#healthDirty)) {
      const outcome = await this.#attempt(drain);
      if (outcome === 'retry') await sleep(Math.min(200, this.#backoff.next()), drain);
    }
    if (this.#buffer.length > 0) {
      this.#o.logger.warn(
        { undelivered: this.#buffer.length },
        `stopping with ${this.#buffer.length} findings not delivered to ${this.#o.server}`,
      );
    }
  }

  #trim(): void {
    const excess = this.#buffer.length - this.#o.maxBuffered;
    if (excess <= 0) return;
    this.#buffer.splice(0, excess);
    if (this.#droppedSinceDelivery === 0) {
      this.#o.logger.warn(
        { maxBuffered: this.#o.maxBuffered },
        `buffer full (${this.#o.maxBuffered} findings not yet delivered to ${this.#o.server}): dropping the oldest`,
      );
    }
    this.#dropped += excess;
    this.#droppedSinceDelivery += excess;
  }

  async #waitForWork(signal: AbortSignal): Promise<void> {
    if (this.#buffer.length >= this.#batchLimit || this.#healthDirty) return;
    const woken = new Promise<void>((resolve) => {
      this.#wake = resolve;
    });
    await Promise.race([woken, sleep(this.#o.flushIntervalMs, signal)]);
    this.#wake = null;
  }

  async #attempt(signal: AbortSignal): Promise<Attempt> {
    const healthDue =
      this.#health.size > 0 &&
      (this.#healthDirty || this.#now() - this.#healthSentAt >= this.#o.healthIntervalMs);
    if (this.#buffer.length === 0 && !healthDue && this.#series.length === 0) return 'idle';
    const batch = this.#buffer.splice(0, this.#batchLimit);
    const intervals = this.#series.splice(0, Math.min(100, this.#batchLimit));
    const series =
      intervals.length === 0
        ? {}
        : {
            series: {
              points: intervals.map((i) => i.point),
              statements: intervals.flatMap((i) => i.statements),
            },
          };
    const health = [...this.#health.values()];
    let response: Response;
    try {
      response = await this.#fetch(`${this.#o.server}${INGEST_PATH}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${this.#o.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ agent: this.#o.agent, findings: batch, health, ...series }),
        signal: AbortSignal.any([signal, AbortSignal.timeout(this.#o.requestTimeoutMs)]),
      });
    } catch (error) {
      this.#putBack(batch, intervals);
      this.#outage(describeFetchError(error));
      return 'retry';
    }
    const text = await response.text().catch(() => '');
    if (response.ok) {
      this.#sent += batch.length;
      this.#healthSentAt = this.#now();
      this.#healthDirty = false;
      this.#recovered();
      if (this.#batchLimit < this.#o.batchSize)
        this.#batchLimit = Math.min(this.#o.batchSize, this.#batchLimit * 2);
      return 'sent';
    }
    const said = serverMessage(text);
    if (response.status === 401 || response.status === 403) {
      this.#putBack(batch, intervals);
      throw userError(
        'AGENT_TOKEN_REFUSED',
        `${this.#o.server} refused the agent's token (${response.status}${said ? `: ${said}` : ''}); pass --token (or set HINDSIGHT_TOKEN) to a token with role responder or admin (an admin creates one with POST /api/v1/tokens)`,
      );
    }
    if (response.status === 413 && batch.length > 1) {
      this.#putBack(batch, intervals);
      this.#batchLimit = Math.max(1, Math.floor(batch.length / 2));
      return 'sent';
    }
    if (
      response.status >= 400 &&
      response.status < 500 &&
      response.status !== 408 &&
      response.status !== 429
    ) {
      this.#rejected += batch.length;
      this.#healthDirty = false;
      this.#o.logger.error(
        { status: response.status, findings: batch.length },
        `${this.#o.server} rejected a batch of ${batch.length} findings (${response.status}${said ? `: ${said}` : ''}); dropped it`,
      );
      return 'sent';
    }
    this.#putBack(batch);
    this.#outage(`HTTP ${response.status}${said ? `: ${said}` : ''}`);
    return 'retry';
  }

  /** A batch that did not get through goes back in front, within the bound. */
  #putBack(batch: readonly Finding[], intervals: readonly PendingInterval[] = []): void {
    this.#buffer = [...batch, ...this.#buffer];
    this.#series = [...intervals, ...this.#series].slice(-this.#o.maxBufferedIntervals);
    this.#trim();
  }

  #outage(reason: string): void {
    if (this.#failing === null) {
      this.#o.logger.warn(
        { reason },
        `cannot deliver findings to ${this.#o.server} (${reason}); buffering up to ${this.#o.maxBuffered} and retrying with backoff`,
      );
    }
    this.#failing = reason;
  }

  #recovered(): void {
    const dropped = this.#droppedSinceDelivery;
    if (this.#failing === null && dropped === 0) return;
    const what =
      this.#failing === null ? `delivering to ${this.#o.server} again` : `${this.#o.server} reachable again`;
    this.#o.logger.info(
      { dropped },
      `${what}${dropped > 0 ? `; ${dropped} findings were dropped before they could be delivered` : ''}`,
    );
    this.#failing = null;
    this.#droppedSinceDelivery = 0;
  }
}

function describeFetchError(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause as { code?: unknown; message?: unknown } | undefined;
    if (typeof cause?.code === 'string') return cause.code;
    if (error.name === 'TimeoutError' || error.name === 'AbortError') return 'timed out';
    return error.message;
  }
  return String(error);
}

/** The `message` of an API error body `{ code, message }`, as text; the raw text otherwise. */
function serverMessage(text: string): string {
  try {
    const body = JSON.parse(text) as { message?: unknown };
    if (typeof body.message === 'string') return body.message;
  } catch {
    // not JSON: show its start
  }
  return text.slice(0, 200).replace(/\s+/g, ' ').trim();
}
