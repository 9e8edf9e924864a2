import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

vi.mock('electron', async () => (await import('../../../helpers/electron-stub')).electronModule);

import { electron, FakeBrowserWindow, resetElectronStub } from '../../../helpers/electron-stub';
import { appPaths, createAppOrigin } from '../../../../src/main/app/paths';
import { createMainWindow, mainWindowOptions } from '../../../../src/main/app/window';
import { fitWindowState, loadWindowState, parseWindowState, saveWindowState, DEFAULT_WINDOW_SIZE, MIN_WINDOW_SIZE } from '../../../../src/main/app/window-state';

const paths = appPaths(path.resolve('/opt/quantlab'));
let dir: string;
let stateFile: string;

beforeEach(() => {
  resetElectronStub();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'quantlab-window-'));
  stateFile = path.join(dir, 'userData', 'window-state.json');
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function open(devServerUrl: string | null = null): FakeBrowserWindow {
  createMainWindow({ paths, origin: createAppOrigin(paths, devServerUrl), stateFile });
  const win = FakeBrowserWindow.all.at(-1);
  if (!win) throw new Error('no window was created');
  return win;
}

describe('main window options', () => {
  it('locks down the web preferences and uses the CommonJS preload', () => {
    const win = open();
    const prefs = win.options.webPreferences ?? {};
    expect(prefs).toMatchObject({
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      spellcheck: false,
    });
    expect(prefs.preload).toBe(paths.preload);
    expect(String(prefs.preload).endsWith(path.join('out', 'preload', 'index.cjs'))).toBe(true);
    expect(win.options.show).toBe(false);
    expect(win.options.minWidth).toBe(MIN_WINDOW_SIZE.width);
  });

  it('stays hidden until ready-to-show, then shows', () => {
    const win = open();
    expect(win.visible).toBe(false);
    win.emit('ready-to-show');
    expect(win.visible).toBe(true);
  });

  it('loads the built renderer with loadFile', () => {
    const win = open();
    expect(win.loadedFile).toBe(paths.rendererIndex);
    expect(win.loadedUrl).toBeNull();
  });

  it('loads the dev server URL when there is one', () => {
    const win = open('http://localhost:5173/');
    expect(win.loadedUrl).toBe('http://localhost:5173/');
    expect(win.loadedFile).toBeNull();
  });

  it('shows the window anyway when the page fails to load', async () => {
    const log = vi.fn();
    const proto = FakeBrowserWindow.prototype;
    const spy = vi.spyOn(proto, 'loadFile').mockRejectedValueOnce(new Error('ERR_FILE_NOT_FOUND'));
    createMainWindow({ paths, origin: createAppOrigin(paths, null), stateFile, log });
    await new Promise((r) => setTimeout(r, 0));
    spy.mockRestore();
    expect(FakeBrowserWindow.all[0].visible).toBe(true);
    expect(log.mock.calls[0][0]).toMatch(/ERR_FILE_NOT_FOUND.*npm run build/);
  });

  it('never spells a position when there is none', () => {
    const options = mainWindowOptions('/p.cjs', { width: 1000, height: 700, maximized: false });
    expect(options).not.toHaveProperty('x');
    expect(options).not.toHaveProperty('y');
  });
});

