/** `pilotctl console`: the fleet console in a browser (web mode), served on 127.0.0.1. */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PilotError } from '../../../shared/errors';
import { launchConsole } from '../../console/launcher';
import { startWebConsole } from '../../console/web-server';
import { createLogger, jsonLineSink } from '../../util/log';
import { installProcessGuard } from '../../util/process-guard';
import type { CommandContext, CommandResult } from '../command';
import { okEnvelope } from '../output';
import { packageRoot } from '../package-root';
import { bool, parsePort, str } from './util';

/** The renderer bundle; built on first use (electron-vite) when missing. */
export function ensureRendererBuilt(log: (s: string) => void): string {
  const root = packageRoot();
  const dir = path.join(root, 'out', 'renderer');
  if (fs.existsSync(path.join(dir, 'index.html'))) return dir;
  log('building the console (first run)...\n');
  const r = spawnSync(process.execPath, [path.join(root, 'node_modules/electron-vite/bin/electron-vite.js'), 'build'], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status !== 0 || !fs.existsSync(path.join(dir, 'index.html'))) {
    throw new PilotError('internal', `building the console failed: ${String(r.stderr).slice(-400)}`, 'run: npx electron-vite build');
  }
  return dir;
}

export async function consoleCommand(ctx: CommandContext): Promise<CommandResult> {
  const portText = str(ctx, 'port');
  const port = portText === undefined ? 7400 : parsePort(portText);
  const staticDir = ensureRendererBuilt(ctx.err);
  const logLines: string[] = [];
  const log = createLogger({ level: 'info', sinks: [jsonLineSink((l) => logLines.push(l))] });
  const registry = str(ctx, 'registry');
  const beacon = str(ctx, 'beacon');
  const launched = await launchConsole({
    env: ctx.env,
    log,
    demo: !bool(ctx, 'no-demo'),
    ...(registry ? { registry } : {}),
    ...(beacon ? { beacon } : {}),
  });
  // Process policy (util/process-guard): to stderr, where a user running the console sees it.
  const guard = installProcessGuard(createLogger({ level: 'info', sinks: [jsonLineSink((l) => process.stderr.write(l))], fields: { component: 'console' } }), {
    onFatal: () => launched.stop(),
  });
  let web;
  try {
    web = await startWebConsole({ service: launched.service, port, staticDir }).catch(async (e: unknown) => {
      if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE' && portText === undefined) return startWebConsole({ service: launched.service, port: 0, staticDir });
      throw e;
    });
  } catch (e) {
    await launched.stop();
    throw e;
  }
  const data = { url: web.url, mode: launched.mode, description: launched.description, demo: launched.demo };
  if (ctx.json) ctx.out(okEnvelope(data) + '\n');
  else {
    ctx.out(`Pilot Fleet console: ${web.url}\n  ${launched.description}\n`);
    if (launched.demo.length) ctx.out(`  demo fleet: ${launched.demo.map((d) => d.hostname).join(', ')}\n`);
    ctx.out('  stop with Ctrl-C\n');
  }
  await ctx.interrupted;
  await web.close();
  await launched.stop();
  guard.dispose();
  return { data: null, printed: true };
}
