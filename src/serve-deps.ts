import { createServer, type Server } from 'node:http';
import { getRequestListener } from '@hono/node-server';
import { randomBytes } from 'node:crypto';
import { signedAcknowledgeLinks } from './api/acknowledge-links.js';
import { createApiApp } from './api/create-api-app.js';
import { storeStatus } from './api/routes/health-routes.js';
import { createServerMetrics } from './api/server-metrics.js';
import { CatalogService } from './app/catalog-service.js';
import { DeployService } from './app/deploy-service.js';
import { FindingIntake } from './app/finding-intake.js';
import { MetricsMaintenance } from './app/metrics-maintenance.js';
import { MetricsQueries } from './app/metrics-queries.js';
import { MetricsRecorder } from './app/metrics-recorder.js';
import { SignalIntake } from './app/signal-intake.js';
import { InboundAlertIntake } from './app/inbound-alert-intake.js';
import { IncidentService } from './app/incident-service.js';
import { EscalationCycle } from './app/escalation-cycle.js';
import { OutboxSender } from './app/outbox-sender.js';
import { PagingQueries } from './app/paging-queries.js';
import { RuleCycle } from './app/rule-cycle.js';
import { RuleQueries } from './app/rule-queries.js';
import { TokenService } from './app/token-service.js';
import type { RunningServer, ServeDeps } from './cli/commands/serve-command.js';
import type { HindsightConfig } from './config/config-schema.js';
import { targetWatchOptions, withLogPosition } from './configured-target.js';
import { databaseAddress, sameDatabase } from './config/postgres-url.js';
import { redactUrl } from './core/url-redaction.js';
import { describeStore, type ServeOptions } from './config/server-options.js';
import { userError } from './core/errors.js';
import type { IncidentStore } from './core/incident-store.js';
import { CycleLoop } from './engine/cycle-loop.js';
import { MetricsLoop } from './engine/metrics-loop.js';
import { DEFAULT_METRICS_TIERS, statementTiers } from './core/metrics-downsampling.js';
import { RuleLoop } from './engine/rule-loop.js';
import { createNotifierRegistry, type NotifierRegistry } from './notify/notifier-registry.js';
import type { PagingDirectory } from './core/paging-records.js';
import { superviseTargets } from './engine/target-supervisor.js';
import { createLogger, type Logger } from './platform/logger.js';
import { randomIds } from './platform/random-ids.js';
import { systemClock } from './platform/system-clock.js';
import { openEmbeddedStore } from './store/postgres/embedded-store.js';
import { PostgresStore } from './store/postgres/postgres-store.js';
import { openTargetWatch } from './watch-deps.js';
import { targetMetricsBoard } from './metrics-deps.js';

/**
 * Part of the composition root (src/main.ts): what `hindsight serve` constructs and wires — the
 * store, the use cases, the HTTP API on node:http, the rule loop and one supervised watch per
 * configured target. Loaded only when `serve` runs.
 */

const DRAIN_MS = 10_000;
/** Messages the sender claims per pass. */
const OUTBOX_BATCH = 100;

export function serveDeps(): ServeDeps {
  return { startServer };
}

