import { beforeEach, describe, expect, it, vi } from 'vitest';

vi.mock('electron', async () => (await import('../../../helpers/electron-stub')).electronModule);

import { electron, resetElectronStub } from '../../../helpers/electron-stub';
import { buildMenuTemplate, installMenu } from '../../../../src/main/app/menu';

type Item = { role?: string; label?: string; type?: string; submenu?: Item[]; click?: () => void };

function template(platform: NodeJS.Platform, isPackaged: boolean, hooks: Partial<Record<'openReadme' | 'openWorkspace', () => void>> = {}): Item[] {
  return buildMenuTemplate({ platform, isPackaged, openReadme: hooks.openReadme ?? (() => {}), openWorkspace: hooks.openWorkspace ?? (() => {}) }) as Item[];
}
const top = (items: Item[]) => items.map((i) => i.role ?? i.label);
const roles = (item: Item | undefined) => (item?.submenu ?? []).filter((i) => i.role).map((i) => i.role);
const find = (items: Item[], label: string) => items.find((i) => i.label === label || i.role === label);

beforeEach(resetElectronStub);

describe('application menu', () => {
  it('has the usual menus on Linux and Windows, with quit under File', () => {
    for (const platform of ['linux', 'win32'] as const) {
      const items = template(platform, true);
      expect(top(items)).toEqual(['&File', '&Edit', '&View', 'windowMenu', 'help']);
      expect(roles(find(items, '&File'))).toEqual(['close', 'quit']);
    }
  });

  it('starts with the app menu on macOS and keeps quit there', () => {
    const items = template('darwin', true);
    expect(top(items)).toEqual(['appMenu', '&File', '&Edit', '&View', 'windowMenu', 'help']);
    expect(roles(find(items, '&File'))).toEqual(['close']);
  });

  it('has the edit roles', () => {
    expect(roles(find(template('linux', true), '&Edit'))).toEqual(['undo', 'redo', 'cut', 'copy', 'paste', 'selectAll']);
  });

  it('offers developer tools only in an unpackaged app', () => {
    expect(roles(find(template('linux', true), '&View'))).toEqual(['reload', 'resetZoom', 'zoomIn', 'zoomOut', 'togglefullscreen']);
    expect(roles(find(template('linux', false), '&View'))).toEqual(['reload', 'forceReload', 'toggleDevTools', 'resetZoom', 'zoomIn', 'zoomOut', 'togglefullscreen']);
  });

  it('links the README from Help and the workspace from File', () => {
    const openReadme = vi.fn();
    const openWorkspace = vi.fn();
    const items = template('linux', true, { openReadme, openWorkspace });
    find(items, 'help')?.submenu?.find((i) => i.label === 'QuantLab README')?.click?.();
    find(items, '&File')?.submenu?.find((i) => i.label === 'Open Workspace Folder')?.click?.();
    expect(openReadme).toHaveBeenCalledTimes(1);
    expect(openWorkspace).toHaveBeenCalledTimes(1);
  });

  it('installs the menu, opening files with the shell', () => {
    installMenu({ platform: 'linux', isPackaged: false, readme: '/opt/quantlab/README.md', workspaceDir: '/home/r/ws', log: () => {} });
    const items = electron.Menu.applicationMenu?.template as Item[];
    expect(top(items)).toEqual(['&File', '&Edit', '&View', 'windowMenu', 'help']);
    find(items, 'help')?.submenu?.[0].click?.();
    find(items, '&File')?.submenu?.[0].click?.();
    expect(electron.shell.openedPaths).toEqual(['/opt/quantlab/README.md', '/home/r/ws']);
  });
});
