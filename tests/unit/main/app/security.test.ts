import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeEach, describe, expect, it, vi } from 'vitest';

vi.mock('electron', async () => (await import('../../../helpers/electron-stub')).electronModule);

import { electron, FakeBrowserWindow, FakeWebContents, resetElectronStub } from '../../../helpers/electron-stub';
import { appPaths, createAppOrigin } from '../../../../src/main/app/paths';
import { CONTENT_SECURITY_POLICY, contentSecurityPolicy, installSecurity, withContentSecurityPolicy } from '../../../../src/main/app/security';

const paths = appPaths(path.resolve('/opt/quantlab'));
const appPage = pathToFileURL(paths.rendererIndex).href;
const session = electron.session.defaultSession;
let log: ReturnType<typeof vi.fn<(line: string) => void>>;

function directives(csp: string): Map<string, string[]> {
  return new Map(
    csp
      .split(';')
      .map((d) => d.trim().split(/\s+/))
      .filter((parts) => parts[0])
      .map(([name, ...values]) => [name, values]),
  );
}

beforeEach(() => {
  resetElectronStub();
  log = vi.fn<(line: string) => void>();
  installSecurity({ origin: createAppOrigin(paths, null), log });
});

describe('Content-Security-Policy', () => {
  it('allows scripts only from the app itself', () => {
    const d = directives(CONTENT_SECURITY_POLICY);
    expect(d.get('script-src')).toEqual(["'self'"]);
    expect(d.get('default-src')).toEqual(["'self'"]);
    expect(d.get('object-src')).toEqual(["'none'"]);
    expect(d.get('base-uri')).toEqual(["'none'"]);
    expect(d.get('frame-ancestors')).toEqual(["'none'"]);
    expect(CONTENT_SECURITY_POLICY).not.toContain('unsafe-eval');
    expect(CONTENT_SECURITY_POLICY).not.toMatch(/script-src[^;]*unsafe-inline/);
    expect(CONTENT_SECURITY_POLICY).not.toMatch(/(^|\s)\*(\s|;|$)/);
    expect(CONTENT_SECURITY_POLICY).not.toMatch(/https?:/);
  });

  it('is set on every response, replacing any policy the response brought', async () => {
    const headers = await session.respond({
      url: 'http://localhost:5173/',
      responseHeaders: { 'content-type': ['text/html'], 'content-security-policy': ["script-src 'unsafe-eval' *"], 'Content-Security-Policy-Report-Only': ['x'] },
    });
    expect(headers).toEqual({ 'content-type': ['text/html'], 'Content-Security-Policy': [CONTENT_SECURITY_POLICY] });
    expect(await session.respond({ url: appPage })).toEqual({ 'Content-Security-Policy': [CONTENT_SECURITY_POLICY] });
  });

  it('lets the dev server HMR socket connect in development, and nothing else changes', () => {
    const dev = contentSecurityPolicy('http://localhost:5173/');
    expect(directives(dev).get('connect-src')).toEqual(["'self'", 'http://localhost:5173', 'ws://localhost:5173']);
    expect(directives(dev).get('script-src')).toEqual(["'self'"]);
    expect(dev).not.toContain('unsafe-eval');
    expect(contentSecurityPolicy(null)).toBe(CONTENT_SECURITY_POLICY);
  });

  it('keeps headers untouched apart from the policy', () => {
    expect(withContentSecurityPolicy(undefined, 'x')).toEqual({ 'Content-Security-Policy': ['x'] });
  });
});

describe('navigation', () => {
  let contents: FakeWebContents;
  beforeEach(() => {
    contents = new FakeBrowserWindow().webContents;
  });

  it("allows navigating to the app's own page", () => {
    expect(contents.fire('will-navigate', `${appPage}#/models`).defaultPrevented).toBe(false);
    expect(contents.fire('will-redirect', appPage).defaultPrevented).toBe(false);
  });

  it('prevents navigating anywhere else, opening only https links in the browser', () => {
    expect(contents.fire('will-navigate', 'https://example.com/paper.pdf').defaultPrevented).toBe(true);
    expect(contents.fire('will-navigate', 'http://example.com/').defaultPrevented).toBe(true);
    expect(contents.fire('will-navigate', pathToFileURL('/etc/passwd').href).defaultPrevented).toBe(true);
    expect(contents.fire('will-navigate', pathToFileURL(path.join(paths.rendererDir, 'assets', 'x.js')).href).defaultPrevented).toBe(true);
    expect(contents.fire('will-navigate', 'javascript:alert(1)').defaultPrevented).toBe(true);
    expect(electron.shell.openedExternal).toEqual(['https://example.com/paper.pdf']);
  });

  it('prevents redirects away from the app without opening anything', () => {
    expect(contents.fire('will-redirect', 'https://example.com/').defaultPrevented).toBe(true);
    expect(electron.shell.openedExternal).toEqual([]);
  });

  it('uses the url of the event when Electron passes no second argument', () => {
    const event = { url: 'https://example.com/', defaultPrevented: false, preventDefault() { this.defaultPrevented = true; } };
    contents.emit('will-navigate', event);
    expect(event.defaultPrevented).toBe(true);
  });

  it('denies every new window and sends only https URLs to the system browser', () => {
    const handler = contents.windowOpenHandler;
    expect(handler).toBeTypeOf('function');
    expect(handler!({ url: 'https://www.tensorflow.org/lite' })).toEqual({ action: 'deny' });
    expect(handler!({ url: 'http://insecure.example/' })).toEqual({ action: 'deny' });
    expect(handler!({ url: 'file:///etc/passwd' })).toEqual({ action: 'deny' });
    expect(handler!({ url: appPage })).toEqual({ action: 'deny' });
    expect(handler!({ url: 'smb://share/x' })).toEqual({ action: 'deny' });
    expect(electron.shell.openedExternal).toEqual(['https://www.tensorflow.org/lite']);
  });

  it('prevents attaching a <webview>', () => {
    expect(contents.fire('will-attach-webview').defaultPrevented).toBe(true);
  });

  it('hardens web contents created later too', () => {
    const later = new FakeWebContents();
    electron.app.emit('web-contents-created', {}, later);
    expect(later.windowOpenHandler).toBeTypeOf('function');
    expect(later.fire('will-navigate', 'https://example.com/').defaultPrevented).toBe(true);
  });
});

describe('permissions', () => {
  it.each(['media', 'geolocation', 'notifications', 'clipboard-read', 'openExternal', 'fullscreen', 'hid'])('denies a request for %s', async (permission) => {
    const granted = await new Promise<boolean>((resolve) => session.permissionRequestHandler!({}, permission, resolve));
    expect(granted).toBe(false);
  });

  it('answers every permission check with no', () => {
    expect(session.permissionCheckHandler!({}, 'media', appPage)).toBe(false);
    expect(session.permissionCheckHandler!(null, 'clipboard-sanitized-write', appPage)).toBe(false);
    expect(session.devicePermissionHandler!({})).toBe(false);
  });
});
