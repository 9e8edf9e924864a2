/**
 * The same smoke as shell.spec.ts, through the other door: the Electron app (main process,
 * preload, IPC) rather than `quantlab serve`. Needs Electron's binary, which the electron
 * package downloads at install time; on an offline machine the suite is skipped, saying why.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { _electron as electron, expect, test, type ElectronApplication, type Page } from '@playwright/test';
import { ROOT } from './support/paths';

const SECTIONS = [
  { title: 'Models', heading: 'No models yet' },
  { title: 'Datasets', heading: 'No datasets of your own yet' },
  { title: 'Experiments', heading: 'No experiments yet' },
  { title: 'Compare', heading: 'Nothing to compare yet' },
  { title: 'Devices', heading: 'No Android device connected' },
  { title: 'Reports', heading: 'No reports yet' },
  { title: 'System', heading: 'Environment checks' },
] as const;

/** The Electron executable, or why there is none (electron/index.js resolves it the same way). */
function findElectron(): { executable: string } | { missing: string } {
  const pkg = path.join(ROOT, 'node_modules', 'electron');
  const pathFile = path.join(pkg, 'path.txt');
  if (!fs.existsSync(pathFile)) {
    return { missing: `${path.relative(ROOT, pathFile)} is missing: the electron package never downloaded its binary. Run \`npx install-electron\` with internet access.` };
  }
  const executable = path.join(pkg, 'dist', fs.readFileSync(pathFile, 'utf8').trim());
  if (!fs.existsSync(executable)) {
    return { missing: `${path.relative(ROOT, executable)} is missing. Run \`npx install-electron\` with internet access.` };
  }
  return { executable };
}

const found = findElectron();
test.skip('missing' in found, `Electron binary not installed (offline machine): ${'missing' in found ? found.missing : ''}`);

test.describe.configure({ mode: 'serial' });

let app: ElectronApplication;
let page: Page;
let workspaceDir: string;

test.beforeAll(async () => {
  if (!('executable' in found)) return;
  const main = path.join(ROOT, 'out', 'main', 'index.js');
  if (!fs.existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` first.`);
  workspaceDir = fs.mkdtempSync(path.join(os.tmpdir(), 'quantlab-e2e-electron-'));
  app = await electron.launch({
    executablePath: found.executable,
    args: [main, '--no-sandbox', '--disable-gpu'],
    cwd: ROOT,
    env: { ...process.env, QUANTLAB_WORKSPACE: workspaceDir, ELECTRON_DISABLE_SECURITY_WARNINGS: '1' },
  });
  page = await app.firstWindow();
  await page.waitForLoadState('domcontentloaded');
});

test.afterAll(async () => {
  await app?.close();
  if (workspaceDir) fs.rmSync(workspaceDir, { recursive: true, force: true });
});

test('the window talks through the preload bridge and shows the workspace', async () => {
  expect(await page.evaluate<string>('window.api.transport')).toBe('electron');
  await expect(page.getByTestId('workspace-path')).toContainText(workspaceDir);
});

test('every section opens from the sidebar', async () => {
  const nav = page.getByRole('navigation', { name: 'Sections' });
  for (const section of SECTIONS) {
    const link = nav.getByRole('link', { name: section.title });
    await link.click();
    await expect(page.getByRole('heading', { level: 1 })).toHaveText(section.title);
    await expect(page.getByRole('heading', { level: 2, name: section.heading })).toBeVisible();
    await expect(link).toHaveAttribute('aria-current', 'page');
  }
});

test('System shows app.info and the doctor checks over IPC', async () => {
  await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'System' }).click();
  await expect(page.getByRole('definition').filter({ hasText: 'Desktop app (Electron)' })).toHaveCount(1);
  await expect(page.getByTestId('doctor-checks')).toBeVisible({ timeout: 45_000 });
  await expect(page.getByRole('row', { name: /Node\.js/ })).toContainText('ok');
  await expect(page.getByRole('row', { name: /Electron/ })).toContainText('ok');
});
