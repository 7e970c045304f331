import { describe, expect, it } from 'vitest';
import { CatalogService } from '../../../src/app/catalog-service.js';
import { hashSecret } from '../../../src/app/token-service.js';
import { DEFAULT_GROUPING } from '../../../src/core/catalog.js';
import { isHindsightError } from '../../../src/core/errors.js';
import { MemoryStore } from '../../../src/store/memory/memory-store.js';

const setup = () => {
  const store = new MemoryStore();
  return { store, catalog: new CatalogService({ store }) };
};

const codeOf = (code: string) => (e: unknown) => isHindsightError(e) && e.code === code;

describe('CatalogService', () => {
  it('saves services with integration secrets hashed and shows them by type only', async () => {
    const { store, catalog } = setup();
    const view = await catalog.saveService({
      name: 'shop',
      integrations: [{ type: 'pagerduty', secret: 'routing-key-1' }],
    });
    expect(view).toEqual({
      name: 'shop',
      grouping: DEFAULT_GROUPING,
      integrations: [{ type: 'pagerduty' }],
      rules: {},
      escalationPolicy: null,
    });
    expect((await store.services.get('shop'))!.integrations).toEqual([
      { type: 'pagerduty', secretHash: hashSecret('routing-key-1') },
    ]);
    expect(await catalog.findIntegration('pagerduty', 'routing-key-1')).toEqual(view);
    expect(await catalog.findIntegration('alertmanager', 'routing-key-1')).toBeNull();
    expect(await catalog.findIntegration('pagerduty', 'wrong')).toBeNull();
    expect(await catalog.findIntegration('pagerduty', '')).toBeNull();
  });

  it('keeps what an update leaves out, replaces what it sends', async () => {
    const { catalog } = setup();
    await catalog.saveService({
      name: 'shop',
      integrations: [{ type: 'alertmanager', secret: 'am' }],
      rules: { deadlocks: { threshold: 2 } },
      escalationPolicy: 'db-team',
    });
    const updated = await catalog.saveService({ name: 'shop', grouping: { kind: 'off' } });
    expect(updated).toEqual({
      name: 'shop',
      grouping: { kind: 'off' },
      integrations: [{ type: 'alertmanager' }],
      rules: { deadlocks: { threshold: 2 } },
      escalationPolicy: 'db-team',
    });
    expect(
      (await catalog.saveService({ name: 'shop', integrations: [], escalationPolicy: null })).integrations,
    ).toEqual([]);
    expect(await catalog.findIntegration('alertmanager', 'am')).toBeNull();
  });

  it('refuses an empty secret and a secret another service uses, saving nothing', async () => {
    const { store, catalog } = setup();
    await catalog.saveService({ name: 'shop', integrations: [{ type: 'alertmanager', secret: 'shared' }] });
    await expect(
      catalog.saveService({ name: 'billing', integrations: [{ type: 'pagerduty', secret: 'shared' }] }),
    ).rejects.toSatisfy(codeOf('INTEGRATION_SECRET_IN_USE'));
    await expect(
      catalog.saveService({ name: 'billing', integrations: [{ type: 'pagerduty', secret: '' }] }),
    ).rejects.toSatisfy(codeOf('SECRET_EMPTY'));
    await expect(
      catalog.saveService({
        name: 'billing',
        integrations: [
          { type: 'pagerduty', secret: 'twice' },
          { type: 'alertmanager', secret: 'twice' },
        ],
      }),
    ).rejects.toSatisfy(codeOf('INTEGRATION_SECRET_IN_USE'));
    expect((await store.services.list()).map((s) => s.name)).toEqual(['shop']);
  });

  it('saves targets with the password redacted, joins health, and guards service deletion', async () => {
    const { catalog } = setup();
    await catalog.saveService({ name: 'shop' });
    await expect(
      catalog.saveTarget({ name: 'db', url: 'postgres://u:p@h/d', service: 'nope' }),
    ).rejects.toSatisfy(codeOf('TARGET_SERVICE_UNKNOWN'));
    const target = await catalog.saveTarget({
      name: 'db',
      url: 'postgres://monitor:s3cr%40t@db.internal:5432/shop',
      service: 'shop',
    });
    expect(target).toEqual({
      name: 'db',
      redactedUrl: 'postgres://monitor:***@db.internal:5432/shop',
      service: 'shop',
      log: null,
      rules: {},
    });
    expect(await catalog.listTargets()).toEqual([{ target, health: null }]);
    const health = {
      target: 'db',
      reachable: true,
      problem: null,
      lastSampleAt: 5,
      agent: 'serve',
      reportedAt: 6,
    };
    await catalog.reportHealth([health]);
    expect(await catalog.getTarget('db')).toEqual({ target, health });

    await expect(catalog.deleteService('shop')).rejects.toSatisfy(codeOf('SERVICE_CONFLICT'));
    await catalog.deleteTarget('db');
    await expect(catalog.deleteTarget('db')).rejects.toSatisfy(codeOf('TARGET_NOT_FOUND'));
    await catalog.deleteService('shop');
    await expect(catalog.getService('shop')).rejects.toSatisfy(codeOf('SERVICE_NOT_FOUND'));
  });
});
