import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createServerMetrics } from '../../../src/api/server-metrics.js';
import { createApiHarness } from '../../support/api-harness.js';

const PROMTOOL = ['/usr/bin/promtool', '/usr/local/bin/promtool'].find((p) => existsSync(p)) ?? null;

/** Prometheus's own checker (Debian's `prometheus` package, installed by .ci/run) on what /metrics serves. */
describe.skipIf(PROMTOOL === null)('GET /metrics under promtool check metrics', () => {
  it('passes, with process metrics on and every hindsight_ series present', async () => {
    const h = await createApiHarness({ api: { metricsPublic: true } });
    // The harness's metrics leave process metrics out; serve turns them on, so check that registry too.
    const metrics = createServerMetrics({ processMetrics: true });
    metrics.observeRuleCycle(0.012);
    metrics.observeSampleLatency('shop-db', 0.004);
    metrics.countInbound('alertmanager', 2);
    const counts = {
      alerts: { firing: 1, resolved: 0 },
      incidents: { triggered: 1, acknowledged: 0, mitigated: 0, resolved: 0, closed: 0, cancelled: 0 },
    };
    const outputs = [await metrics.render(counts)];
    await h.call('GET', '/api/v1/incidents', { token: h.secrets.viewer });
    outputs.push((await h.call('GET', '/metrics')).text);
    for (const text of outputs) {
      const result = spawnSync(PROMTOOL!, ['check', 'metrics'], { input: text, encoding: 'utf8' });
      expect(result.status, `${result.stdout}${result.stderr}`).toBe(0);
    }
    for (const name of [
      'hindsight_alerts_firing',
      'hindsight_incidents_open',
      'hindsight_rule_cycle_duration_seconds_bucket',
      'hindsight_agent_sample_latency_seconds_bucket',
      'hindsight_inbound_alerts_total',
      'hindsight_http_requests_total',
      'process_cpu_seconds_total',
    ]) {
      expect(outputs[0]).toContain(name);
    }
  });
});
