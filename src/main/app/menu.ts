/**
 * The application menu: the platform's usual roles, developer tools only in an unpackaged app.
 */
import { Menu, shell, type MenuItemConstructorOptions } from 'electron';

export interface MenuOptions {
  platform: NodeJS.Platform;
  isPackaged: boolean;
  /** Opens QuantLab's README (Help menu). */
  openReadme: () => void;
  /** Opens the workspace folder in the file manager (File menu). */
  openWorkspace: () => void;
}

export function buildMenuTemplate(options: MenuOptions): MenuItemConstructorOptions[] {
  const mac = options.platform === 'darwin';
  const dev = !options.isPackaged;
  const template: MenuItemConstructorOptions[] = [];
  if (mac) template.push({ role: 'appMenu' });
  template.push(
    {
      label: '&File',
      submenu: [
        { label: 'Open Workspace Folder', click: () => options.openWorkspace() },
        { type: 'separator' },
        { role: 'close' },
        ...(mac ? [] : ([{ role: 'quit' }] as MenuItemConstructorOptions[])),
      ],
    },
    {
      label: '&Edit',
      submenu: [{ role: 'undo' }, { role: 'redo' }, { type: 'separator' }, { role: 'cut' }, { role: 'copy' }, { role: 'paste' }, { role: 'selectAll' }],
    },
    {
      label: '&View',
      submenu: [
        { role: 'reload' },
        ...(dev ? ([{ role: 'forceReload' }, { role: 'toggleDevTools' }] as MenuItemConstructorOptions[]) : []),
        { type: 'separator' },
        { role: 'resetZoom' },
        { role: 'zoomIn' },
        { role: 'zoomOut' },
        { type: 'separator' },
        { role: 'togglefullscreen' },
      ],
    },
    { role: 'windowMenu' },
    {
      role: 'help',
      submenu: [{ label: 'QuantLab README', click: () => options.openReadme() }],
    },
  );
  return template;
}

export function installMenu(options: Omit<MenuOptions, 'openReadme' | 'openWorkspace'> & { readme: string; workspaceDir: string; log: (line: string) => void }): void {
  const open = (target: string) => () => {
    shell.openPath(target).then(
      (error) => error && options.log(`could not open ${target}: ${error}`),
      (e: unknown) => options.log(`could not open ${target}: ${(e as Error).message}`),
    );
  };
  const template = buildMenuTemplate({ ...options, openReadme: open(options.readme), openWorkspace: open(options.workspaceDir) });
  Menu.setApplicationMenu(Menu.buildFromTemplate(template));
}
