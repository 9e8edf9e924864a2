/**
 * The app's life: one instance, services once ready, one window, services closed on quit.
 * Everything here is wiring; the work happens in src/main/services.
 */
import path from 'node:path';
import { app, BrowserWindow, dialog } from 'electron';
import { createServices, type Services } from '../services';
import { defaultWorkspaceDir, ensureWorkspaceDir } from '../services/workspace';
import { registerIpc } from './ipc';
import { installMenu } from './menu';
import { appPaths, createAppOrigin, resolveDevServerUrl, type AppPaths } from './paths';
import { installSecurity } from './security';
import { createMainWindow } from './window';

export interface StartOptions {
  paths?: AppPaths;
  env?: NodeJS.ProcessEnv;
  platform?: NodeJS.Platform;
  log?: (line: string) => void;
}

/** How long quitting waits for the services to close before giving up on them. */
const CLOSE_TIMEOUT_MS = 5_000;

export interface AppHandle {
  /** Resolves once the window is open (or the start failed and the app is exiting). */
  readonly ready: Promise<void>;
  services(): Services | null;
}

export function startApp(options: StartOptions = {}): AppHandle {
  const env = options.env ?? process.env;
  const platform = options.platform ?? process.platform;
  const log = options.log ?? ((line: string) => process.stderr.write(`[quantlab] ${line}\n`));
  let services: Services | null = null;

  // Every renderer sandboxed, whatever a window's options say.
  app.enableSandbox();

  if (!app.requestSingleInstanceLock()) {
    // Another QuantLab is running; it receives 'second-instance' and focuses its window.
    app.quit();
    return { ready: Promise.resolve(), services: () => null };
  }

  const paths = options.paths ?? appPaths();
  const origin = createAppOrigin(paths, resolveDevServerUrl(env.ELECTRON_RENDERER_URL, app.isPackaged));
  let disposeIpc: (() => void) | null = null;

  const openWindow = (): BrowserWindow =>
    createMainWindow({ paths, origin, stateFile: path.join(app.getPath('userData'), 'window-state.json'), log });

  app.on('second-instance', () => {
    if (!services) return;
    const [win] = BrowserWindow.getAllWindows();
    if (!win) {
      openWindow();
      return;
    }
    if (win.isMinimized()) win.restore();
    win.show();
    win.focus();
  });

  app.on('window-all-closed', () => {
    if (platform !== 'darwin') app.quit();
  });

  app.on('activate', () => {
    if (services && BrowserWindow.getAllWindows().length === 0) openWindow();
  });

  let closed = false;
  let closing = false;
  app.on('will-quit', (event) => {
    if (closed || !services) return;
    event.preventDefault();
    if (closing) return;
    closing = true;
    disposeIpc?.();
    disposeIpc = null;
    const current = services;
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, CLOSE_TIMEOUT_MS).unref());
    Promise.race([current.close(), timeout])
      .catch((e: unknown) => log(`closing the services failed: ${(e as Error).message}`))
      .finally(() => {
        closed = true;
        services = null;
        app.quit();
      });
  });

  const ready = app
    .whenReady()
    .then(() => {
      installSecurity({ origin, log });
      const workspaceDir = ensureWorkspaceDir(defaultWorkspaceDir(env, platform));
      services = createServices({ workspaceDir, transport: 'electron', electronVersion: process.versions.electron ?? null, log });
      disposeIpc = registerIpc({ services, origin, log });
      installMenu({ platform, isPackaged: app.isPackaged, readme: paths.readme, workspaceDir, log });
      openWindow();
    })
    .catch((e: unknown) => {
      const message = (e as Error)?.message ?? String(e);
      log(`QuantLab could not start: ${(e as Error)?.stack ?? message}`);
      dialog.showErrorBox('QuantLab could not start', message);
      app.exit(1);
    });

  return { ready, services: () => services };
}
