import { HindsightError, transientError } from '../core/errors.js';
import type { ServerClientOptions } from '../config/server-options.js';
import { terminalText } from './terminal-text.js';

const TIMEOUT_MS = 15_000;

/**
 * The CLI's HTTP client for a Hindsight server (Node's fetch). An error reply `{ code, message }`
 * becomes a HindsightError with the server's code and message: 4xx a user error (exit 2), 5xx and
 * an unreachable server transient (exit 3).
 */
export class ServerClient {
  readonly #options: ServerClientOptions;
  readonly #fetch: typeof fetch;

  constructor(options: ServerClientOptions, fetchImpl: typeof fetch = fetch) {
    this.#options = options;
    this.#fetch = fetchImpl;
  }

  get(path: string): Promise<unknown> {
    return this.#request('GET', path);
  }

  post(path: string, body: unknown = {}): Promise<unknown> {
    return this.#request('POST', path, body);
  }

  async #request(method: string, path: string, body?: unknown): Promise<unknown> {
    const { server, token } = this.#options;
    let response: Response;
    try {
      response = await this.#fetch(`${server}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch (error) {
      throw transientError(
        'SERVER_UNREACHABLE',
        `cannot reach the Hindsight server at ${server} (${reason(error)}); is \`hindsight serve\` running there? Point --server or HINDSIGHT_SERVER at it`,
        error,
      );
    }
    const text = await response.text();
    if (response.ok) {
      try {
        return JSON.parse(text) as unknown;
      } catch (error) {
        throw transientError(
          'SERVER_BAD_REPLY',
          `${server} answered ${method} ${path} with something that is not JSON; is it a Hindsight server?`,
          error,
        );
      }
    }
    throw replyError(response.status, text, server);
  }
}

function replyError(status: number, text: string, server: string): HindsightError {
  let code = `HTTP_${status}`;
  let message = text.trim().slice(0, 300) || `HTTP ${status}`;
  try {
    const body = JSON.parse(text) as { code?: unknown; message?: unknown };
    if (typeof body.code === 'string') code = body.code;
    if (typeof body.message === 'string') message = body.message;
  } catch {
    // not an API error body: its text, shortened, is the message
  }
  message = terminalText(message).replace(/\s*\n\s*/g, ' ');
  if (status === 401) message += ' (pass --token or set HINDSIGHT_TOKEN)';
  if (status >= 500) return new HindsightError({ code, kind: 'transient', message: `${server}: ${message}` });
  return new HindsightError({ code, kind: 'user', message });
}

function reason(error: unknown): string {
  if (error instanceof Error && error.name === 'TimeoutError') return `no answer in ${TIMEOUT_MS / 1000} s`;
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause.message : null;
  return systemCode(error) ?? cause ?? (error instanceof Error ? error.message : String(error));
}

/** ECONNREFUSED and the like, wherever fetch put it: its cause, the cause's cause, an AggregateError's errors. */
function systemCode(error: unknown, depth = 0): string | null {
  if (depth > 4 || typeof error !== 'object' || error === null) return null;
  const e = error as { code?: unknown; cause?: unknown; errors?: unknown };
  if (typeof e.code === 'string' && /^E[A-Z]+$/.test(e.code)) return e.code;
  for (const inner of [e.cause, ...(Array.isArray(e.errors) ? (e.errors as unknown[]) : [])]) {
    const found = systemCode(inner, depth + 1);
    if (found !== null) return found;
  }
  return null;
}
