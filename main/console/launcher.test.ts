import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBackbone, type Backbone } from '../backbone';
import { dispatchRequest } from '../api/dispatch';
import { startDaemon, type RunningDaemon } from '../daemon/daemon';
import { pilotPaths } from '../daemon/paths';
import type { IpcClient } from '../daemon/client';
import { silentLogger } from '../util/log';
import { attachToDaemon } from './launcher';

// An attached console (the web console or Electron over a running daemon): requests cross two
// processes and are validated once, by the daemon's IPC boundary, with the same answers as a local node.
describe('attachToDaemon', () => {
  let dir: string;
  let bb: Backbone;
  let daemon: RunningDaemon;
  let client: IpcClient | undefined;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pilot-attach-'));
    bb = await startBackbone({ registry: '127.0.0.1:0', beacon: '127.0.0.1:0', logger: silentLogger });
    const paths = pilotPaths({ PILOT_HOME: path.join(dir, 'home') });
    daemon = await startDaemon({
      paths,
      socketPath: path.join(dir, 'pilot.sock'),
      registry: `127.0.0.1:${bb.registryAddress.port}`,
      beacon: `127.0.0.1:${bb.beaconAddress.port}`,
      listen: '127.0.0.1:0',
      hostname: 'attached-node',
      identityPath: paths.identity,
      pidFile: false,
      logWrite: () => undefined,
    });
  });

  afterAll(async () => {
    client?.close();
    await daemon?.stop();
    await bb?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('forwards requests to the daemon, which validates them and answers like a local node', async () => {
    const attached = await attachToDaemon(daemon.socketPath);
    client = attached.client;
    const svc = attached.service;
    const local = await dispatchRequest(daemon.service, { id: 1, method: 'peers.ping', params: { target: 'x', count: 0 } });
    const remote = await dispatchRequest(svc, { id: 1, method: 'peers.ping', params: { target: 'x', count: 0 } });
    expect(remote).toMatchObject({ id: 1, ok: false, error: { code: 'invalid_argument' } });
    expect(remote).toEqual(local);
    expect(await dispatchRequest(svc, { id: 2, method: 'node.info', params: {} })).toMatchObject({ id: 2, ok: true, result: { hostname: 'attached-node', nodeId: daemon.node.nodeId } });
    expect(await dispatchRequest(svc, { id: 3, method: 'no.such', params: {} })).toMatchObject({ id: 3, ok: false, error: { code: 'not_found' } });
  });

  it('delivers the daemon’s events to its listeners', async () => {
    const attached = await attachToDaemon(daemon.socketPath);
    try {
      const lines: string[] = [];
      const off = attached.service.on((event, data) => {
        if (event === 'log') lines.push((data as { msg: string }).msg);
      });
      daemon.log.info('hello from the daemon');
      await expect.poll(() => lines).toContain('hello from the daemon');
      off();
    } finally {
      attached.client.close();
    }
  });
});
