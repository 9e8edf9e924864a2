/**
 * The main window: locked-down web preferences, shown only once painted, and its size and
 * position remembered between launches.
 */
import { BrowserWindow, screen, type BrowserWindowConstructorOptions } from 'electron';
import type { AppOrigin, AppPaths } from './paths';
import { loadWindowState, MIN_WINDOW_SIZE, saveWindowState, type WindowState } from './window-state';

export interface MainWindowOptions {
  paths: Pick<AppPaths, 'preload' | 'rendererIndex'>;
  origin: Pick<AppOrigin, 'devServerUrl'>;
  /** `<userData>/window-state.json` */
  stateFile: string;
  log?: (line: string) => void;
}

/** The BrowserWindow options; every security-relevant preference is spelled out. */
export function mainWindowOptions(preload: string, state: WindowState): BrowserWindowConstructorOptions {
  return {
    title: 'QuantLab',
    width: state.width,
    height: state.height,
    ...(state.x !== undefined && state.y !== undefined ? { x: state.x, y: state.y } : {}),
    minWidth: MIN_WINDOW_SIZE.width,
    minHeight: MIN_WINDOW_SIZE.height,
    show: false,
    backgroundColor: '#1e1f22',
    webPreferences: {
      preload,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      spellcheck: false,
      navigateOnDragDrop: false,
      safeDialogs: true,
    },
  };
}

const SAVE_DELAY_MS = 500;

/** Saves the window's state after moves and resizes settle, and once more when it closes. */
export function trackWindowState(win: BrowserWindow, stateFile: string, log: (line: string) => void): void {
  let timer: NodeJS.Timeout | null = null;
  const save = (): void => {
    if (timer) clearTimeout(timer);
    timer = null;
    if (win.isDestroyed()) return;
    const bounds = win.getNormalBounds();
    try {
      saveWindowState(stateFile, { ...bounds, maximized: win.isMaximized() });
    } catch (e) {
      log(`could not save the window state to ${stateFile}: ${(e as Error).message}`);
    }
  };
  const later = (): void => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(save, SAVE_DELAY_MS);
    timer.unref?.();
  };
  win.on('resize', later);
  win.on('move', later);
  win.on('maximize', later);
  win.on('unmaximize', later);
  win.on('close', save);
}

export function createMainWindow(options: MainWindowOptions): BrowserWindow {
  const log = options.log ?? (() => {});
  const workAreas = screen.getAllDisplays().map((d) => d.workArea);
  const state = loadWindowState(options.stateFile, workAreas);
  const win = new BrowserWindow(mainWindowOptions(options.paths.preload, state));

  win.once('ready-to-show', () => {
    if (state.maximized) win.maximize();
    win.show();
  });
  trackWindowState(win, options.stateFile, log);

  const loading = options.origin.devServerUrl ? win.loadURL(options.origin.devServerUrl) : win.loadFile(options.paths.rendererIndex);
  loading.catch((e: unknown) => {
    log(
      `the window could not load ${options.origin.devServerUrl ?? options.paths.rendererIndex}: ${(e as Error).message}` +
        (options.origin.devServerUrl ? '' : ' (is the renderer built? run `npm run build`)'),
    );
    // Never leave an invisible window behind: show whatever Chromium has (its error page).
    if (!win.isDestroyed() && !win.isVisible()) win.show();
  });
  return win;
}
