import { describe, expect, it } from 'vitest';
import { describeProblem, parseConfig } from '../../../src/config/config-file.js';
import { parseWatchOptions } from '../../../src/config/watch-options.js';
import { LOG_FORMATS } from '../../../src/core/log-event.js';

/** `watch --log-format` and a configured target's `logFormat` take every format the readers read. */
describe('the log options of watch and of a configured target', () => {
  const target = (fields: string) =>
    parseConfig(`targets:\n  - name: shop-db\n    url: postgres://monitor@db/shop\n${fields}`, { env: {} });

  it.each(LOG_FORMATS)('take %s', (format) => {
    expect(
      parseWatchOptions({ url: 'postgres://db/shop', log: '/var/log/x', logFormat: format }, {}).logFormat,
    ).toBe(format);
    const parsed = target(`    log: /var/log/x\n    logFormat: ${format}\n`);
    expect(parsed.ok && parsed.config.targets[0]?.logFormat).toBe(format);
  });

  it('name every valid value when given another', () => {
    expect(() => parseWatchOptions({ url: 'postgres://db/shop', logFormat: 'xml' as 'auto' }, {})).toThrow(
      `--log-format must be one of auto, ${LOG_FORMATS.join(', ')}`,
    );
    const parsed = target('    logFormat: xml\n');
    expect(parsed.ok ? [] : parsed.problems.map(describeProblem).join('\n')).toContain(
      `logFormat must be one of auto, ${LOG_FORMATS.join(', ')}`,
    );
  });

  it("take the server's log_timezone as an IANA zone or an offset, refusing an ambiguous abbreviation", () => {
    expect(
      parseWatchOptions({ url: 'postgres://db/shop', logTimezone: 'Asia/Kolkata' }, {}).logTimezone,
    ).toEqual({ kind: 'zone', name: 'Asia/Kolkata' });
    expect(parseWatchOptions({ url: 'postgres://db/shop' }, {}).logTimezone).toBeNull();
    expect(() => parseWatchOptions({ url: 'postgres://db/shop', logTimezone: 'IST' }, {})).toThrow(
      /--log-timezone "IST" is an abbreviation/,
    );
    const ok = target('    logTimezone: "+05:30"\n');
    expect(ok.ok && ok.config.targets[0]?.logTimezone).toEqual({ kind: 'offset', minutes: 330 });
    const bad = target('    logTimezone: CST\n');
    expect(bad.ok ? '' : bad.problems.map(describeProblem).join('\n')).toMatch(
      /logTimezone "CST" is an abbreviation/,
    );
  });

  it('take - (standard input) for watch, not in the configuration of serve and agent', () => {
    expect(parseWatchOptions({ url: 'postgres://db/shop', log: '-' }, {}).logPath).toBe('-');
    const parsed = target("    log: '-'\n");
    expect(parsed.ok ? [] : parsed.problems.map(describeProblem).join('\n')).toContain(
      "log: '-' (standard input) is for `hindsight watch --log -`",
    );
  });
});
