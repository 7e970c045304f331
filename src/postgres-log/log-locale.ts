import type { LogEvent } from '../core/log-event.js';
import { isEnglishSeverity } from './line-prefix.js';
import { hasEnglishShape, KNOWN_SQLSTATES } from './log-signal.js';

/**
 * Tells whether the server writes its log in another language (`lc_messages` not C/English), in
 * which case Hindsight cannot read deadlocks, lock waits or timeouts from it. Two clues: a
 * severity that is not an English word (`FEHLER`, `ERREUR`, `ОШИБКА`), and an entry whose
 * SQLSTATE Hindsight knows (csvlog, jsonlog, `%e`) with a message of another shape.
 */
export class LocaleCheck {
  #observed = 0;
  #foreign = 0;
  #example: string | null = null;

  observe(event: LogEvent): void {
    this.#observed++;
    const foreignSeverity = !isEnglishSeverity(event.severity);
    const sqlstate = event.sqlstate;
    const foreignMessage =
      sqlstate !== null && KNOWN_SQLSTATES.has(sqlstate) && !hasEnglishShape(sqlstate, event.message);
    if (foreignSeverity || foreignMessage) {
      this.#foreign++;
      this.#example ??= `${event.severity}:  ${event.message}`.slice(0, 120);
    }
  }

  /** How many of the entries seen look localized. */
  get foreign(): number {
    return this.#foreign;
  }

  /** A message for the user when the log is not in English; null while it looks English. */
  get problem(): string | null {
    const foreign = this.#foreign;
    if (foreign === 0 || (foreign < 3 && foreign * 2 < this.#observed)) return null;
    return (
      `The server log is not in English (${foreign} of ${this.#observed} entries, e.g. "${this.#example ?? ''}"). ` +
      'Hindsight reads only English server messages, so deadlocks, lock waits and timeouts in this log would be missed. ' +
      "Set lc_messages to 'C': ALTER SYSTEM SET lc_messages = 'C'; SELECT pg_reload_conf(); (it changes only the language of the log)."
    );
  }
}
