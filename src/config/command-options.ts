import { z } from 'zod';
import { issueLines, optionsError } from './option-problems.js';

/**
 * The small commands' flags (`incidents`, `oncall`, `demo`), parsed like every other command's: a zod
 * schema here, every problem reported at once, `<COMMAND>_BAD_OPTIONS`.
 */

const parse = <S extends z.ZodType>(code: string, schema: S, flags: unknown): z.output<S> => {
  const parsed = schema.safeParse(flags);
  if (!parsed.success) throw optionsError(code, issueLines(parsed.error));
  return parsed.data;
};

const wholeNumber = (flag: string, min: number, max: number) =>
  z.string().transform((text, ctx) => {
    const n = Number(text);
    if (!/^\d+$/.test(text.trim()) || n < min || n > max) {
      ctx.addIssue({
        code: 'custom',
        message: `${flag} must be a whole number from ${min} to ${max} (got "${text}")`,
      });
      return z.NEVER;
    }
    return n;
  });

const incidentListSchema = z.object({
  state: z.enum(['open', 'resolved', 'all'], {
    error: (i) => `--state must be open, resolved or all (got "${String(i.input)}")`,
  }),
  limit: wholeNumber('--limit', 1, 1000),
});

/** `hindsight incidents --state --limit`. */
export const parseIncidentListOptions = (flags: { readonly state: string; readonly limit: string }) =>
  parse('INCIDENT_BAD_OPTIONS', incidentListSchema, flags);

/** `--at`: epoch milliseconds or an ISO 8601 time. */
const atSchema = z.string().transform((text, ctx) => {
  const ms = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (Number.isNaN(ms)) {
    ctx.addIssue({
      code: 'custom',
      message: `--at must be a time such as 2026-03-29T09:00:00+02:00 (got "${text}")`,
    });
    return z.NEVER;
  }
  return ms;
});

/** `hindsight oncall --at`. */
export const parseOnCallAt = (text: string): number => parse('ONCALL_BAD_OPTIONS', atSchema, text);

/** `hindsight demo --users`. */
export const parseDemoUsers = (text: string): number =>
  parse('DEMO_BAD_OPTIONS', wholeNumber('--users', 10, 2000), text);
