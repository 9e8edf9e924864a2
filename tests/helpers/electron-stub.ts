/**
 * A stand-in for the `electron` module, for unit tests of src/main/app and src/preload (the
 * real module cannot load in plain Node: it tries to download the Electron binary). It records
 * what the code under test asks of Electron, and lets tests play Electron's part.
 *
 *   vi.mock('electron', async () => (await import('../../../helpers/electron-stub')).electronModule);
 *   import { electron, resetElectronStub } from '../../../helpers/electron-stub';
 *   beforeEach(resetElectronStub);
 *
 * Only the surface QuantLab uses is modelled. Instances are long-lived (importers hold them);
 * `resetElectronStub` clears their state between tests.
 */
import { EventEmitter } from 'node:events';
import os from 'node:os';
import path from 'node:path';

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** The `event` object Electron passes to cancellable events. */
export class FakeEvent {
  defaultPrevented = false;
  constructor(extra: Record<string, unknown> = {}) {
    Object.assign(this, extra);
  }
  preventDefault(): void {
    this.defaultPrevented = true;
  }
}

let nextFrameId = 1;
export class FakeWebFrameMain {
  readonly processId: number;
  readonly routingId: number;
  constructor(
    public url: string,
    public parent: FakeWebFrameMain | null = null,
  ) {
    this.processId = 100;
    this.routingId = nextFrameId++;
  }
  get top(): FakeWebFrameMain {
    return this.parent ? this.parent.top : this;
  }
}

let nextContentsId = 1;
export class FakeWebContents extends EventEmitter {
  readonly id = nextContentsId++;
  mainFrame: FakeWebFrameMain;
  readonly sent: { channel: string; args: unknown[] }[] = [];
  windowOpenHandler: ((details: { url: string }) => { action: 'allow' | 'deny' }) | null = null;
  destroyed = false;

  constructor(url = 'about:blank') {
    super();
    this.mainFrame = new FakeWebFrameMain(url);
  }
  send(channel: string, ...args: unknown[]): void {
    if (this.destroyed) throw new Error('Object has been destroyed');
    // Like Electron, arguments go through structured clone.
    this.sent.push({ channel, args: structuredClone(args) });
  }
  setWindowOpenHandler(handler: (details: { url: string }) => { action: 'allow' | 'deny' }): void {
    this.windowOpenHandler = handler;
  }
  getURL(): string {
    return this.mainFrame.url;
  }
  isDestroyed(): boolean {
    return this.destroyed;
  }
  /** Test helper: emits a cancellable event (will-navigate …) the way Electron does. */
  fire(name: string, url?: string): FakeEvent {
    const event = new FakeEvent(url === undefined ? {} : { url });
    this.emit(name, event, url);
    return event;
  }
  /** Test helper: a subframe of this page. */
  addSubframe(url: string): FakeWebFrameMain {
    return new FakeWebFrameMain(url, this.mainFrame);
  }
}

export class FakeBrowserWindow extends EventEmitter {
  static readonly all: FakeBrowserWindow[] = [];
  static getAllWindows(): FakeBrowserWindow[] {
    return FakeBrowserWindow.all.filter((w) => !w.destroyed);
  }
  static fromWebContents(contents: unknown): FakeBrowserWindow | null {
    return FakeBrowserWindow.all.find((w) => w.webContents === contents) ?? null;
  }

  readonly options: Record<string, unknown> & { webPreferences?: Record<string, unknown> };
  readonly webContents: FakeWebContents;
  bounds: Rect;
  maximized = false;
  minimized = false;
  visible = false;
  focused = false;
  destroyed = false;
  loadedFile: string | null = null;
  loadedUrl: string | null = null;
  /** Set to make loadFile/loadURL reject. */
  loadError: Error | null = null;

  constructor(options: Record<string, unknown> = {}) {
    super();
    this.options = options;
    this.webContents = new FakeWebContents();
    this.bounds = {
      x: typeof options.x === 'number' ? options.x : 100,
      y: typeof options.y === 'number' ? options.y : 100,
      width: typeof options.width === 'number' ? options.width : 800,
      height: typeof options.height === 'number' ? options.height : 600,
    };
    FakeBrowserWindow.all.push(this);
    electron.app.emit('browser-window-created', new FakeEvent(), this);
    electron.app.emit('web-contents-created', new FakeEvent(), this.webContents);
  }
  loadFile(file: string): Promise<void> {
    this.loadedFile = file;
    this.webContents.mainFrame.url = `file://${file}`;
    return this.loadError ? Promise.reject(this.loadError) : Promise.resolve();
  }
  loadURL(url: string): Promise<void> {
    this.loadedUrl = url;
    this.webContents.mainFrame.url = url;
    return this.loadError ? Promise.reject(this.loadError) : Promise.resolve();
  }
  show(): void {
    this.visible = true;
  }
  isVisible(): boolean {
    return this.visible;
  }
  focus(): void {
    this.focused = true;
  }
  maximize(): void {
    this.maximized = true;
    this.emit('maximize');
  }
  unmaximize(): void {
    this.maximized = false;
    this.emit('unmaximize');
  }
  isMaximized(): boolean {
    return this.maximized;
  }
  minimize(): void {
    this.minimized = true;
  }
  isMinimized(): boolean {
    return this.minimized;
  }
  restore(): void {
    this.minimized = false;
  }
  getBounds(): Rect {
    return { ...this.bounds };
  }
  getNormalBounds(): Rect {
    return { ...this.bounds };
  }
  setBounds(bounds: Partial<Rect>): void {
    this.bounds = { ...this.bounds, ...bounds };
    this.emit('resize');
    this.emit('move');
  }
  isDestroyed(): boolean {
    return this.destroyed;
  }
  close(): void {
    const event = new FakeEvent();
    this.emit('close', event);
    if (event.defaultPrevented) return;
    this.destroy();
  }
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.webContents.destroyed = true;
    this.emit('closed');
    if (FakeBrowserWindow.getAllWindows().length === 0) electron.app.emit('window-all-closed');
  }
}

