/**
 * The daemon process: identity (loaded or created), PilotNode, built-in services, the console
 * contract's node service, the webhook poster (node and service events: webhook-events.ts), and the
 * IPC server on the Unix socket. Logs structured JSON lines (to stderr, which a CLI-started daemon
 * sends to pilot.log). SIGTERM/SIGINT stop it gracefully: FIN to every stream, services and node
 * stopped, queued webhook events given a moment, socket and pid file removed.
 */
import { formatAddress } from '../../shared/address';
import { loadOrCreateIdentity } from '../crypto';
import { createLogger, jsonLineSink, type Logger, type LogLevel } from '../util/log';
import { PilotNode } from '../node/node';
import { LogRing } from '../observe/logs';
import { createNodeService, type NodeService } from '../api/node-service';
import { IpcServer } from './ipc-server';
import { ensureHome, removePid, writePid, type PilotPaths } from './paths';
import { startBuiltinServices, type BuiltinServices } from './services';
import { WebhookPoster } from './webhook';
import { forwardNodeEvents, forwardServiceEvents } from './webhook-events';
import { installProcessGuard } from '../util/process-guard';
import { TraceQueryService } from '../node/services/trace-query';
import { FleetQueryService } from '../node/services/fleet-query';
import { spansOfTrace } from '../api/observe';
import { OtlpPusher } from '../observe/otlp-push';
import { NodeMetrics } from '../observe/metrics';
import { startMetricsHttp, type MetricsHttpServer } from '../observe/metrics-http';
import { answerMetrics } from '../observe/metrics-ipc';

export interface DaemonOptions {
  paths: PilotPaths;
  socketPath: string;
  registry: string;
  beacon: string;
  /** Netcheck reflector host:port (default: beacon port + 1). */
  netcheck?: string;
  /** UDP tunnel listen address (default 0.0.0.0:0). */
  listen?: string;
  hostname?: string;
  tags?: string[];
  public?: boolean;
  encrypt?: boolean;
  /** Identity file; created when absent. */
  identityPath: string;
  owner?: string;
  /** Webhook URL for node events ("" or absent: none until `pilotctl set-webhook`). */
  webhook?: string;
  logLevel?: LogLevel;
  /** Where JSON log lines go (default stderr). */
  logWrite?: (line: string) => void;
  /** Background control pings of known peers for a console (see NodeServiceOptions). */
  probePeersMs?: number;
  /** Write/remove the pid file (default true). */
  pidFile?: boolean;
  /** OTLP/HTTP collector (e.g. Jaeger's http://host:4318): finished spans are pushed there. */
  otlpEndpoint?: string;
  /** Serve the node's metrics at http://<this>/metrics (`host:port`; loopback unless metricsPublic). */
  metrics?: string;
  /** Allow `metrics` on a non-loopback address. */
  metricsPublic?: boolean;
  /**
   * Answer our IPC extension (default true). false: the IPC answers only the reference's commands,
   * as a reference daemon does (env PILOT_IPC_EXTENSIONS=off; for trying tools against one).
   */
  ipcExtensions?: boolean;
}

export interface RunningDaemon {
  node: PilotNode;
  server: IpcServer;
  service: NodeService;
  webhook: WebhookPoster;
  log: Logger;
  socketPath: string;
  stop(): Promise<void>;
}

