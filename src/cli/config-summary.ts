import type { RuleOverride } from '../core/catalog.js';
import type { HindsightConfig } from '../config/config-schema.js';
import { formatDuration } from '../config/duration.js';
import { redactUrl } from '../core/url-redaction.js';

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

function describeOverride(o: RuleOverride): string {
  const parts: string[] = [];
  if (o.enabled !== undefined) parts.push(o.enabled ? 'enabled' : 'disabled');
  if (o.threshold !== undefined) parts.push(`threshold ${o.threshold}`);
  if (o.resolveThreshold !== undefined) parts.push(`resolve ≤ ${o.resolveThreshold}`);
  if (o.windowMs !== undefined) parts.push(`window ${formatDuration(o.windowMs)}`);
  if (o.forMs !== undefined) parts.push(`for ${formatDuration(o.forMs)}`);
  if (o.severity !== undefined) parts.push(o.severity);
  return parts.join(', ');
}

/** What `config check` prints: everything it found, with every secret shown as `***`. */
export function renderConfigSummary(file: string, config: HindsightConfig): string {
  const lines = [
    `${file}: ${plural(config.targets.length, 'target')}, ${plural(config.services.length, 'service')}, ${plural(config.tokens.length, 'token')}`,
  ];
  if (config.targets.length > 0) lines.push('', 'targets:');
  for (const t of config.targets) {
    lines.push(`  ${t.name}  ${redactUrl(t.url)}  service ${t.service}  every ${formatDuration(t.interval)}`);
    lines.push(
      `    log ${t.log === undefined ? '(none: deadlocks from live samples and counters only)' : `${t.log} (${t.logFormat})`}`,
    );
    const th = t.thresholds;
    lines.push(
      `    blocking > ${formatDuration(th.blocking)}, idle in transaction > ${formatDuration(th.idleInTransaction)}, long transaction > ${formatDuration(th.longTransaction)}`,
    );
  }
  if (config.services.length > 0) lines.push('', 'services:');
  for (const s of config.services) {
    const grouping =
      s.grouping.kind === 'off'
        ? 'grouping off'
        : `grouping ${formatDuration(s.grouping.windowMs)}${s.grouping.by.length > 0 ? ` by ${s.grouping.by.join(', ')}` : ''}`;
    const integrations =
      s.integrations.length === 0
        ? 'no integrations'
        : `integrations ${s.integrations.map((i) => `${i.type} (secret ***)`).join(', ')}`;
    lines.push(`  ${s.name}  ${grouping}  ${integrations}`);
  }
  const overrides: string[] = [];
  for (const [rule, o] of Object.entries(config.rules))
    overrides.push(`  ${rule} (all targets): ${describeOverride(o)}`);
  for (const s of config.services)
    for (const [rule, o] of Object.entries(s.rules))
      overrides.push(`  ${rule} (service ${s.name}): ${describeOverride(o)}`);
  for (const t of config.targets)
    for (const [rule, o] of Object.entries(t.rules))
      overrides.push(`  ${rule} (target ${t.name}): ${describeOverride(o)}`);
  lines.push('', overrides.length === 0 ? 'rules: the built-in defaults' : 'rules overridden:', ...overrides);
  if (config.tokens.length > 0) lines.push('', 'tokens:');
  for (const t of config.tokens) lines.push(`  ${t.name}  ${t.role}  secret ***`);
  if (config.notYetApplied.length > 0) {
    lines.push(
      '',
      `note: ${config.notYetApplied.join(', ')} accepted but not applied by this version (paging)`,
    );
  }
  return `${lines.join('\n')}\n`;
}
