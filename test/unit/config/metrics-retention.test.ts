import { describe, expect, it } from 'vitest';
import { describeProblem, parseConfig } from '../../../src/config/config-file.js';

describe('metrics: retention in the configuration file', () => {
  it('reads the downsampling tiers with their units', () => {
    const result = parseConfig(
      'metrics:\n  retention:\n    - { resolution: 10s, keep: 2d }\n    - { resolution: 5m, keep: 90d }\n',
      { env: {} },
    );
    if (!result.ok) throw new Error(result.problems.map(describeProblem).join('\n'));
    expect(result.config.metrics).toEqual({
      tiers: [
        { resolutionMs: 10_000, keepMs: 2 * 86_400_000 },
        { resolutionMs: 300_000, keepMs: 90 * 86_400_000 },
      ],
    });
    const none = parseConfig('targets: []\n', { env: {} });
    expect(none.ok && none.config.metrics).toBeUndefined();
  });

  it('reads how many top statements a tier keeps per interval, and refuses a negative count', () => {
    const result = parseConfig(
      'metrics:\n  retention:\n    - { resolution: 10s, keep: 1d }\n    - { resolution: 1m, keep: 7d, statements: 10 }\n    - { resolution: 1h, keep: 365d, statements: 50 }\n',
      { env: {} },
    );
    if (!result.ok) throw new Error(result.problems.map(describeProblem).join('\n'));
    expect(result.config.metrics?.tiers.map((t) => t.topStatements)).toEqual([undefined, 10, 50]);
    const bad = parseConfig('metrics:\n  retention:\n    - { resolution: 1m, keep: 1d, statements: -1 }\n', {
      env: {},
    });
    expect(bad.ok ? '' : bad.problems.map(describeProblem).join('\n')).toContain('statements');
  });

  it('says what is wrong with tiers that cannot downsample into each other', () => {
    const result = parseConfig(
      'metrics:\n  retention:\n    - { resolution: 10s, keep: 1d }\n    - { resolution: 15s, keep: 12h }\n',
      { env: {} },
    );
    expect(result.ok).toBe(false);
    const text = result.ok ? '' : result.problems.map(describeProblem).join('\n');
    expect(text).toContain('resolution 2 must be a multiple of resolution 1, and coarser');
    expect(text).toContain('resolution 2 must be kept at least as long as resolution 1');
  });
});
