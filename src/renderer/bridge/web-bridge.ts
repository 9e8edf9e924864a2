/**
 * The browser side of the web bridge (`quantlab serve`): the same `QuantLabBridge` the Electron
 * preload installs, carried over loopback HTTP (requests) and a WebSocket (events).
 *
 *   POST /api/invoke  Authorization: Bearer TOKEN  {"channel": …, "request": …}  → Envelope
 *   WS   /api/events?token=TOKEN                   ← {"event": …, "payload": …}
 *
 * It never throws to its caller: a network failure, a timeout or an answer that is not an
 * envelope comes back as `{ ok: false, error: { code: 'transport', … } }`.
 */
import type { Envelope, QuantLabBridge } from '../../shared/api/envelope';

/** The event socket's state, for the header's connection indicator. */
export type ConnectionState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface WebBridge extends QuantLabBridge {
  readonly transport: 'web';
  readonly connection: ConnectionState;
  /** Called on every state change of the event socket; returns an unsubscribe function. */
  onConnectionChange(listener: (state: ConnectionState) => void): () => void;
  /** Stops the event socket and any pending reconnect (used by tests and on page unload). */
  close(): void;
}

export interface WebBridgeOptions {
  /** The server's origin, e.g. `http://127.0.0.1:5710`; the page's own origin by default. */
  origin: string;
  /** The per-launch token printed by `quantlab serve`; null when the page was opened without it. */
  token: string | null;
  /** Abort a request that got no answer in this time (0: wait forever). */
  requestTimeoutMs?: number;
  /** Reconnect back-off: first delay, doubled on each failed attempt up to the maximum. */
  reconnectInitialMs?: number;
  reconnectMaxMs?: number;
  fetch?: typeof fetch;
  WebSocket?: typeof WebSocket;
}

const DEFAULT_TIMEOUT_MS = 120_000;
const DEFAULT_RECONNECT_INITIAL_MS = 500;
const DEFAULT_RECONNECT_MAX_MS = 15_000;

function transportError(message: string): Envelope {
  return { ok: false, error: { code: 'transport', message } };
}

