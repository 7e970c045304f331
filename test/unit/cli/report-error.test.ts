import { CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import { EXIT, reportError } from '../../../src/cli/report-error.js';
import { HindsightError, transientError, userError } from '../../../src/core/errors.js';

describe('exit codes (one contract across the CLI)', () => {
  const codeOf = (error: unknown): { code: number; text: string } => {
    let text = '';
    const code = reportError(error, (l) => (text += l));
    return { code, text };
  };

  it('a bug never exits 1, the code of a finding', () => {
    const crash = codeOf(new TypeError('x is undefined'));
    expect(crash.code).toBe(70);
    expect(crash.code).not.toBe(EXIT.finding);
    expect(crash.text).toContain('this is a bug');
    expect(codeOf(new HindsightError({ code: 'RACE_INTERNAL', kind: 'bug', message: 'oops' })).code).toBe(70);
  });

  it('bad input 2, what we talk to failing 3, commander usage 2, help 0', () => {
    expect(codeOf(userError('WATCH_BAD_OPTIONS', 'bad')).code).toBe(2);
    expect(codeOf(transientError('SERVER_UNREACHABLE', 'down')).code).toBe(3);
    expect(codeOf(new CommanderError(1, 'commander.unknownOption', 'unknown option')).code).toBe(2);
    expect(codeOf(new CommanderError(0, 'commander.helpDisplayed', '')).code).toBe(0);
  });
});
