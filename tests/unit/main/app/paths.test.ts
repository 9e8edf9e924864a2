import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { appPaths, createAppOrigin, resolveDevServerUrl } from '../../../../src/main/app/paths';

const root = path.resolve('/opt/quantlab');
const paths = appPaths(root);
const fileUrl = (p: string) => pathToFileURL(p).href;

describe('appPaths', () => {
  it('points at the built preload and renderer under out/', () => {
    expect(paths.preload).toBe(path.join(root, 'out', 'preload', 'index.cjs'));
    expect(paths.rendererIndex).toBe(path.join(root, 'out', 'renderer', 'index.html'));
    expect(paths.rendererDir).toBe(path.join(root, 'out', 'renderer'));
  });

  it('finds the real project root by default', () => {
    expect(appPaths().preload).toBe(path.resolve('out/preload/index.cjs'));
  });
});

describe('resolveDevServerUrl', () => {
  it('accepts the loopback dev server in an unpackaged app', () => {
    expect(resolveDevServerUrl('http://localhost:5173', false)).toBe('http://localhost:5173/');
    expect(resolveDevServerUrl('http://127.0.0.1:5173/', false)).toBe('http://127.0.0.1:5173/');
  });

  it('ignores it when packaged, remote, not http, or garbage', () => {
    expect(resolveDevServerUrl('http://localhost:5173', true)).toBeNull();
    expect(resolveDevServerUrl('http://evil.example:5173', false)).toBeNull();
    expect(resolveDevServerUrl('https://localhost:5173', false)).toBeNull();
    expect(resolveDevServerUrl('file:///etc/passwd', false)).toBeNull();
    expect(resolveDevServerUrl('not a url', false)).toBeNull();
    expect(resolveDevServerUrl(undefined, false)).toBeNull();
  });
});

describe('createAppOrigin (built renderer)', () => {
  const origin = createAppOrigin(paths, null);

  it('loads the renderer index as a file URL', () => {
    expect(origin.pageUrl).toBe(fileUrl(paths.rendererIndex));
  });

  it('treats only index.html as the app page, whatever the hash or query', () => {
    expect(origin.isAppPage(fileUrl(paths.rendererIndex))).toBe(true);
    expect(origin.isAppPage(`${fileUrl(paths.rendererIndex)}#/experiments/3`)).toBe(true);
    expect(origin.isAppPage(`${fileUrl(paths.rendererIndex)}?x=1`)).toBe(true);
    expect(origin.isAppPage(fileUrl(path.join(paths.rendererDir, 'assets', 'index.js')))).toBe(false);
    expect(origin.isAppPage(fileUrl('/etc/passwd'))).toBe(false);
    expect(origin.isAppPage('https://example.com/')).toBe(false);
    expect(origin.isAppPage('')).toBe(false);
  });

  it('accepts frames inside out/renderer and nothing outside it', () => {
    expect(origin.isAppFrameUrl(fileUrl(paths.rendererIndex))).toBe(true);
    expect(origin.isAppFrameUrl(fileUrl(path.join(paths.rendererDir, 'sub', 'page.html')))).toBe(true);
    expect(origin.isAppFrameUrl(fileUrl(paths.rendererDir))).toBe(false);
    expect(origin.isAppFrameUrl(fileUrl(`${paths.rendererDir}-evil/index.html`))).toBe(false);
    expect(origin.isAppFrameUrl(`file://${paths.rendererDir}/../../secret.html`)).toBe(false);
    expect(origin.isAppFrameUrl(`file://${paths.rendererDir}/%2e%2e/%2e%2e/secret.html`)).toBe(false);
    expect(origin.isAppFrameUrl(`file://remote-host${paths.rendererIndex}`)).toBe(false);
    expect(origin.isAppFrameUrl('http://localhost:5173/')).toBe(false);
    expect(origin.isAppFrameUrl('about:blank')).toBe(false);
    expect(origin.isAppFrameUrl('data:text/html,hi')).toBe(false);
  });
});

describe('createAppOrigin (dev server)', () => {
  const origin = createAppOrigin(paths, 'http://localhost:5173/');

  it('loads and trusts the dev server origin only', () => {
    expect(origin.pageUrl).toBe('http://localhost:5173/');
    expect(origin.isAppPage('http://localhost:5173/#/models')).toBe(true);
    expect(origin.isAppFrameUrl('http://localhost:5173/index.html')).toBe(true);
    expect(origin.isAppFrameUrl('http://localhost:5174/')).toBe(false);
    expect(origin.isAppFrameUrl('http://127.0.0.1:5173/')).toBe(false);
    expect(origin.isAppFrameUrl(fileUrl(paths.rendererIndex))).toBe(false);
  });
});
