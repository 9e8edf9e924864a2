/**
 * Plays Electron for the built main process (out/main/index.js) in plain Node: exports the
 * stub's modules, makes the app ready, checks what the app did, prints one `REPORT {json}`
 * line, then quits the app the way Electron would and exits.
 */
import fs from 'node:fs';
import { electron, FakeBrowserWindow } from '../../../../helpers/electron-stub';
import { IPC_INVOKE } from '../../../../../src/shared/ipc';

export const { app, BrowserWindow, ipcMain, ipcRenderer, contextBridge, session, Menu, shell, screen, dialog } = electron;
export default electron;

electron.app.userDataDir = process.env.QUANTLAB_TEST_USER_DATA ?? electron.app.userDataDir;

async function waitFor<T>(probe: () => T | null | undefined, what: string): Promise<T> {
  const end = Date.now() + 20_000;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function drive(): Promise<void> {
  electron.app.becomeReady();
  const win = await waitFor(() => FakeBrowserWindow.all[0], 'the main window');
  const prefs = win.options.webPreferences ?? {};
  win.emit('ready-to-show');
  const frame = { sender: win.webContents, senderFrame: win.webContents.mainFrame };
  const info = await electron.ipcMain.invoke(IPC_INVOKE, frame, 'app.info', {});
  const bad = await electron.ipcMain.invoke(IPC_INVOKE, frame, 'app.info', { extra: true });
  const headers = await electron.session.defaultSession.respond({ url: win.webContents.getURL() });
  const report = {
    sandboxEnabled: electron.app.sandboxEnabled,
    webPreferences: prefs,
    preloadExists: fs.existsSync(String(prefs.preload)),
    loadedFile: win.loadedFile,
    loadedFileExists: win.loadedFile !== null && fs.existsSync(win.loadedFile),
    visible: win.visible,
    menu: (electron.Menu.applicationMenu?.template ?? []).map((i) => i.role ?? i.label),
    info,
    bad,
    csp: headers?.['Content-Security-Policy'] ?? null,
    errors: electron.dialog.errorBoxes,
  };
  process.stdout.write(`REPORT ${JSON.stringify(report)}\n`);
  win.close();
  // On Linux the last window closing quits the app; play Electron's will-quit.
  await waitFor(() => electron.app.quitCount > 0 || null, 'app.quit after the last window closed');
  electron.app.tryQuit();
  await waitFor(() => electron.app.quitCount > 1 || null, 'the services to close');
  process.stdout.write('QUIT\n');
  process.exit(0);
}

setTimeout(() => {
  drive().catch((e: unknown) => {
    process.stderr.write(`fake electron: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  });
}, 0);
