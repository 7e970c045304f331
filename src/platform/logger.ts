import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Structured logs for Hindsight's own operation (not findings). They go to stderr so that stdout
 * stays clean for `--json` output and the live view.
 */
export function createLogger(options: { level?: string; name?: string } = {}): Logger {
  return pino(
    { name: options.name ?? 'hindsight', level: options.level ?? 'info' },
    pino.destination({ dest: 2, sync: true }),
  );
}