describe('window state', () => {
  it('opens at the default size the first time', () => {
    const win = open();
    expect(win.options.width).toBe(DEFAULT_WINDOW_SIZE.width);
    expect(win.options.height).toBe(DEFAULT_WINDOW_SIZE.height);
    expect(win.options).not.toHaveProperty('x');
  });

  it('remembers size, position and maximized across launches', () => {
    const first = open();
    first.setBounds({ x: 200, y: 150, width: 1100, height: 760 });
    first.maximize();
    first.close();
    expect(JSON.parse(fs.readFileSync(stateFile, 'utf8'))).toEqual({ x: 200, y: 150, width: 1100, height: 760, maximized: true });
    expect(fs.readdirSync(path.dirname(stateFile))).toEqual(['window-state.json']);

    const second = open();
    expect(second.options).toMatchObject({ x: 200, y: 150, width: 1100, height: 760 });
    expect(second.maximized).toBe(false);
    second.emit('ready-to-show');
    expect(second.maximized).toBe(true);
    expect(second.visible).toBe(true);
  });

  it('saves after moves settle, without waiting for close', async () => {
    vi.useFakeTimers();
    try {
      const win = open();
      win.setBounds({ x: 10, y: 20, width: 1000, height: 700 });
      expect(fs.existsSync(stateFile)).toBe(false);
      await vi.advanceTimersByTimeAsync(1000);
      expect(JSON.parse(fs.readFileSync(stateFile, 'utf8'))).toMatchObject({ x: 10, y: 20, width: 1000, height: 700 });
    } finally {
      vi.useRealTimers();
    }
  });

  it.each([
    ['not JSON', '{"width": 1000,'],
    ['an array', '[1,2,3]'],
    ['null', 'null'],
    ['strings', '{"x":"0","y":"0","width":"1000","height":"800"}'],
    ['negative size', '{"width":-5,"height":800}'],
    ['huge size', '{"width":1e9,"height":800}'],
    ['NaN-ish', '{"width":null,"height":800}'],
  ])('ignores a garbage state file (%s)', (_name, content) => {
    fs.mkdirSync(path.dirname(stateFile), { recursive: true });
    fs.writeFileSync(stateFile, content);
    const win = open();
    expect(win.options.width).toBe(DEFAULT_WINDOW_SIZE.width);
    expect(win.options.height).toBe(DEFAULT_WINDOW_SIZE.height);
    expect(win.options).not.toHaveProperty('x');
  });

  it('drops a position that is off every screen (a monitor unplugged since)', () => {
    saveWindowState(stateFile, { x: 3000, y: 200, width: 1000, height: 700, maximized: false });
    const win = open();
    expect(win.options).not.toHaveProperty('x');
    expect(win.options.width).toBe(1000);
  });

  it('keeps a position on a second screen while it is there', () => {
    electron.screen.displays.push({ id: 2, bounds: { x: 1920, y: 0, width: 2560, height: 1440 }, workArea: { x: 1920, y: 0, width: 2560, height: 1400 }, scaleFactor: 1 });
    saveWindowState(stateFile, { x: 3000, y: 200, width: 1000, height: 700, maximized: false });
    expect(open().options).toMatchObject({ x: 3000, y: 200 });
  });

  it('clamps sizes to the screen and to the minimum', () => {
    const area = [{ x: 0, y: 0, width: 1920, height: 1040 }];
    expect(fitWindowState({ width: 5000, height: 4000, maximized: false }, area)).toMatchObject({ width: 1920, height: 1040 });
    expect(fitWindowState({ width: 10, height: 10, maximized: false }, area)).toMatchObject(MIN_WINDOW_SIZE);
    // A screen smaller than the minimum wins.
    expect(fitWindowState({ width: 1000, height: 700, maximized: false }, [{ x: 0, y: 0, width: 800, height: 500 }])).toMatchObject({ width: 800, height: 500 });
  });

  it('drops a position whose title bar would be above the screen', () => {
    const area = [{ x: 0, y: 0, width: 1920, height: 1040 }];
    expect(fitWindowState({ x: 100, y: -500, width: 1000, height: 700, maximized: false }, area)).not.toHaveProperty('x');
    expect(fitWindowState({ x: 100, y: 100, width: 1000, height: 700, maximized: false }, area)).toMatchObject({ x: 100, y: 100 });
  });

  it('reads and writes only clean state', () => {
    expect(parseWindowState({ width: 1000.4, height: 700.6, x: 1.2, y: 2.8, maximized: 'yes' })).toEqual({ width: 1000, height: 701, x: 1, y: 3, maximized: false });
    expect(parseWindowState({ width: 1000, height: 700, x: 5 })).toEqual({ width: 1000, height: 700, maximized: false });
    expect(loadWindowState(path.join(dir, 'missing.json'), [])).toEqual({ ...DEFAULT_WINDOW_SIZE, maximized: false });
  });
});