async function startServer(options: ServeOptions, config: HindsightConfig): Promise<RunningServer> {
  const logger = createLogger({ level: options.logLevel });
  refuseMonitoredStore(options, config, logger);
  const notifiers = createNotifierRegistry({ clock: systemClock });
  const directory = pagingDirectory(config, notifiers);

  // Bind first: a port in use is a one-line error before the store is started for nothing.
  let handler: ReturnType<typeof getRequestListener> = getRequestListener(() =>
    Response.json(
      { code: 'STARTING', message: 'the server is starting; retry in a moment', details: {} },
      { status: 503 },
    ),
  );
  const http = createServer((req, res) => void handler(req, res));
  const url = await listen(http, options.host, options.port);

  let store: IncidentStore | null = null;
  const controller = new AbortController();
  try {
    store = await openStore(options, logger);
    const clock = systemClock;
    const ids = randomIds;
    const tokens = new TokenService({ store, clock, ids });
    const catalog = new CatalogService({ store });
    // Before the configuration's tokens: "first start" means no token yet, whatever the file declares.
    const adminSecret = await tokens.ensureBootstrapAdmin(options.adminToken);
    await applyConfig(config, { tokens, catalog });
    await store.paging.save(directory, clock.now());

    // The exporter side of /metrics: serve's own watches feed it (agents serve theirs with --metrics-port).
    const board = targetMetricsBoard(config.targets.map(targetWatchOptions), {
      hostMetrics: options.hostMetrics ?? true,
      logger,
      signal: controller.signal,
    });
    const metrics = createServerMetrics({ processMetrics: true, targets: board });
    // Paging: the escalation cycle writes the outbox; the sender delivers it. Both recompute from
    // the store each pass, so any replica may run them.
    const publicUrl = options.publicUrl ?? url;
    const acknowledgeLinks = signedAcknowledgeLinks({
      key: await store.paging.signingKey(randomBytes(32).toString('base64url')),
      baseUrl: publicUrl,
    });
    const escalation = new EscalationCycle({ store, ids, baseUrl: publicUrl, acknowledgeLinks });
    const firstPaged = new Set<string>();
    const sender = new OutboxSender(
      {
        store,
        notifiers,
        ids,
        clock,
        onOutcome: (o) => {
          metrics.countNotification(o.channel, o.outcome);
          if (
            o.outcome !== 'sent' ||
            o.incidentId === null ||
            o.incidentCreatedAt === null ||
            firstPaged.has(o.incidentId)
          )
            return;
          if (firstPaged.size > 10_000) firstPaged.clear();
          firstPaged.add(o.incidentId);
          metrics.observeFirstPage(Math.max(0, o.at - o.incidentCreatedAt) / 1000);
        },
      },
      { batchSize: OUTBOX_BATCH },
    );
    const senderLoop: CycleLoop<void> = new CycleLoop(
      async (now, signal) => {
        const report = await sender.run(now, signal);
        // A full batch: more may be waiting — go again at once rather than after the interval.
        if (report.claimed >= OUTBOX_BATCH) senderLoop.nudge();
      },
      { name: 'outbox', signal: controller.signal, logger, clock, intervalMs: 1000, minGapMs: 50 },
    );
    const escalationLoop = new CycleLoop(
      async (now) => {
        const report = await escalation.run(now);
        if (report.enqueued > 0) senderLoop.nudge();
      },
      // Each pass reads every open incident: nudges (an incident opened) are honoured at most 5 times a second.
      { name: 'escalation', signal: controller.signal, logger, clock, intervalMs: 1000, minGapMs: 200 },
    );
    // The metric rules read the tiers the recorder writes, and name the backends the host reading sees.
    const statementsTier = statementTiers(config.metrics?.tiers ?? DEFAULT_METRICS_TIERS)[0];
    const ruleCycle = new RuleCycle({
      store,
      clock,
      ids,
      overrides: config.rules,
      metricsResolutionMs: config.metrics?.tiers[0]?.resolutionMs ?? 10_000,
      ...(statementsTier === undefined ? {} : { statementsResolutionMs: statementsTier.resolutionMs }),
      hostBackends: (target) => board.host(target)?.backends ?? [],
    });
    const ruleLoop = new RuleLoop(ruleCycle, {
      signal: controller.signal,
      logger,
      clock,
      onCycle: (report, ms) => {
        metrics.observeRuleCycle(ms / 1000);
        if (report.incidentsOpened > 0) escalationLoop.nudge();
      },
    });
    const pagingQueries = new PagingQueries({ store, notifiers, ids });
    const inbound = new InboundAlertIntake({ store, clock, ids });
    const incidentService = new IncidentService({ store, clock, ids });
    const intake = new FindingIntake({
      store,
      nudge: () => {
        ruleLoop.nudge();
      },
    });
    // Database metrics: each watched target's samples kept as 10 s points, downsampled by the job.
    const metricsRecorder = new MetricsRecorder({
      store,
      // The finest configured tier (agents push 10 s points: keep it 10 s where agents report).
      resolutionMs: config.metrics?.tiers[0]?.resolutionMs ?? 10_000,
      // Statements: a minute's top, or the tier configured for them (metrics.retention[].statements).
      ...(statementsTier === undefined
        ? {}
        : {
            statementsResolutionMs: statementsTier.resolutionMs,
            ...(statementsTier.topStatements === undefined
              ? {}
              : { topStatements: statementsTier.topStatements }),
          }),
      onError: (error, intervals) => {
        logger.warn(
          { err: error, intervals },
          `could not save ${intervals} metrics intervals; they are lost`,
        );
      },
    });
    const tiers = config.metrics?.tiers;
    const metricsLoop = new MetricsLoop(
      new MetricsMaintenance({ store, ...(tiers === undefined ? {} : { tiers }) }),
      {
        signal: controller.signal,
        logger,
        clock,
      },
    );
    const signals = new SignalIntake({
      store,
      nudge: () => {
        ruleLoop.nudge();
      },
      count: (outcome, events) => {
        metrics.countAppEvents(outcome, events);
      },
      onPruneError: (error) => {
        logger.warn({ err: error }, 'could not prune old app-event rollups; the next prune retries');
      },
    });
    const app = createApiApp({
      incidents: incidentService,
      alerts: store.alerts,
      rules: new RuleQueries({ store, overrides: config.rules }),
      findings: intake,
      events: signals,
      deploys: new DeployService({ store, clock, ids }),
      history: new MetricsQueries({ store, ...(tiers === undefined ? {} : { tiers }) }),
      series: metricsRecorder,
      inbound: {
        // An inbound alert may open an incident: escalation looks at once rather than within a second.
        receive: async (alerts, actor) => {
          const result = await inbound.receive(alerts, actor);
          escalationLoop.nudge();
          return result;
        },
      },
      tokens,
      catalog,
      status: storeStatus(store),
      paging: {
        onCall: (at) => pagingQueries.onCall(at),
        testChannel: (name, requestedBy, now) => pagingQueries.testChannel(name, requestedBy, now),
        escalateNow: async (id, actor, now) => {
          const result = await escalation.escalateNow(id, actor, now);
          senderLoop.nudge();
          return result;
        },
        checkAcknowledgeLink: (id, link, now) => acknowledgeLinks.check(id, link, now),
        checkViewLink: (id, link, now) => acknowledgeLinks.checkView(id, link, now),
        acknowledgeUrl: (id, now) => acknowledgeLinks.link(id, now).url,
        acknowledgeByLink: async (id) => {
          const incident = await incidentService.acknowledge(id, 'link');
          escalationLoop.nudge();
          return incident;
        },
      },
      metrics,
      logger,
      clock,
    });
    handler = getRequestListener(app.fetch);

    const saved = intake.sink(clock, (error, findings) => {
      logger.error(
        { err: error, findings: findings.length },
        `could not save ${findings.length} findings; they are lost`,
      );
    });
    const sink = board.tee(saved);
    /** Health writes in flight: the store closes only after them. */
    const healthWrites = new Set<Promise<void>>();
    const loops = [
      ruleLoop.run(),
      escalationLoop.run(),
      senderLoop.run(),
      metricsLoop.run(),
      superviseTargets(
        config.targets.map((t) => withLogPosition(targetWatchOptions(t), options.store)),
        {
          openTargetWatch,
          sink,
          onHealth: (health) => {
            const write = catalog
              .reportHealth([health])
              .catch((error: unknown) => {
                logger.warn({ err: error, target: health.target }, 'could not record target health');
              })
              .finally(() => healthWrites.delete(write));
            healthWrites.add(write);
          },
          onSampled: (target, state) => {
            board.sampled(target, state);
            if (state.reachable && state.lastSample !== null)
              metrics.observeSampleLatency(target, state.lastSample.serverMs / 1000);
            if (state.lastSample !== null) metricsRecorder.record(state.lastSample, board.host(target));
            // A target that stopped answering: its last interval is saved once it is over.
            metricsRecorder.closeIdle(clock.now());
          },
          agent: 'serve',
          clock,
          logger,
        },
        controller.signal,
      ),
    ];
    logger.info({ store: describeStore(options.store), targets: config.targets.length }, `serving on ${url}`);

    const running = store;
    let stopping: Promise<void> | null = null;
    return {
      url,
      adminSecret,
      stop: () =>
        (stopping ??= (async () => {
          await close(http);
          controller.abort();
          await Promise.allSettled(loops);
          await saved.flushed();
          metricsRecorder.closeIdle(Number.POSITIVE_INFINITY);
          await metricsRecorder.flushed();
          await signals.idle();
          await Promise.allSettled([...healthWrites]);
          await running.close();
        })()),
    };
  } catch (error) {
    controller.abort();
    await close(http);
    await store?.close().catch(() => undefined);
    throw error;
  }
}

