import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ConsoleService } from '../../main/api/service';
import { startWebConsole, type WebConsole } from '../../main/console/web-server';

// Issue 10: the web console without its token, with a wrong Origin or a wrong Host (DNS rebinding),
// over real HTTP upgrade requests with hand-set headers. (main/console/web-server.test.ts covers the
// basic cases with the ws client; this table goes through the variants.)
let c: WebConsole;
let calls = 0;
const service: ConsoleService = {
  call: () => {
    calls++;
    return Promise.resolve([] as never);
  },
  on: () => () => undefined,
};

beforeAll(async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'pilot-access-'));
  writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>t</title>');
  c = await startWebConsole({ service, staticDir: dir, port: 0 });
});
afterAll(async () => {
  await c?.close();
});

/** A WebSocket upgrade with exactly these headers; resolves to the HTTP status (101 = accepted). */
function upgrade(pathAndQuery: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1',
      port: c.port,
      path: pathAndQuery,
      headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version': '13', ...headers },
    });
    req.on('upgrade', (_res, socket) => {
      socket.destroy();
      resolve(101);
    });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('web console access', () => {
  const host = (): string => `127.0.0.1:${c.port}`;
  const api = (token: string): string => `/api?token=${encodeURIComponent(token)}`;

  it('accepts the token from the page itself (the control)', async () => {
    expect(await upgrade(api(c.token), { Host: host(), Origin: `http://${host()}` })).toBe(101);
    expect(await upgrade(api(c.token), { Host: `localhost:${c.port}`, Origin: `http://localhost:${c.port}` })).toBe(101);
    expect(await upgrade(api(c.token), { Host: host() })).toBe(101); // no Origin: a local tool, not a browser page
  });

  it('refuses a missing, empty, wrong, truncated, extended or case-changed token (401)', async () => {
    const t = c.token;
    const flip = t.replace(/[a-z]/, (ch) => ch.toUpperCase());
    for (const p of ['/api', api(''), api('x'.repeat(t.length)), api(t.slice(0, -1)), api(`${t}x`), api(flip), `/api?token=x&token=${encodeURIComponent(t)}`]) {
      expect(await upgrade(p, { Host: host(), Origin: `http://${host()}` }), p).toBe(401);
    }
    expect(calls).toBe(0);
  });

  it('refuses pages of other origins, even with the token (403)', async () => {
    const origins = [
      'http://evil.example',
      `http://evil.example:${c.port}`,
      'null',
      `https://${host()}`,
      `http://127.0.0.1:${c.port + 1}`,
      `http://${host()}.evil.example`,
      `http://127.0.0.1.evil.example:${c.port}`,
      `ws://${host()}`,
    ];
    for (const origin of origins) expect(await upgrade(api(c.token), { Host: host(), Origin: origin }), origin).toBe(403);
  });

  it('refuses other Host names (DNS rebinding), even with the token (421), on the API and the page', async () => {
    for (const h of [`evil.example:${c.port}`, 'evil.example', `127.0.0.1`, `127.0.0.1:${c.port + 1}`, `${host()}.evil.example`, `0.0.0.0:${c.port}`]) {
      expect(await upgrade(api(c.token), { Host: h, Origin: `http://${h}` }), h).toBe(421);
      const page = await new Promise<number>((resolve, reject) => {
        request({ host: '127.0.0.1', port: c.port, path: '/', headers: { Host: h } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        })
          .on('error', reject)
          .end();
      });
      expect(page, h).toBe(421);
    }
  });

  it('serves the API only at /api', async () => {
    for (const p of [`/?token=${c.token}`, `/api/?token=${c.token}`, `/apix?token=${c.token}`]) {
      expect(await upgrade(p, { Host: host(), Origin: `http://${host()}` }), p).toBe(404);
    }
  });
});
