/**
 * The workbench shell in a real browser against the real `quantlab serve`: token handling,
 * every section through the sidebar, the System page over the real bridge and services, the
 * theme, the chart wrapper, the live event feed, and the web bridge's refusals.
 */
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { expect, test, type Page, type WebSocketRoute } from '@playwright/test';
import WebSocket from 'ws';
import { SCREENSHOTS_DIR } from './support/paths';
import { startServe, type ServedApp } from './support/serve';

const SECTIONS = [
  { title: 'Models', hash: '#/models', heading: 'No models yet' },
  { title: 'Datasets', hash: '#/datasets', heading: 'No datasets of your own yet' },
  { title: 'Experiments', hash: '#/experiments', heading: 'No experiments yet' },
  { title: 'Compare', hash: '#/compare', heading: 'Nothing to compare yet' },
  { title: 'Devices', hash: '#/devices', heading: 'No Android device connected' },
  { title: 'Reports', hash: '#/reports', heading: 'No reports yet' },
  { title: 'System', hash: '#/system', heading: 'Environment checks' },
] as const;

/** The doctor probes adb, Chromium and TensorFlow.js: allow it a while on a cold machine. */
const DOCTOR_TIMEOUT_MS = 45_000;

let served: ServedApp;

test.describe.configure({ mode: 'serial' });

test.beforeAll(async () => {
  served = await startServe();
});

test.afterAll(async () => {
  await served?.stop();
});

function sidebar(page: Page) {
  return page.getByRole('navigation', { name: 'Sections' });
}

/** Opens the printed link, optionally at a route (`#/system`). */
async function open(page: Page, hash = ''): Promise<void> {
  await page.goto(`${served.url}${hash}`);
  await expect(page.getByTestId('workspace-path')).toContainText(served.workspaceDir);
}

/** Collects console errors and uncaught exceptions (CSP violations show up as console errors). */
function watchForErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(error.message));
  return errors;
}

async function waitForDoctor(page: Page): Promise<void> {
  await expect(page.getByTestId('doctor-checks')).toBeVisible({ timeout: DOCTOR_TIMEOUT_MS });
}

test('opens from the printed link, strips the token from the address bar and survives a reload', async ({ page }) => {
  await page.goto(served.url);
  await expect(page.getByTestId('workspace-path')).toContainText(served.workspaceDir);

  const address = new URL(page.url());
  expect(address.searchParams.has('token')).toBe(false);
  expect(page.url()).not.toContain(served.token);
  expect(address.hash).toBe('#/models');
  expect(await page.evaluate<string | null>("sessionStorage.getItem('quantlab.token')")).toBe(served.token);

  await page.reload();
  await expect(page.getByTestId('workspace-path')).toContainText(served.workspaceDir);
  await expect(page.getByRole('heading', { name: 'No models yet' })).toBeVisible();
});

test('every section opens from the sidebar, with its empty state and the active link marked', async ({ page }) => {
  const errors = watchForErrors(page);
  await open(page);
  for (const section of SECTIONS) {
    const link = sidebar(page).getByRole('link', { name: section.title });
    await link.click();
    await expect(page).toHaveURL(new RegExp(`${section.hash}$`));
    await expect(page.getByRole('heading', { level: 1 })).toHaveText(section.title);
    await expect(page.getByRole('heading', { level: 2, name: section.heading })).toBeVisible();
    await expect(link).toHaveAttribute('aria-current', 'page');
    await expect(sidebar(page).locator('[aria-current="page"]')).toHaveCount(1);
    await expect(page).toHaveTitle(`${section.title} · QuantLab`);
  }
  await waitForDoctor(page);
  expect(errors, 'console errors or uncaught exceptions (CSP violations included)').toEqual([]);
});