/**
 * The configuration's paging sections as the store keeps them, each channel's settings checked by
 * its notifier's schema (config/ cannot reach notify/): every problem reported at once, with its path.
 */
export function pagingDirectory(config: HindsightConfig, notifiers: NotifierRegistry): PagingDirectory {
  const problems: string[] = [];
  const channels = config.paging.channels.flatMap((channel, index) => {
    const parsed = notifiers.parseChannel({ name: channel.name, type: channel.type, ...channel.settings });
    if (parsed.ok) return [parsed.channel];
    for (const issue of parsed.issues)
      problems.push(`channels[${index}]${issue.path === '' ? '' : `.${issue.path}`}: ${issue.message}`);
    return [];
  });
  if (problems.length > 0) {
    throw userError(
      'CONFIG_INVALID',
      `the configuration has ${problems.length === 1 ? 'a problem' : `${problems.length} problems`} with its channels:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
  }
  return { ...config.paging, channels };
}

/** The store never lives in a database Hindsight monitors: the incident must not take the record down with it. */
function refuseMonitoredStore(options: ServeOptions, config: HindsightConfig, logger: Logger): void {
  if (options.store.kind !== 'postgres') return;
  const storeUrl = options.store.url;
  const store = databaseAddress(storeUrl);
  for (const target of config.targets) {
    if (sameDatabase(target.url, storeUrl)) {
      throw userError(
        'STORE_IS_MONITORED',
        `the store ${redactUrl(storeUrl)} is the database target "${target.name}" monitors; keep Hindsight's record elsewhere (another database or server with --store, or the embedded store: leave --store out)`,
      );
    }
    const t = databaseAddress(target.url);
    if (store !== null && t !== null && t.host === store.host && t.port === store.port) {
      logger.warn(
        { target: target.name },
        `the store is on the same PostgreSQL server as target "${target.name}": an outage of that server takes the record down too`,
      );
    }
  }
}

