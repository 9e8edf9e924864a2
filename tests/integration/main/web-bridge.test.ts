/**
 * The web bridge against a real HTTP client and a real WebSocket client: the token, Host and
 * Origin checks, the envelopes, static files, and events.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createServices, type Services } from '../../../src/main/services';
import { startServer, type RunningServer } from '../../../src/main/server';

let server: RunningServer;
let services: Services;
const staticDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-static-'));
fs.writeFileSync(path.join(staticDir, 'index.html'), '<!doctype html><title>QuantLab</title>');
fs.mkdirSync(path.join(staticDir, 'assets'));
fs.writeFileSync(path.join(staticDir, 'assets', 'app.js'), 'console.log(1)');
fs.writeFileSync(path.join(os.tmpdir(), 'ql-secret.txt'), 'secret');

beforeAll(async () => {
  services = createServices({ workspaceDir: '/tmp/ql-web-bridge', transport: 'web', log: () => {} });
  server = await startServer({ services, staticDir, port: 0 });
});
afterAll(async () => {
  await server.close();
});

function invoke(body: unknown, headers: Record<string, string> = {}) {
  return fetch(`${server.origin}/api/invoke`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${server.token}`, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

describe('web bridge', () => {
  it('listens on loopback with a fresh 256-bit token in the URL', () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{43}$/);
  });

  it('answers a request with the token', async () => {
    const res = await invoke({ channel: 'app.info', request: {} });
    expect(res.status).toBe(200);
    const env = (await res.json()) as any;
    expect(env.ok).toBe(true);
    expect(env.result.transport).toBe('web');
    expect(env.result.workspaceDir).toBe('/tmp/ql-web-bridge');
  });

  it('refuses a request without the token, or with a wrong one', async () => {
    const res = await fetch(`${server.origin}/api/invoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ channel: 'app.info', request: {} }),
    });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ ok: false, error: { code: 'unauthorized', message: 'Request refused: missing or wrong token.' } });
    const wrong = await invoke({ channel: 'app.info', request: {} }, { authorization: `Bearer ${'x'.repeat(43)}` });
    expect(wrong.status).toBe(401);
  });

  it('refuses another Origin and a foreign Host (DNS rebinding) even with the token', async () => {
    const res = await invoke({ channel: 'app.info', request: {} }, { origin: 'http://evil.example' });
    expect(res.status).toBe(403);
    expect(((await res.json()) as any).error.message).toContain("Origin 'http://evil.example'");
    const own = await invoke({ channel: 'app.info', request: {} }, { origin: server.origin });
    expect(own.status).toBe(200);
    // fetch() may not set Host, so this one goes through node:http.
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port: server.port, path: '/api/invoke', method: 'POST', headers: { host: `evil.example:${server.port}`, 'content-type': 'application/json', authorization: `Bearer ${server.token}` } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end(JSON.stringify({ channel: 'app.info', request: {} }));
    });
    expect(status).toBe(403);
  });

  it('validates payloads exactly like IPC does (same dispatch)', async () => {
    const bad = (await (await invoke({ channel: 'app.info', request: { x: 1 } })).json()) as any;
    expect(bad.error.code).toBe('bad-request');
    expect(bad).toEqual(await services.call('app.info', { x: 1 }));
    const unknown = (await (await invoke({ channel: 'nope', request: {} })).json()) as any;
    expect(unknown.error.code).toBe('unknown-channel');
    const notJson = await invoke('{not json');
    expect(notJson.status).toBe(400);
    const form = await invoke({ channel: 'app.info' }, { 'content-type': 'text/plain' });
    expect(form.status).toBe(415);
  });

  it('serves the built renderer with a CSP, and nothing outside it', async () => {
    const index = await fetch(`${server.origin}/?token=abc`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await index.text()).toContain('<title>QuantLab</title>');
    const js = await fetch(`${server.origin}/assets/app.js`);
    expect(js.headers.get('content-type')).toContain('text/javascript');
    const traversal = await fetch(`${server.origin}/..%2f..%2f${path.basename(os.tmpdir())}%2fql-secret.txt`);
    expect(traversal.status).toBe(404);
  });

  it('delivers events over the WebSocket only with the token and our Origin', async () => {
    const wsUrl = `ws://127.0.0.1:${server.port}/api/events`;
    const refused = await new Promise<number>((resolve) => {
      const ws = new WebSocket(wsUrl);
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => resolve(101));
    });
    expect(refused).toBe(401);
    const foreign = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`${wsUrl}?token=${server.token}`, { origin: 'http://evil.example' });
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => resolve(101));
    });
    expect(foreign).toBe(403);

    const ws = new WebSocket(`${wsUrl}?token=${server.token}`, { origin: server.origin });
    await new Promise((resolve, reject) => {
      ws.on('open', resolve);
      ws.on('error', reject);
    });
    const message = new Promise<unknown>((resolve) => ws.once('message', (data) => resolve(JSON.parse(String(data)))));
    services.events.emit('device.changed', { server: '127.0.0.1:5037', serial: 'sim-1', change: 'added', state: 'device' });
    expect(await message).toEqual({
      event: 'device.changed',
      payload: { server: '127.0.0.1:5037', serial: 'sim-1', change: 'added', state: 'device' },
    });
    ws.close();
  });

  it('will not bind to a non-loopback address', async () => {
    await expect(startServer({ services, staticDir, host: '0.0.0.0' })).rejects.toThrow(/only listens on loopback/);
  });
});