function isEnvelope(value: unknown): value is Envelope {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as { ok?: unknown; result?: unknown; error?: unknown };
  if (v.ok === true) return 'result' in v;
  if (v.ok !== false || typeof v.error !== 'object' || v.error === null) return false;
  const error = v.error as { code?: unknown; message?: unknown };
  return typeof error.code === 'string' && typeof error.message === 'string';
}

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export function createWebBridge(options: WebBridgeOptions): WebBridge {
  const origin = options.origin.replace(/\/+$/, '');
  const { token } = options;
  /** False when the page came from file:// (no server behind it). */
  const served = /^https?:\/\//.test(origin);
  const timeoutMs = options.requestTimeoutMs ?? DEFAULT_TIMEOUT_MS;
  const initialDelayMs = options.reconnectInitialMs ?? DEFAULT_RECONNECT_INITIAL_MS;
  const maxDelayMs = options.reconnectMaxMs ?? DEFAULT_RECONNECT_MAX_MS;
  const fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
  const SocketImpl = options.WebSocket ?? globalThis.WebSocket;

  const listeners = new Map<string, Set<(payload: unknown) => void>>();
  const connectionListeners = new Set<(state: ConnectionState) => void>();
  let connection: ConnectionState = 'idle';
  let socket: WebSocket | null = null;
  let reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  let failedAttempts = 0;
  let closed = false;

  function setConnection(state: ConnectionState): void {
    if (state === connection) return;
    connection = state;
    for (const listener of [...connectionListeners]) listener(state);
  }

  async function invoke(channel: string, request: unknown): Promise<Envelope> {
    if (!served) {
      return transportError(
        'This page was opened without a QuantLab server behind it: start the desktop app with `npm start`, or run `quantlab serve` and open the link it prints.',
      );
    }
    let body: string;
    try {
      body = JSON.stringify({ channel, request: request ?? {} });
    } catch (e) {
      return { ok: false, error: { code: 'bad-request', message: `The request to '${channel}' cannot be sent as JSON: ${describe(e)}.` } };
    }
    const headers: Record<string, string> = { 'Content-Type': 'application/json' };
    if (token) headers.Authorization = `Bearer ${token}`;
    const controller = new AbortController();
    const timer = timeoutMs > 0 ? setTimeout(() => controller.abort(), timeoutMs) : null;
    try {
      let response: Response;
      try {
        response = await fetchImpl(`${origin}/api/invoke`, {
          method: 'POST',
          headers,
          body,
          cache: 'no-store',
          credentials: 'omit',
          signal: controller.signal,
        });
      } catch (e) {
        if (controller.signal.aborted) {
          return transportError(`The QuantLab server at ${origin} did not answer '${channel}' within ${Math.round(timeoutMs / 1000)} s.`);
        }
        return transportError(`Cannot reach the QuantLab server at ${origin} (${describe(e)}). Is \`quantlab serve\` still running?`);
      }
      let payload: unknown;
      try {
        payload = await response.json();
      } catch {
        payload = undefined;
      }
      if (isEnvelope(payload)) return payload;
      return transportError(
        `The QuantLab server at ${origin} answered '${channel}' with HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''} and no API envelope.`,
      );
    } finally {
      if (timer !== null) clearTimeout(timer);
    }
  }

  function deliver(data: unknown): void {
    if (typeof data !== 'string') return;
    let message: unknown;
    try {
      message = JSON.parse(data);
    } catch {
      return;
    }
    if (typeof message !== 'object' || message === null) return;
    const { event, payload } = message as { event?: unknown; payload?: unknown };
    if (typeof event !== 'string') return;
    const set = listeners.get(event);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        listener(payload);
      } catch (e) {
        // One faulty listener must not starve the others.
        console.error(`QuantLab: a '${event}' listener failed:`, e);
      }
    }
  }

  function eventsUrl(): string {
    const url = new URL('/api/events', origin);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    if (token) url.searchParams.set('token', token);
    return url.toString();
  }

  function connect(): void {
    if (closed || socket || !served || !token || !SocketImpl) return;
    reconnectTimer = null;
    setConnection(failedAttempts === 0 ? 'connecting' : 'reconnecting');
    let ws: WebSocket;
    try {
      ws = new SocketImpl(eventsUrl());
    } catch {
      scheduleReconnect();
      return;
    }
    socket = ws;
    ws.onopen = () => {
      failedAttempts = 0;
      setConnection('open');
    };
    ws.onmessage = (message: MessageEvent) => deliver(message.data);
    ws.onclose = () => {
      if (socket === ws) socket = null;
      if (!closed) scheduleReconnect();
    };
    // An error is always followed by a close event, which schedules the reconnect.
    ws.onerror = () => {};
  }

  function scheduleReconnect(): void {
    if (closed || reconnectTimer !== null) return;
    const exponential = Math.min(maxDelayMs, initialDelayMs * 2 ** failedAttempts);
    // Jitter (50–100 %) so several tabs do not hammer a restarting server in lockstep.
    const delayMs = Math.round(exponential * (0.5 + Math.random() * 0.5));
    failedAttempts += 1;
    setConnection('reconnecting');
    reconnectTimer = setTimeout(connect, delayMs);
  }

  /** Back online: try now instead of waiting out the back-off. */
  function reconnectNow(): void {
    if (closed || socket || reconnectTimer === null) return;
    clearTimeout(reconnectTimer);
    reconnectTimer = null;
    connect();
  }
  if (typeof window !== 'undefined') window.addEventListener('online', reconnectNow);

  return {
    transport: 'web',
    get connection() {
      return connection;
    },
    invoke,
    on(event: string, listener: (payload: unknown) => void): () => void {
      let set = listeners.get(event);
      if (!set) listeners.set(event, (set = new Set()));
      set.add(listener);
      // The socket opens with the first listener and then stays up (or keeps reconnecting).
      if (connection === 'idle') connect();
      return () => {
        set.delete(listener);
      };
    },
    onConnectionChange(listener: (state: ConnectionState) => void): () => void {
      connectionListeners.add(listener);
      return () => {
        connectionListeners.delete(listener);
      };
    },
    close(): void {
      closed = true;
      if (reconnectTimer !== null) clearTimeout(reconnectTimer);
      reconnectTimer = null;
      if (typeof window !== 'undefined') window.removeEventListener('online', reconnectNow);
      const ws = socket;
      socket = null;
      ws?.close();
      setConnection('closed');
    },
  };
}

export function isWebBridge(bridge: QuantLabBridge): bridge is WebBridge {
  return bridge.transport === 'web' && typeof (bridge as Partial<WebBridge>).onConnectionChange === 'function';
}