type InvokeHandler = (event: unknown, ...args: unknown[]) => unknown;

export class FakeIpcMain extends EventEmitter {
  readonly handlers = new Map<string, InvokeHandler>();
  handle(channel: string, handler: InvokeHandler): void {
    if (this.handlers.has(channel)) throw new Error(`Attempted to register a second handler for '${channel}'`);
    this.handlers.set(channel, handler);
  }
  removeHandler(channel: string): void {
    this.handlers.delete(channel);
  }
  /** Test helper: what ipcRenderer.invoke would get back, for a given sender. */
  async invoke(channel: string, event: { sender: FakeWebContents; senderFrame: FakeWebFrameMain | null }, ...args: unknown[]): Promise<unknown> {
    const handler = this.handlers.get(channel);
    if (!handler) throw new Error(`No handler registered for '${channel}'`);
    return structuredClone(await handler({ ...event, processId: 100, frameId: 1 }, ...structuredClone(args)));
  }
  reset(): void {
    this.handlers.clear();
    this.removeAllListeners();
  }
}

export class FakeIpcRenderer extends EventEmitter {
  readonly invocations: { channel: string; args: unknown[] }[] = [];
  /** What the main process answers; tests replace it. */
  respond: (channel: string, ...args: unknown[]) => Promise<unknown> = async () => ({ ok: true, result: null });
  invoke(channel: string, ...args: unknown[]): Promise<unknown> {
    this.invocations.push({ channel, args });
    return this.respond(channel, ...args);
  }
  /** Test helper: a message from the main process, with the IpcRendererEvent Electron adds. */
  deliver(channel: string, ...args: unknown[]): void {
    this.emit(channel, { sender: this, senderId: 0, ports: [] }, ...args);
  }
  reset(): void {
    this.invocations.length = 0;
    this.respond = async () => ({ ok: true, result: null });
    this.removeAllListeners();
  }
}

export class FakeContextBridge {
  readonly exposed: Record<string, unknown> = {};
  exposeInMainWorld(key: string, api: unknown): void {
    if (Object.prototype.hasOwnProperty.call(this.exposed, key)) throw new Error(`Cannot bind an API on top of an existing property on the window object: ${key}`);
    this.exposed[key] = api;
  }
  reset(): void {
    for (const key of Object.keys(this.exposed)) delete this.exposed[key];
  }
}

export interface HeadersDetails {
  url: string;
  resourceType?: string;
  responseHeaders?: Record<string, string[]>;
}
type HeadersListener = (details: HeadersDetails, callback: (response: { responseHeaders?: Record<string, string[]>; cancel?: boolean }) => void) => void;
type PermissionRequestHandler = (contents: unknown, permission: string, callback: (granted: boolean) => void, details?: unknown) => void;
type PermissionCheckHandler = (contents: unknown, permission: string, origin: string, details?: unknown) => boolean;

export class FakeSession {
  headersListener: HeadersListener | null = null;
  permissionRequestHandler: PermissionRequestHandler | null = null;
  permissionCheckHandler: PermissionCheckHandler | null = null;
  devicePermissionHandler: ((details: unknown) => boolean) | null = null;
  readonly webRequest = {
    onHeadersReceived: (filterOrListener: unknown, maybeListener?: HeadersListener): void => {
      this.headersListener = (typeof filterOrListener === 'function' ? filterOrListener : maybeListener) as HeadersListener;
    },
  };
  setPermissionRequestHandler(handler: PermissionRequestHandler | null): void {
    this.permissionRequestHandler = handler;
  }
  setPermissionCheckHandler(handler: PermissionCheckHandler | null): void {
    this.permissionCheckHandler = handler;
  }
  setDevicePermissionHandler(handler: ((details: unknown) => boolean) | null): void {
    this.devicePermissionHandler = handler;
  }
  /** Test helper: runs a response through the headers listener; returns the headers it set. */
  respond(details: HeadersDetails): Promise<Record<string, string[]> | undefined> {
    return new Promise((resolve, reject) => {
      if (!this.headersListener) return reject(new Error('no onHeadersReceived listener'));
      this.headersListener(details, (response) => resolve(response.responseHeaders));
    });
  }
  reset(): void {
    this.headersListener = null;
    this.permissionRequestHandler = null;
    this.permissionCheckHandler = null;
    this.devicePermissionHandler = null;
  }
}