async function openStore(options: ServeOptions, logger: Logger): Promise<IncidentStore> {
  const onConnectionError = (error: Error): void => {
    logger.warn({ err: error }, 'a store connection failed; the pool replaces it');
  };
  if (options.store.kind === 'embedded')
    return openEmbeddedStore({
      dataDir: options.store.dataDir,
      onConnectionError,
      onServerRestart: (event) => {
        if (event.kind === 'restarted')
          logger.warn(
            { downMs: Math.round(event.downMs) },
            "the embedded store's PostgreSQL had stopped; started it again",
          );
        else
          logger.error(
            { err: event.error },
            "the embedded store's PostgreSQL is down and did not start; retrying",
          );
      },
    });
  return PostgresStore.open({ url: options.store.url, onConnectionError });
}

async function applyConfig(
  config: HindsightConfig,
  deps: { tokens: TokenService; catalog: CatalogService },
): Promise<void> {
  for (const s of config.services) {
    await deps.catalog.saveService({
      name: s.name,
      grouping: s.grouping,
      integrations: s.integrations,
      rules: s.rules,
      ...(s.escalationPolicy === undefined ? {} : { escalationPolicy: s.escalationPolicy }),
    });
  }
  for (const t of config.targets) {
    await deps.catalog.saveTarget({
      name: t.name,
      url: t.url,
      service: t.service,
      log: t.log ?? null,
      rules: t.rules,
    });
  }
  for (const t of config.tokens) await deps.tokens.ensure({ name: t.name, role: t.role, secret: t.secret });
}

function listen(http: Server, host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      if (error.code === 'EADDRINUSE') {
        reject(
          userError(
            'SERVE_PORT_IN_USE',
            `port ${port} on ${host} is already in use (another hindsight serve?); pick another with --port or HINDSIGHT_PORT`,
          ),
        );
      } else if (error.code === 'EADDRNOTAVAIL' || error.code === 'ENOTFOUND') {
        reject(
          userError(
            'SERVE_HOST_UNAVAILABLE',
            `cannot listen on ${host}: no such address on this machine; pass --host 127.0.0.1 or 0.0.0.0`,
          ),
        );
      } else if (error.code === 'EACCES') {
        reject(
          userError(
            'SERVE_PORT_DENIED',
            `not allowed to listen on port ${port}; ports below 1024 need privileges: pick another with --port`,
          ),
        );
      } else {
        reject(error);
      }
    };
    http.once('error', onError);
    http.listen(port, host, () => {
      http.off('error', onError);
      const address = http.address();
      const bound = typeof address === 'object' && address !== null ? address.port : port;
      resolve(`http://${host.includes(':') ? `[${host}]` : host}:${bound}`);
    });
  });
}

/** Stops accepting connections and waits for requests in flight (at most DRAIN_MS, then cuts them). */
async function close(http: Server): Promise<void> {
  if (!http.listening) return;
  const closed = new Promise<void>((resolve) => {
    http.close(() => {
      resolve();
    });
  });
  // Keep-alive connections whose request finishes during the drain become idle: close them then too.
  const idle = setInterval(() => {
    http.closeIdleConnections();
  }, 50);
  http.closeIdleConnections();
  const timer = setTimeout(() => {
    http.closeAllConnections();
  }, DRAIN_MS);
  await closed;
  clearInterval(idle);
  clearTimeout(timer);
}