export async function startDaemon(o: DaemonOptions): Promise<RunningDaemon> {
  ensureHome(o.paths);
  const ring = new LogRing(5000);
  const log = createLogger({
    level: o.logLevel ?? 'info',
    sinks: [jsonLineSink(o.logWrite ?? ((l) => process.stderr.write(l))), ring.sink],
    fields: { pid: process.pid },
  });
  const { identity, created } = await loadOrCreateIdentity(o.identityPath);
  if (created) log.info('identity created', { path: o.identityPath });
  const node = new PilotNode({
    identity,
    registry: o.registry,
    beacon: o.beacon,
    ...(o.netcheck ? { netcheck: o.netcheck } : {}),
    listen: o.listen ?? '0.0.0.0:0',
    ...(o.hostname ? { hostname: o.hostname } : {}),
    ...(o.tags?.length ? { tags: o.tags } : {}),
    public: o.public ?? false,
    encrypt: o.encrypt ?? true,
    ...(o.owner ? { owner: o.owner } : {}),
    log,
  });
  // Before node.start(), so that the first registration is reported.
  const webhook = new WebhookPoster({ url: o.webhook ?? '', nodeId: () => node.nodeId, log });
  const unhook = [forwardNodeEvents(webhook, node)];
  const stopWebhook = async (drainMs: number): Promise<void> => {
    for (const off of unhook.splice(0)) off();
    await webhook.close(drainMs);
  };
  try {
    await node.start();
  } catch (e) {
    await stopWebhook(0);
    throw e;
  }
  let services: BuiltinServices | undefined;
  let service: NodeService | undefined;
  let server: IpcServer | undefined;
  let traceQuery: TraceQueryService | undefined;
  let fleetQuery: FleetQueryService | undefined;
  let otlp: OtlpPusher | undefined;
  let metrics: NodeMetrics | undefined;
  let metricsHttp: MetricsHttpServer | undefined;
  try {
    services = await startBuiltinServices(node, { dataDir: o.paths.dataDir, log });
    unhook.push(forwardServiceEvents(webhook, services.services));
    // The node's own tracer: its dial, stream, registry and service spans and the API's share one ring.
    const tracer = node.tracer;
    const trust = services.services.trust;
    traceQuery = new TraceQueryService(node, (id) => spansOfTrace(tracer, id), { mayQuery: (p) => trust.isTrusted(p) || trust.sharesGroup(p) }, log.child({ component: 'tracequery' }));
    traceQuery.start();
    fleetQuery = new FleetQueryService(node, { mayQuery: (p) => trust.isTrusted(p) || trust.sharesGroup(p), mayProbe: (p) => trust.isTrusted(p) }, log.child({ component: 'fleetquery' }));
    fleetQuery.start();
    if (o.otlpEndpoint) {
      const pusher = new OtlpPusher({ endpoint: o.otlpEndpoint, serviceName: () => node.hostname || formatAddress(node.address), address: () => formatAddress(node.address), log: log.child({ component: 'otlp' }) });
      otlp = pusher;
      unhook.push(tracer.onSpan((s) => pusher.push(s)));
      log.info('pushing spans over OTLP/HTTP', { url: pusher.url });
    }
    const m = new NodeMetrics({ node, services: services.services });
    metrics = m;
    if (o.metrics) {
      metricsHttp = await startMetricsHttp({ listen: o.metrics, allowNonLoopback: o.metricsPublic ?? false, text: () => m.text(), log: log.child({ component: 'metrics' }) });
    }
    const metricsUrl = metricsHttp ? `http://${metricsHttp.address}/metrics` : undefined;
    service = createNodeService({
      node,
      tracer,
      logs: ring,
      ...(services.adapter ? { services: services.adapter } : {}),
      ...(o.probePeersMs ? { probeIntervalMs: o.probePeersMs } : {}),
    });
    server = new IpcServer({ socketPath: o.socketPath, node, service, log, identityConfigured: true, owner: o.owner ?? '', webhook, metrics: (params) => answerMetrics(m, params, metricsUrl), extensions: o.ipcExtensions ?? process.env['PILOT_IPC_EXTENSIONS'] !== 'off' });
    await server.start();
  } catch (e) {
    service?.close();
    traceQuery?.stop();
    fleetQuery?.stop();
    await otlp?.close();
    await metricsHttp?.close();
    metrics?.close();
    await services?.stop();
    await node.stop();
    await stopWebhook(0);
    throw e;
  }
  if (o.pidFile !== false) writePid(o.paths, process.pid);
  log.info('daemon ready', { address: formatAddress(node.address), node_id: node.nodeId, socket: o.socketPath });

  let stopping: Promise<void> | undefined;
  const srv = server;
  const svc = service;
  const bs = services;
  const tq = traceQuery;
  const fq = fleetQuery;
  const pusher = otlp;
  const mh = metricsHttp;
  const mx = metrics;
  return {
    node,
    server: srv,
    service: svc,
    webhook,
    log,
    socketPath: o.socketPath,
    stop() {
      stopping ??= (async () => {
        log.info('daemon stopping');
        await srv.close();
        await mh?.close();
        mx.close();
        svc.close();
        tq.stop();
        fq.stop();
        await pusher?.close();
        if (pusher) log.info('OTLP push stopped', { url: pusher.url, ...pusher.counters });
        log.info('trace query stopped', tq.counters);
        log.info('fleet query stopped', fq.counters);
        await bs.stop();
        await node.stop();
        // Events of the shutdown itself (FINs, unsubscribes) get a moment to go out.
        await stopWebhook(WEBHOOK_DRAIN_MS);
        if (o.pidFile !== false) removePid(o.paths, process.pid);
        log.info('daemon stopped');
      })();
      return stopping;
    },
  };
}

/** How long a stopping daemon waits for queued webhook events (its hard stop is at 8 s). */
const WEBHOOK_DRAIN_MS = 2000;

/**
 * Runs a daemon until SIGTERM/SIGINT; `onReady` is called once it serves the socket. Resolves with
 * the process exit status.
 */
export async function runDaemon(o: DaemonOptions & { onReady?: (d: RunningDaemon) => void }): Promise<number> {
  const d = await startDaemon(o);
  const guard = installProcessGuard(d.log, { onFatal: () => d.stop() });
  o.onReady?.(d);
  await new Promise<void>((resolve) => {
    const onSignal = (sig: NodeJS.Signals): void => {
      d.log.info('signal received', { signal: sig });
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      resolve();
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
  const hard = setTimeout(() => {
    d.log.error('graceful stop took too long; exiting');
    process.exit(1);
  }, 8000);
  hard.unref();
  await d.stop();
  clearTimeout(hard);
  guard.dispose();
  return 0;
}
