/**
 * Where the app's own files are, and which URLs are the app's own page. Both the navigation
 * guard (security.ts) and the IPC sender check (ipc.ts) ask this module, so they agree.
 * No electron import: this is plain path and URL logic.
 */
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { projectRoot } from '../services/app-version';

export interface AppPaths {
  /** The folder holding package.json (the repo in development, the app bundle when packaged). */
  root: string;
  /** The sandboxed preload, built as CommonJS by electron-vite. */
  preload: string;
  /** The built renderer; only pages inside it may call the API. */
  rendererDir: string;
  /** The one page the window shows. */
  rendererIndex: string;
  readme: string;
}

export function appPaths(root: string = projectRoot()): AppPaths {
  const out = path.join(root, 'out');
  return {
    root,
    preload: path.join(out, 'preload', 'index.cjs'),
    rendererDir: path.join(out, 'renderer'),
    rendererIndex: path.join(out, 'renderer', 'index.html'),
    readme: path.join(root, 'README.md'),
  };
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * The renderer dev server (`electron-vite dev` sets ELECTRON_RENDERER_URL), honoured only in an
 * unpackaged app and only on loopback http, so an environment variable can never point a
 * packaged QuantLab at a remote page. Returns the normalised origin URL, or null.
 */
export function resolveDevServerUrl(value: string | undefined, isPackaged: boolean): string | null {
  if (isPackaged || !value) return null;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' || !LOOPBACK_HOSTS.has(url.hostname)) return null;
  return url.href;
}

export interface AppOrigin {
  /** What the window loads: the dev server URL, or the file URL of out/renderer/index.html. */
  readonly pageUrl: string;
  readonly devServerUrl: string | null;
  /** True for the app's page itself (navigation target), ignoring query and hash. */
  isAppPage(url: string): boolean;
  /** True for any page served from the built renderer folder, or from the dev server. */
  isAppFrameUrl(url: string): boolean;
}

function parse(url: string): URL | null {
  try {
    return new URL(url);
  } catch {
    return null;
  }
}

/** The local path of a plain file: URL (no host), or null. */
function localPath(url: URL): string | null {
  if (url.protocol !== 'file:' || (url.host !== '' && url.host !== 'localhost')) return null;
  try {
    return path.resolve(fileURLToPath(url));
  } catch {
    return null;
  }
}

function isInside(dir: string, file: string): boolean {
  const rel = path.relative(dir, file);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

export function createAppOrigin(paths: Pick<AppPaths, 'rendererDir' | 'rendererIndex'>, devServerUrl: string | null): AppOrigin {
  const rendererDir = path.resolve(paths.rendererDir);
  const rendererIndex = path.resolve(paths.rendererIndex);
  const devOrigin = devServerUrl ? new URL(devServerUrl).origin : null;
  const sameDevOrigin = (url: URL): boolean => devOrigin !== null && url.origin === devOrigin;
  return {
    pageUrl: devServerUrl ?? pathToFileURL(rendererIndex).href,
    devServerUrl,
    isAppPage(raw) {
      const url = parse(raw);
      if (!url) return false;
      if (devOrigin) return sameDevOrigin(url);
      const file = localPath(url);
      return file !== null && path.relative(rendererIndex, file) === '';
    },
    isAppFrameUrl(raw) {
      const url = parse(raw);
      if (!url) return false;
      if (devOrigin) return sameDevOrigin(url);
      const file = localPath(url);
      return file !== null && isInside(rendererDir, file);
    },
  };
}
