/**
 * The web bridge behind `quantlab serve`: the same renderer, the same contract, over loopback
 * HTTP (requests) and WebSocket (events). Three locks on the door:
 *  - it binds to a loopback address only;
 *  - every API request and event socket must carry the random per-launch token;
 *  - the Host header must name this server and any Origin header must be this server's own
 *    origin (defeats DNS rebinding and cross-site requests from other pages in the browser).
 * Static files (the built renderer) are public app code and need no token.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Envelope } from '../../shared/api/envelope';
import type { Services } from '../services';
import { UserError } from '../../core/errors';

export interface ServerOptions {
  services: Services;
  /** Folder with the built renderer (index.html + assets). */
  staticDir: string;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Fixed token (tests); a random 256-bit token otherwise. */
  token?: string;
}

export interface RunningServer {
  url: string;
  origin: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 1 << 20;
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

export const WEB_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self' ws://127.0.0.1:* ws://localhost:*",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.woff2': 'font/woff2',
};

function tokensEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  return ab.length === bb.length && crypto.timingSafeEqual(ab, bb);
}

function sendJson(res: http.ServerResponse, status: number, body: Envelope): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
  });
  res.end(text);
}

function refuse(res: http.ServerResponse, status: 401 | 403 | 404 | 405 | 413 | 415 | 400, code: 'unauthorized' | 'forbidden' | 'bad-request', message: string): void {
  sendJson(res, status, { ok: false, error: { code, message } });
}

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1';
  if (!LOOPBACK.has(host)) {
    throw new UserError('bad-usage', `The web bridge only listens on loopback (127.0.0.1, localhost or ::1), not on '${host}'.`);
  }
  const staticDir = path.resolve(options.staticDir);
  if (!fs.existsSync(path.join(staticDir, 'index.html'))) {
    throw new UserError('not-built', `The UI is not built: '${path.join(staticDir, 'index.html')}' is missing. Run \`npm run build\` first.`);
  }
  const token = options.token ?? crypto.randomBytes(32).toString('base64url');
  const { services } = options;
  let port = 0;
  const allowedHosts = () => new Set([`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]);
  const allowedOrigins = () => new Set([`http://127.0.0.1:${port}`, `http://localhost:${port}`, `http://[::1]:${port}`]);

  /** Host and Origin checks shared by HTTP and WebSocket; returns a refusal sentence or null. */
  function checkHostAndOrigin(req: http.IncomingMessage): string | null {
    const hostHeader = req.headers.host ?? '';
    if (!allowedHosts().has(hostHeader)) return `Request refused: Host '${hostHeader.slice(0, 100)}' is not this QuantLab server.`;
    const origin = req.headers.origin;
    if (origin !== undefined && !allowedOrigins().has(origin)) return `Request refused: Origin '${origin.slice(0, 100)}' is not allowed.`;
    return null;
  }

  function bearer(req: http.IncomingMessage): string {
    const h = req.headers.authorization ?? '';
    return h.startsWith('Bearer ') ? h.slice(7) : '';
  }

  async function handleInvoke(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (req.method !== 'POST') return refuse(res, 405, 'bad-request', 'Use POST for /api/invoke.');
    if (!tokensEqual(bearer(req), token)) return refuse(res, 401, 'unauthorized', 'Request refused: missing or wrong token.');
    if (!(req.headers['content-type'] ?? '').startsWith('application/json')) {
      return refuse(res, 415, 'bad-request', 'Request refused: the body must be application/json.');
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > MAX_BODY_BYTES) return refuse(res, 413, 'bad-request', `Request refused: body larger than ${MAX_BODY_BYTES} bytes.`);
      chunks.push(chunk as Buffer);
    }
    let body: unknown;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return refuse(res, 400, 'bad-request', 'Request refused: the body is not valid JSON.');
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      return refuse(res, 400, 'bad-request', 'Request refused: the body must be {"channel": …, "request": …}.');
    }
    const { channel, request } = body as { channel?: unknown; request?: unknown };
    sendJson(res, 200, await services.call(channel, request));
  }

  function serveStatic(req: http.IncomingMessage, res: http.ServerResponse, pathname: string): void {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' }).end();
      return;
    }
    let rel: string;
    try {
      rel = decodeURIComponent(pathname);
    } catch {
      res.writeHead(400).end();
      return;
    }
    if (rel === '/' || rel === '') rel = '/index.html';
    const file = path.resolve(staticDir, '.' + rel);
    if (file !== staticDir && !file.startsWith(staticDir + path.sep)) {
      res.writeHead(404).end();
      return;
    }
    fs.readFile(file, (err, data) => {
      if (err) {
        res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('Not found');
        return;
      }
      res.writeHead(200, {
        'Content-Type': MIME[path.extname(file)] ?? 'application/octet-stream',
        'Content-Length': data.length,
        'Content-Security-Policy': WEB_CSP,
        'X-Content-Type-Options': 'nosniff',
        'Referrer-Policy': 'no-referrer',
        'Cache-Control': rel === '/index.html' ? 'no-store' : 'max-age=3600',
      });
      res.end(req.method === 'HEAD' ? undefined : data);
    });
  }

  const server = http.createServer((req, res) => {
    const refusal = checkHostAndOrigin(req);
    if (refusal) return refuse(res, 403, 'forbidden', refusal);
    const pathname = new URL(req.url ?? '/', 'http://x').pathname;
    if (pathname === '/api/invoke') {
      handleInvoke(req, res).catch((e: unknown) => {
        if (!res.headersSent) sendJson(res, 500, { ok: false, error: { code: 'internal', message: (e as Error).message } });
      });
      return;
    }
    if (pathname.startsWith('/api/')) return refuse(res, 404, 'bad-request', `No API endpoint '${pathname}'.`);
    serveStatic(req, res, pathname);
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  const sockets = new Set<WebSocket>();
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const refusal = checkHostAndOrigin(req);
    const ok = !refusal && url.pathname === '/api/events' && tokensEqual(url.searchParams.get('token') ?? '', token);
    if (!ok) {
      socket.write(`HTTP/1.1 ${refusal ? '403 Forbidden' : '401 Unauthorized'}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws);
      ws.on('close', () => sockets.delete(ws));
      // The event socket is one-way: anything the page sends is ignored.
    });
  });
  const unsubscribe = services.events.subscribe((event, payload) => {
    const text = JSON.stringify({ event, payload });
    for (const ws of sockets) if (ws.readyState === ws.OPEN) ws.send(text);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        e.code === 'EADDRINUSE'
          ? new UserError('port-in-use', `Port ${options.port} on ${host} is already in use: choose another with --port, or 0 for any free port.`)
          : e,
      ),
    );
    server.listen(options.port ?? 0, host, () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  const origin = `http://${host === '::1' ? '[::1]' : host}:${port}`;
  return {
    url: `${origin}/?token=${token}`,
    origin,
    port,
    token,
    close: async () => {
      unsubscribe();
      for (const ws of sockets) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