test('the sidebar works from the keyboard', async ({ page }) => {
  await open(page, '#/models');
  const models = sidebar(page).getByRole('link', { name: 'Models' });
  await models.focus();
  await page.keyboard.press('ArrowDown');
  await expect(sidebar(page).getByRole('link', { name: 'Datasets' })).toBeFocused();
  await page.keyboard.press('End');
  await expect(sidebar(page).getByRole('link', { name: 'System' })).toBeFocused();
  await page.keyboard.press('ArrowUp');
  await expect(sidebar(page).getByRole('link', { name: 'Reports' })).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(/#\/reports$/);
  await expect(page.getByRole('heading', { name: 'No reports yet' })).toBeVisible();
});

test('an unknown route says so and links back', async ({ page }) => {
  await open(page, '#/no-such-view');
  await expect(page.getByRole('heading', { name: 'No page here' })).toBeVisible();
  await page.getByRole('main').getByRole('link', { name: 'Models' }).click();
  await expect(page.getByRole('heading', { name: 'No models yet' })).toBeVisible();
});

test('System shows app.info and the doctor checks from the real services', async ({ page }) => {
  await open(page);
  await sidebar(page).getByRole('link', { name: 'System' }).click();

  const facts = page.getByRole('definition');
  await expect(facts.filter({ hasText: served.workspaceDir })).toHaveCount(1);
  await expect(facts.filter({ hasText: 'quantlab serve' })).toHaveCount(1);
  await expect(facts.filter({ hasText: process.versions.node })).not.toHaveCount(0);

  await waitForDoctor(page);
  const node = page.getByRole('row', { name: /Node\.js/ });
  await expect(node).toContainText('ok');
  await expect(node).toContainText(process.versions.node);
  await expect(node).toContainText('required');
  // Every check the contract knows about has a row (Node.js, Electron, adb, Chromium, …).
  await expect(page.getByTestId('doctor-checks').locator('tbody tr')).toHaveCount(8);
  await expect(page.getByRole('row', { name: /Chromium/ })).toContainText('ok');
  await expect(page.getByTestId('doctor-summary')).toBeVisible();
});

test('a failed request becomes a transport error that the page explains', async ({ page }) => {
  await open(page, '#/system');
  await waitForDoctor(page);
  await page.route('**/api/invoke', (route) => route.abort('connectionrefused'));
  await page.getByRole('button', { name: 'Check again' }).click();
  const callout = page.getByText('The checks could not run');
  await expect(callout).toBeVisible();
  await expect(page.getByText(/Cannot reach the QuantLab server at http:\/\/127\.0\.0\.1:\d+/)).toBeVisible();
});

test('a page opened without its token is told how to get in', async ({ page }) => {
  await page.goto(`${served.origin}/`);
  await expect(page.getByText('QuantLab cannot reach its back end')).toBeVisible();
  await expect(page.getByText('Request refused: missing or wrong token.')).toBeVisible();
  await expect(page.getByText(/Open the link .*quantlab serve.* printed/)).toBeVisible();
});

test('the theme switches, persists across reloads and follows the system when asked', async ({ page }) => {
  await open(page);
  const html = page.locator('html');
  await expect(html).toHaveAttribute('data-theme', 'light');

  await page.getByRole('button', { name: 'Dark theme' }).click();
  await expect(html).toHaveAttribute('data-theme', 'dark');
  await expect(page.getByRole('button', { name: 'Dark theme' })).toHaveAttribute('aria-pressed', 'true');
  expect(await page.evaluate<string | null>("localStorage.getItem('quantlab.theme')")).toBe('dark');

  await page.reload();
  await expect(html).toHaveAttribute('data-theme', 'dark');
  await expect(page.getByRole('button', { name: 'Dark theme' })).toHaveAttribute('aria-pressed', 'true');

  await page.getByRole('button', { name: 'System theme' }).click();
  await expect(html).toHaveAttribute('data-theme', 'light');
  await page.emulateMedia({ colorScheme: 'dark' });
  await expect(html).toHaveAttribute('data-theme', 'dark');
  await page.emulateMedia({ colorScheme: 'light' });
  await expect(html).toHaveAttribute('data-theme', 'light');

  await page.getByRole('button', { name: 'Light theme' }).click();
  await page.reload();
  await expect(html).toHaveAttribute('data-theme', 'light');
});

test('the Compare chart draws its axes as SVG and resizes with the window', async ({ page }) => {
  await open(page, '#/compare');
  const svg = page.getByTestId('compare-chart').locator('svg').first();
  await expect(svg).toBeVisible();
  await expect(svg).toContainText('Latency (ms)');
  await expect(svg).toContainText('Top-1 accuracy (%)');

  const wide = await svg.boundingBox();
  expect(wide?.width).toBeGreaterThan(600);
  await page.setViewportSize({ width: 900, height: 700 });
  await expect.poll(async () => (await svg.boundingBox())?.width ?? 0).toBeLessThan((wide?.width ?? 0) - 200);
  await expect.poll(async () => Number(await svg.getAttribute('width'))).toBeLessThan((wide?.width ?? 0) - 200);

  // The theme reaches the chart: its axis labels change colour.
  const label = svg.locator('text', { hasText: 'Latency (ms)' });
  const lightFill = await label.getAttribute('fill');
  await page.getByRole('button', { name: 'Dark theme' }).click();
  await expect.poll(() => label.getAttribute('fill')).not.toBe(lightFill);
  await page.getByRole('button', { name: 'Light theme' }).click();
});

test('live job progress shows in the header, and the event socket reconnects after a drop', async ({ page }) => {
  const sockets: WebSocketRoute[] = [];
  // Stand in for the server's event socket, to push events and to drop it at will.
  await page.routeWebSocket(/\/api\/events/, (ws) => {
    sockets.push(ws);
    // The first reconnect attempt fails too, so the back-off is visible.
    if (sockets.length === 2) ws.close({ code: 1011, reason: 'still restarting' });
  });
  await open(page);
  await expect.poll(() => sockets.length).toBe(1);
  expect(new URL(sockets[0].url()).searchParams.get('token')).toBe(served.token);

  const progress = { jobId: 'job-1', kind: 'quantize', experimentId: null, stage: 'Calibrating', done: 40, total: 100, etaMs: 1200, state: 'running' };
  sockets[0].send(JSON.stringify({ event: 'job.progress', payload: progress }));
  const activity = page.getByTestId('job-activity');
  await expect(activity).toContainText('Calibrating');
  await expect(activity).toContainText('40 %');
  await expect(page.getByRole('status').filter({ hasText: '1 job running: Calibrating 40 %' })).toHaveCount(1);

  sockets[0].send(JSON.stringify({ event: 'job.progress', payload: { ...progress, done: 100, state: 'completed' } }));
  await expect(activity).toHaveCount(0);

  await sockets[0].close({ code: 1001, reason: 'server going away' });
  await expect(page.getByText('Reconnecting…')).toBeVisible();
  await expect.poll(() => sockets.length, { timeout: 10_000 }).toBe(3);
  await expect(page.getByText('Reconnecting…')).toHaveCount(0);

  sockets[2].send(JSON.stringify({ event: 'job.progress', payload: { ...progress, jobId: 'job-2', stage: 'Evaluating', done: 5 } }));
  await expect(activity).toContainText('Evaluating');
});

test('screenshots of the shell, light and dark', async ({ page }) => {
  test.slow(); // A second server and a full doctor run.
  // A server of its own with a fixed workspace path, so the committed images change only when the UI does.
  const own = await startServe({ workspaceDir: path.join(os.tmpdir(), 'quantlab-screenshots', 'workspace') });
  try {
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.goto(`${own.url}#/system`);
    await waitForDoctor(page);
    await sidebar(page).getByRole('link', { name: 'Compare' }).click();
    await expect(page.getByTestId('compare-chart').locator('svg').first()).toContainText('Latency (ms)');
    await page.mouse.move(0, 799);
    await page.screenshot({ path: path.join(SCREENSHOTS_DIR, 'shell.png'), animations: 'disabled' });

    await page.getByRole('button', { name: 'Dark theme' }).click();
    await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
    await page.mouse.move(0, 799);
    await page.screenshot({ path: path.join(SCREENSHOTS_DIR, 'shell-dark.png'), animations: 'disabled' });
  } finally {
    await own.stop();
  }
});

test.describe('the web bridge refuses', () => {
  function post(headers: Record<string, string>): Promise<{ status: number; body: { ok: boolean; error?: { code: string; message: string } } }> {
    const url = new URL('/api/invoke', served.origin);
    const payload = JSON.stringify({ channel: 'app.info', request: {} });
    return new Promise((resolve, reject) => {
      const req = http.request(url, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers } }, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          try {
            resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) });
          } catch (e) {
            reject(new Error(`HTTP ${res.statusCode} with a body that is not JSON: ${text.slice(0, 200)} (${(e as Error).message})`));
          }
        });
      });
      req.on('error', reject);
      req.end(payload);
    });
  }

  test('a request with the token is answered (the control)', async () => {
    const { status, body } = await post({ Authorization: `Bearer ${served.token}` });
    expect(status).toBe(200);
    expect(body.ok).toBe(true);
  });

  test('a request without the token, or with a wrong one: 401 unauthorized', async () => {
    const attempts: Record<string, string>[] = [{}, { Authorization: 'Bearer not-the-token' }, { Authorization: served.token }];
    for (const headers of attempts) {
      const { status, body } = await post(headers);
      expect(status).toBe(401);
      expect(body.ok).toBe(false);
      expect(body.error?.code).toBe('unauthorized');
    }
  });

  test('a request from a foreign Origin, even with the token: 403', async () => {
    const { status, body } = await post({ Authorization: `Bearer ${served.token}`, Origin: 'http://evil.example' });
    expect(status).toBe(403);
    expect(body.ok).toBe(false);
    expect(body.error?.code).toBe('forbidden');
  });

  test("the page's CSP lets it talk to its own server only", async ({ page }) => {
    await open(page);
    // The same server under another name, as a page fooled by DNS rebinding would try it.
    const foreign = `${served.origin.replace('127.0.0.1', 'localhost')}/api/invoke`;
    const outcome = await page.evaluate<string, string>(async (url) => {
      try {
        const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
        return `answered ${res.status}`;
      } catch {
        return 'blocked';
      }
    }, foreign);
    expect(outcome).toBe('blocked');
  });

  test('an event socket without the token is refused with 401', async () => {
    const url = new URL('/api/events', served.origin);
    url.protocol = 'ws:';
    const status = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.on('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? 0);
        ws.terminate();
      });
      ws.on('open', () => {
        ws.close();
        reject(new Error('The event socket opened without a token.'));
      });
      ws.on('error', () => {});
    });
    expect(status).toBe(401);
  });
});
