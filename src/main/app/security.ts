/**
 * The app's security posture, following Electron's security checklist: a strict CSP on every
 * response, no navigation away from the app's page, no new windows (https links go to the
 * system browser), no permissions, no <webview>.
 */
import { app, session, shell, type Session, type WebContents } from 'electron';
import type { AppOrigin } from './paths';

/**
 * The Content-Security-Policy of the packaged app. Scripts only from the app itself (no
 * inline scripts, no eval); styles may be inline because Vue and ECharts set style attributes;
 * images may be data:/blob: URLs (charts exported as images, dataset previews).
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "worker-src 'self'",
  "object-src 'none'",
  "frame-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** In development the page comes from the Vite dev server, whose HMR socket must connect. */
export function contentSecurityPolicy(devServerUrl: string | null): string {
  if (!devServerUrl) return CONTENT_SECURITY_POLICY;
  const http = new URL(devServerUrl);
  const ws = `ws://${http.host}`;
  return CONTENT_SECURITY_POLICY.replace("connect-src 'self'", `connect-src 'self' ${http.origin} ${ws}`);
}

/** The response headers with every CSP header (any casing) replaced by ours. */
export function withContentSecurityPolicy(headers: Record<string, string[]> | undefined, csp: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    const lower = name.toLowerCase();
    if (lower === 'content-security-policy' || lower === 'content-security-policy-report-only') continue;
    out[name] = value;
  }
  out['Content-Security-Policy'] = [csp];
  return out;
}

/** Only https links leave the app, and only to the system browser. */
export function openExternally(url: string, log: (line: string) => void): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return;
  }
  if (parsed.protocol !== 'https:') {
    log(`refused to open ${url.slice(0, 200)}: only https links open in the browser`);
    return;
  }
  shell.openExternal(parsed.href).catch((e: unknown) => log(`could not open ${parsed.href}: ${(e as Error).message}`));
}

interface NavigationEvent {
  preventDefault(): void;
  url?: string;
}

/** Locks down one webContents: navigation, redirects, new windows, <webview>. */
export function hardenWebContents(contents: WebContents, origin: Pick<AppOrigin, 'isAppPage'>, log: (line: string) => void): void {
  const guard = (kind: string) => (event: NavigationEvent, legacyUrl?: string) => {
    const url = event.url ?? legacyUrl ?? '';
    if (origin.isAppPage(url)) return;
    event.preventDefault();
    log(`blocked ${kind} to ${url.slice(0, 200)}`);
    // A plain https link clicked in the page opens in the browser, as users expect.
    if (kind === 'navigation') openExternally(url, log);
  };
  contents.on('will-navigate', guard('navigation'));
  contents.on('will-redirect', guard('redirect'));
  contents.on('will-attach-webview', (event) => {
    event.preventDefault();
    log('blocked a <webview>');
  });
  contents.setWindowOpenHandler(({ url }) => {
    openExternally(url, log);
    return { action: 'deny' };
  });
}

/** Session-wide rules: the CSP header on every response, every permission denied. */
export function hardenSession(target: Session, csp: string, log: (line: string) => void): void {
  target.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: withContentSecurityPolicy(details.responseHeaders, csp) });
  });
  target.setPermissionRequestHandler((_contents, permission, callback) => {
    log(`denied a request for the '${permission}' permission`);
    callback(false);
  });
  target.setPermissionCheckHandler(() => false);
  target.setDevicePermissionHandler(() => false);
}

export interface SecurityOptions {
  origin: Pick<AppOrigin, 'isAppPage' | 'devServerUrl'>;
  log: (line: string) => void;
}

/**
 * Hardens the default session and every webContents created from now on. Call once the app is
 * ready (the session exists only then) and before the first window.
 */
export function installSecurity(options: SecurityOptions): void {
  app.on('web-contents-created', (_event, contents) => hardenWebContents(contents, options.origin, options.log));
  hardenSession(session.defaultSession, contentSecurityPolicy(options.origin.devServerUrl), options.log);
}