export interface FakeMenu {
  template: Record<string, unknown>[];
}

export class FakeMenuModule {
  applicationMenu: FakeMenu | null = null;
  buildFromTemplate = (template: Record<string, unknown>[]): FakeMenu => ({ template });
  setApplicationMenu = (menu: FakeMenu | null): void => {
    this.applicationMenu = menu;
  };
  reset(): void {
    this.applicationMenu = null;
  }
}

export class FakeShell {
  readonly openedExternal: string[] = [];
  readonly openedPaths: string[] = [];
  openExternal = async (url: string): Promise<void> => {
    this.openedExternal.push(url);
  };
  openPath = async (target: string): Promise<string> => {
    this.openedPaths.push(target);
    return '';
  };
  reset(): void {
    this.openedExternal.length = 0;
    this.openedPaths.length = 0;
  }
}

export interface FakeDisplay {
  id: number;
  bounds: Rect;
  workArea: Rect;
  scaleFactor: number;
}

export class FakeScreen {
  displays: FakeDisplay[] = [];
  constructor() {
    this.reset();
  }
  getAllDisplays = (): FakeDisplay[] => this.displays;
  getPrimaryDisplay = (): FakeDisplay => this.displays[0];
  reset(): void {
    this.displays = [{ id: 1, bounds: { x: 0, y: 0, width: 1920, height: 1080 }, workArea: { x: 0, y: 0, width: 1920, height: 1040 }, scaleFactor: 1 }];
  }
}

export class FakeDialog {
  readonly errorBoxes: { title: string; content: string }[] = [];
  showErrorBox = (title: string, content: string): void => {
    this.errorBoxes.push({ title, content });
  };
  reset(): void {
    this.errorBoxes.length = 0;
  }
}

export class FakeApp extends EventEmitter {
  isPackaged = false;
  name = 'quantlab';
  /** What requestSingleInstanceLock answers. */
  singleInstance = true;
  sandboxEnabled = false;
  quitCount = 0;
  exitCode: number | null = null;
  userDataDir = path.join(os.tmpdir(), 'quantlab-electron-stub');
  private readyFlag = false;
  private readyWaiters: (() => void)[] = [];

  getPath(name: string): string {
    if (name === 'userData') return this.userDataDir;
    if (name === 'home') return os.homedir();
    if (name === 'temp') return os.tmpdir();
    return path.join(this.userDataDir, name);
  }
  getName(): string {
    return this.name;
  }
  getVersion(): string {
    return '0.0.0-stub';
  }
  getAppPath(): string {
    return process.cwd();
  }
  requestSingleInstanceLock(): boolean {
    return this.singleInstance;
  }
  enableSandbox(): void {
    this.sandboxEnabled = true;
  }
  isReady(): boolean {
    return this.readyFlag;
  }
  whenReady(): Promise<void> {
    if (this.readyFlag) return Promise.resolve();
    return new Promise((resolve) => this.readyWaiters.push(resolve));
  }
  /** Test helper: Electron finished starting. */
  becomeReady(): void {
    if (this.readyFlag) return;
    this.readyFlag = true;
    this.emit('ready', new FakeEvent());
    for (const resolve of this.readyWaiters.splice(0)) resolve();
  }
  /** Records the call; tests drive quitting with `tryQuit`. */
  quit(): void {
    this.quitCount += 1;
  }
  exit(code = 0): void {
    this.exitCode = code;
  }
  /** Test helper: Electron's 'will-quit'; returns whether a listener held the quit back. */
  tryQuit(): boolean {
    const event = new FakeEvent();
    this.emit('before-quit', new FakeEvent());
    this.emit('will-quit', event);
    return event.defaultPrevented;
  }
  reset(): void {
    this.removeAllListeners();
    this.isPackaged = false;
    this.singleInstance = true;
    this.sandboxEnabled = false;
    this.quitCount = 0;
    this.exitCode = null;
    this.readyFlag = false;
    this.readyWaiters = [];
  }
}

const defaultSession = new FakeSession();

/** The stub's live instances, for tests to inspect and drive. */
export const electron = {
  app: new FakeApp(),
  BrowserWindow: FakeBrowserWindow,
  ipcMain: new FakeIpcMain(),
  ipcRenderer: new FakeIpcRenderer(),
  contextBridge: new FakeContextBridge(),
  session: { defaultSession },
  Menu: new FakeMenuModule(),
  shell: new FakeShell(),
  screen: new FakeScreen(),
  dialog: new FakeDialog(),
};

/** What `vi.mock('electron', …)` should return: the named exports plus a default export. */
export const electronModule = { ...electron, default: electron };

export function resetElectronStub(): void {
  electron.app.reset();
  FakeBrowserWindow.all.length = 0;
  electron.ipcMain.reset();
  electron.ipcRenderer.reset();
  electron.contextBridge.reset();
  defaultSession.reset();
  electron.Menu.reset();
  electron.shell.reset();
  electron.screen.reset();
  electron.dialog.reset();
}
