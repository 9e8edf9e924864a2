/**
 * The Experiments view and the experiment page in a real browser, against `quantlab serve` on a
 * workspace filled by the real CLI (`quantlab eval` on MediaPipe's face detector): the numbers on
 * screen are checked against what `quantlab --json experiments` reads from the same store, the
 * model hash against the file itself, and every edit made in the page against the CLI afterwards.
 */
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect, test, type Locator, type Page, type Request, type WebSocketRoute } from '@playwright/test';
import type { ExperimentDetail, ExperimentListRequest, ExperimentPage, Metric } from '../../src/shared/api/contract';
import { quantlab, quantlabJson, spawnQuantlab } from './support/cli';
import { ROOT, SCREENSHOTS_DIR } from './support/paths';
import { startServe, type ServedApp } from './support/serve';

const MODEL = path.join(ROOT, 'node_modules', '@mediapipe', 'face_detection', 'face_detection_short_range.tflite');
/**
 * Made in this order by the CLI before the server starts (so newest first is failed, delta, gamma,
 * beta, alpha). The last one feeds MNIST digits to the face detector: a real failed run.
 */
const NAMES = {
  alpha: 'alpha face short',
  beta: 'beta face short',
  gamma: 'gamma face short',
  delta: 'delta face short',
  failed: 'face short on mnist digits',
} as const;
type Key = keyof typeof NAMES;
const COMPLETED: readonly Key[] = ['alpha', 'beta', 'gamma', 'delta'];

let served: ServedApp;
const ids = {} as Record<Key, string>;

test.describe.configure({ mode: 'serial' });

test.beforeAll(async () => {
  test.setTimeout(240_000); // Five real evaluations (about 2.5 s each, more on a busy machine), then the server.
  served = await startServe({
    // A fixed path: it shows in the header of the committed screenshot.
    workspaceDir: path.join(os.tmpdir(), 'quantlab-e2e-experiments', 'workspace'),
    prepare: async (dir) => {
      for (const key of COMPLETED) {
        const result = await quantlabJson<{ experimentId: string }>(dir, ['eval', MODEL, '--data', 'random:2', '--name', NAMES[key]]);
        ids[key] = result.experimentId;
      }
      const failed = await quantlabJson<{ error: { message: string } }>(dir, ['eval', MODEL, '--data', 'mnist@4', '--name', NAMES.failed], { expectFailure: true });
      ids.failed = /\(experiment ([0-9a-f]+)\)/.exec(failed.error.message)?.[1] ?? '';
      expect(ids.failed, `the failed eval names its experiment: ${failed.error.message}`).not.toBe('');
      await quantlab(dir, ['experiments', 'tag', ids.alpha, 'baseline']);
    },
  });
});

test.afterAll(async () => {
  await served?.stop();
});

// ---- helpers ---------------------------------------------------------------------------------

function cliList(): Promise<ExperimentPage> {
  return quantlabJson<ExperimentPage>(served.workspaceDir, ['experiments', '--limit', '500']);
}

function cliShow(id: string): Promise<ExperimentDetail> {
  return quantlabJson<ExperimentDetail>(served.workspaceDir, ['experiments', 'show', id]);
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

/** Every `experiments.list` request the page sends, as sent. */
function recordListRequests(page: Page): ExperimentListRequest[] {
  const requests: ExperimentListRequest[] = [];
  page.on('request', (request: Request) => {
    if (!request.url().endsWith('/api/invoke') || request.method() !== 'POST') return;
    const body = request.postDataJSON() as { channel: string; request: ExperimentListRequest };
    // The filter menus read the first 500 unfiltered; only the table's own requests count here.
    if (body.channel === 'experiments.list' && body.request.limit !== 500) requests.push(body.request);
  });
  return requests;
}

async function openList(page: Page, query = ''): Promise<void> {
  await page.goto(`${served.url}#/experiments${query}`);
  await expect(page.getByTestId('workspace-path')).toContainText(served.workspaceDir);
  await expect(page.getByTestId('experiments-table').or(page.getByRole('heading', { name: 'No experiment matches' }))).toBeVisible();
}

function table(page: Page): Locator {
  return page.getByTestId('experiments-table');
}

function rows(page: Page): Locator {
  return table(page).locator('tbody tr');
}

function row(page: Page, id: string): Locator {
  return table(page).locator(`tr[data-experiment-id="${id}"]`);
}

async function shownIds(page: Page): Promise<string[]> {
  return rows(page).evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-experiment-id') ?? ''));
}

async function shownNames(page: Page): Promise<string[]> {
  return (await rows(page).getByRole('rowheader').allTextContents()).map((t) => t.trim());
}

/** The rounded text on screen is the stored value, rounded to the decimals it shows. */
function expectRoundedFrom(text: string, metric: Metric): void {
  if (metric.unit) expect(text).toContain(metric.unit);
  const number = text.replace(metric.unit, '').replace(/,/g, '').trim();
  const decimals = number.includes('.') ? number.length - number.indexOf('.') - 1 : 0;
  expect(Math.abs(Number(number) - metric.value)).toBeLessThanOrEqual(0.5 * 10 ** -decimals + 1e-12);
}

async function sha256File(file: string): Promise<string> {
  return crypto.createHash('sha256').update(await fs.readFile(file)).digest('hex');
}

// ---- the list ------------------------------------------------------------------------------

test('the list shows the experiments the CLI recorded, with the numbers the store holds', async ({ page }) => {
  const errors = watchForErrors(page);
  const cli = await cliList();
  expect(cli.total).toBe(5);

  await openList(page);
  await expect(rows(page)).toHaveCount(5);
  // Newest first, as the CLI lists them.
  expect(await shownIds(page)).toEqual(cli.items.map((e) => e.id));
  await expect(page.getByTestId('experiments-summary')).toHaveText('5 experiments');

  for (const e of cli.items) {
    const r = row(page, e.id);
    await expect(r.getByRole('rowheader')).toHaveText(e.name);
    await expect(r.locator('[data-column="kind"]')).toHaveText('eval');
    await expect(r.locator('[data-column="status"]')).toHaveText(e.status);
    await expect(r.locator('td').nth(0)).toHaveText(e.id);
    await expect(r.locator('.base-tag')).toHaveCount(e.tags.length);
    if (e.id === ids.failed) {
      expect(e.status).toBe('failed');
      expect(e.metrics).toEqual([]);
      await expect(r.locator('td[data-metric]')).toHaveText(['—', '—', '—']);
      continue;
    }
    expect(e.status).toBe('completed');
    for (const name of ['latency', 'throughput']) {
      const metric = e.metrics.find((m) => m.name === name);
      expect(metric, `${e.name} has a ${name} metric`).toBeDefined();
      const cell = r.locator(`td[data-metric="${name}"] .experiments-table__metric`);
      // The exact number the store holds, and the rounded one on screen made from it.
      await expect(cell).toHaveAttribute('data-value', String(metric!.value));
      expectRoundedFrom((await cell.textContent()) ?? '', metric!);
    }
    // Random inputs have no labels: no accuracy, and the cell says so instead of inventing one.
    expect(e.metrics.some((m) => m.name === 'accuracy')).toBe(false);
    await expect(r.locator('td[data-metric="accuracy"]')).toHaveText('—');
  }
  await expect(row(page, ids.alpha).getByRole('button', { name: 'baseline' })).toBeVisible();
  await expect(page.getByRole('heading', { name: 'No experiments yet' })).toHaveCount(0);
  expect(errors).toEqual([]);
});

test('search, the status/kind/tag filters and sorting are done by the server', async ({ page }) => {
  const requests = recordListRequests(page);
  await openList(page);
  const search = page.getByRole('searchbox', { name: /Search experiments/ });

  await search.fill('beta');
  await expect(rows(page)).toHaveCount(1);
  expect(await shownNames(page)).toEqual([NAMES.beta]);
  expect(requests.at(-1)).toMatchObject({ text: 'beta', offset: 0 });
  await expect(page).toHaveURL(/[?&]q=beta/);
  await expect(page.getByTestId('experiments-summary')).toHaveText('1 experiment of 5 match');

  // An id prefix finds its experiment too.
  await search.fill(ids.gamma.slice(0, 6));
  await expect.poll(() => shownIds(page)).toEqual([ids.gamma]);
  await search.press('Escape');
  await expect(rows(page)).toHaveCount(5);

  const statusFilter = page.getByRole('combobox', { name: 'Filter by status' });
  await statusFilter.selectOption('failed');
  await expect.poll(() => shownIds(page)).toEqual([ids.failed]);
  expect(requests.at(-1)).toMatchObject({ status: 'failed' });
  await statusFilter.selectOption('cancelled');
  await expect(page.getByRole('heading', { name: 'No experiment matches' })).toBeVisible();
  expect(requests.at(-1)).toMatchObject({ status: 'cancelled' });
  await page.getByRole('main').getByRole('button', { name: 'Clear filters' }).first().click();
  await expect(rows(page)).toHaveCount(5);
  await expect(statusFilter).toHaveValue('');

  await page.getByRole('combobox', { name: 'Filter by kind' }).selectOption('eval');
  await expect(rows(page)).toHaveCount(5);
  expect(requests.at(-1)).toMatchObject({ kind: 'eval' });

  const tagFilter = page.getByRole('combobox', { name: 'Filter by tag' });
  await tagFilter.selectOption('baseline');
  await expect.poll(() => shownIds(page)).toEqual([ids.alpha]);
  expect(requests.at(-1)).toMatchObject({ kind: 'eval', tag: 'baseline' });
  // The tag chip toggles the same filter.
  await row(page, ids.alpha).getByRole('button', { name: 'baseline' }).click();
  await expect(rows(page)).toHaveCount(5);
  await expect(tagFilter).toHaveValue('');
  await row(page, ids.alpha).getByRole('button', { name: 'baseline' }).click();
  await expect(tagFilter).toHaveValue('baseline');
  await page.getByRole('button', { name: 'Clear filters' }).click();
  await expect(rows(page)).toHaveCount(5);

  const nameHeader = table(page).getByRole('columnheader', { name: 'Name' });
  await nameHeader.getByRole('button').click();
  await expect(nameHeader).toHaveAttribute('aria-sort', 'ascending');
  await expect.poll(() => shownNames(page)).toEqual([NAMES.alpha, NAMES.beta, NAMES.delta, NAMES.failed, NAMES.gamma]);
  expect(requests.at(-1)).toMatchObject({ sort: 'name', order: 'asc' });
  await nameHeader.getByRole('button').click();
  await expect(nameHeader).toHaveAttribute('aria-sort', 'descending');
  await expect.poll(() => shownNames(page)).toEqual([NAMES.gamma, NAMES.failed, NAMES.delta, NAMES.beta, NAMES.alpha]);

  const createdHeader = table(page).getByRole('columnheader', { name: 'Created' });
  await createdHeader.getByRole('button').click();
  await expect(createdHeader).toHaveAttribute('aria-sort', 'descending');
  await expect.poll(() => shownIds(page)).toEqual([ids.failed, ids.delta, ids.gamma, ids.beta, ids.alpha]);
  await createdHeader.getByRole('button').click();
  await expect.poll(() => shownIds(page)).toEqual([ids.alpha, ids.beta, ids.gamma, ids.delta, ids.failed]);
  expect(requests.at(-1)).toMatchObject({ sort: 'createdAt', order: 'asc' });

  // The filters live in the address: a reload keeps them.
  await search.fill('face');
  await statusFilter.selectOption('completed');
  await expect(page).toHaveURL(/status=completed/);
  await expect(page).toHaveURL(/q=face/);
  await page.reload();
  await expect(search).toHaveValue('face');
  await expect(statusFilter).toHaveValue('completed');
  await expect.poll(() => shownIds(page)).toEqual([ids.alpha, ids.beta, ids.gamma, ids.delta]);
});

test('paging is done by the server, with a page size menu', async ({ page }) => {
  const requests = recordListRequests(page);
  await openList(page, '?limit=2');
  await expect(rows(page)).toHaveCount(2);
  await expect(page.getByTestId('page-range')).toHaveText('1–2 of 5');
  expect(requests.at(-1)).toMatchObject({ offset: 0, limit: 2 });
  expect(await shownIds(page)).toEqual([ids.failed, ids.delta]);
  await expect(page.getByRole('button', { name: 'Previous page' })).toBeDisabled();

  await page.getByRole('button', { name: 'Next page' }).click();
  await expect(page.getByTestId('page-range')).toHaveText('3–4 of 5');
  await expect.poll(() => shownIds(page)).toEqual([ids.gamma, ids.beta]);
  expect(requests.at(-1)).toMatchObject({ offset: 2, limit: 2 });
  await expect(page).toHaveURL(/page=2/);

  await page.getByRole('button', { name: 'Last page' }).click();
  await expect(page.getByTestId('page-range')).toHaveText('5–5 of 5');
  await expect.poll(() => shownIds(page)).toEqual([ids.alpha]);
  expect(requests.at(-1)).toMatchObject({ offset: 4, limit: 2 });
  await expect(page.getByRole('button', { name: 'Next page' })).toBeDisabled();
  await expect(page.getByRole('button', { name: 'Last page' })).toBeDisabled();

  await page.reload();
  await expect(page.getByTestId('page-range')).toHaveText('5–5 of 5');
  await page.getByRole('button', { name: 'Previous page' }).click();
  await expect(page.getByTestId('page-range')).toHaveText('3–4 of 5');
  await page.getByRole('button', { name: 'First page' }).click();
  await expect(page.getByTestId('page-range')).toHaveText('1–2 of 5');

  // A bigger page shows everything from the first row.
  await page.getByRole('combobox', { name: 'Rows per page' }).selectOption('10');
  await expect(rows(page)).toHaveCount(5);
  await expect(page.getByTestId('page-range')).toHaveText('1–5 of 5');
  expect(requests.at(-1)).toMatchObject({ offset: 0, limit: 10 });

  // The odd size came from the link; the menu offers the usual ones.
  await expect(page.getByRole('combobox', { name: 'Rows per page' }).locator('option')).toHaveText(['10', '25', '50', '100', '200']);

  // A filter starts again at the first page.
  await openList(page, '?limit=2&page=3');
  await expect(page.getByTestId('page-range')).toHaveText('5–5 of 5');
  await page.getByRole('searchbox', { name: /Search experiments/ }).fill('face');
  await expect(page.getByTestId('page-range')).toHaveText('1–2 of 5');
  expect(requests.at(-1)).toMatchObject({ text: 'face', offset: 0, limit: 2 });
});

test('the list and the experiment page work from the keyboard', async ({ page }) => {
  await openList(page);
  await page.keyboard.press('/');
  const search = page.getByRole('searchbox', { name: /Search experiments/ });
  await expect(search).toBeFocused();

  const links = table(page).locator('tbody a');
  await links.first().focus();
  await page.keyboard.press('ArrowDown');
  await expect(links.nth(1)).toBeFocused();
  await page.keyboard.press('End');
  await expect(links.last()).toBeFocused();
  await page.keyboard.press('Home');
  await expect(links.first()).toBeFocused();

  const nameSort = table(page).getByRole('columnheader', { name: 'Name' }).getByRole('button');
  await nameSort.focus();
  await page.keyboard.press('Enter');
  await expect(table(page).getByRole('columnheader', { name: 'Name' })).toHaveAttribute('aria-sort', 'ascending');

  await links.first().focus();
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(new RegExp(`#/experiments/${ids.alpha}$`));
  await expect(page.getByRole('heading', { level: 2, name: NAMES.alpha })).toBeVisible();

  // The delete dialog opens on its safe button and Escape closes it.
  await page.getByRole('button', { name: 'Delete', exact: true }).focus();
  await page.keyboard.press('Enter');
  const dialog = page.getByRole('dialog', { name: `Delete “${NAMES.alpha}”?` });
  await expect(dialog).toBeVisible();
  await expect(dialog.getByRole('button', { name: 'Cancel' })).toBeFocused();
  await page.keyboard.press('Escape');
  await expect(dialog).toBeHidden();
  await expect(page.getByRole('button', { name: 'Delete', exact: true })).toBeFocused();

  await page.getByRole('link', { name: 'Experiments' }).first().click();
  await expect(page).toHaveURL(/#\/experiments\?sort=name&order=asc$/);
  await expect(table(page).getByRole('columnheader', { name: 'Name' })).toHaveAttribute('aria-sort', 'ascending');
});

// ---- the experiment page ------------------------------------------------------------------------

test('the experiment page shows what produced the numbers: model and dataset hashes, metrics, artifacts, config', async ({ page }) => {
  const errors = watchForErrors(page);
  const shown = await cliShow(ids.alpha);
  const modelSha = await sha256File(MODEL);

  await openList(page);
  await row(page, ids.alpha).getByRole('link', { name: NAMES.alpha }).click();
  await expect(page).toHaveURL(new RegExp(`#/experiments/${ids.alpha}$`));
  await expect(page.getByRole('heading', { level: 2, name: NAMES.alpha })).toBeVisible();
  await expect(page).toHaveTitle(`${NAMES.alpha} · Experiments · QuantLab`);
  await expect(page.getByTestId('detail-status')).toHaveText('completed');
  await expect(page.getByTestId('detail-id')).toHaveText(ids.alpha);

  // The model's hash is the file's own.
  await expect(page.getByTestId('model-sha256')).toHaveText(modelSha);
  expect(shown.model?.sha256).toBe(modelSha);
  const trace = page.getByTestId('traceability');
  await expect(trace).toContainText('face_detection_short_range.tflite');
  await expect(trace).toContainText('tflite');
  await expect(trace).toContainText(MODEL);
  await expect(page.getByTestId('dataset-spec')).toHaveText(shown.dataset!.spec);
  await expect(page.getByTestId('dataset-spec')).toHaveText('random:2');
  await expect(page.getByTestId('dataset-samples')).toContainText('2 samples');
  await expect(page.getByTestId('dataset-sha256')).toHaveText(shown.dataset!.sha256);
  await expect(page.getByTestId('app-version')).toHaveText(shown.appVersion);
  await expect(page.getByTestId('seed')).toHaveText(String(shown.seed));
  // eval records the rounding its integer arithmetic would use (the default, xnnpack, even for a float model).
  expect(shown.roundingMode).toBe('xnnpack');
  await expect(page.getByTestId('rounding-mode')).toHaveText('xnnpack');

  const metrics = page.getByTestId('metrics-table').locator('tbody tr');
  await expect(metrics).toHaveCount(shown.metrics.length);
  for (const m of shown.metrics) {
    const r = page.getByTestId('metrics-table').locator(`tr[data-metric="${m.name}"][data-context="${m.context}"]`);
    await expect(r.getByRole('rowheader')).toHaveText(m.name);
    await expect(r.locator('td').nth(0)).toHaveText(m.context);
    await expect(r.locator('td').nth(1)).toHaveAttribute('data-value', String(m.value));
    expectRoundedFrom((await r.locator('td').nth(1).textContent()) ?? '', { ...m, unit: '' });
    await expect(r.locator('td').nth(2)).toHaveText(m.unit || '—');
  }

  const artifacts = page.getByTestId('artifacts-table').locator('tbody tr');
  await expect(artifacts).toHaveCount(shown.artifacts.length);
  for (const a of shown.artifacts) {
    const r = artifacts.filter({ has: page.locator(`code[data-sha256="${a.sha256}"]`) });
    await expect(r.locator('code')).toHaveText(a.sha256.slice(0, 12));
    await expect(r).toContainText(a.role);
    await expect(r).toContainText(a.name);
    await expect(r.locator(`[data-size="${a.sizeBytes}"]`)).toHaveCount(1);
  }
  // The model is one of the artifacts, under the same hash.
  await expect(page.getByTestId('artifacts-table').locator(`tr[data-role="model"] code[data-sha256="${modelSha}"]`)).toHaveCount(1);

  const config = page.getByTestId('config-json');
  expect(JSON.parse((await config.textContent()) ?? '')).toEqual(shown.config);
  await expect(config).toContainText('"modelPath"');
  await expect(page.getByTestId('layer-metric-count')).toHaveText(String(shown.layerMetricCount));
  await expect(page.getByTestId('device-run-count')).toHaveText(String(shown.deviceRunCount));
  // A completed run has no error, and nothing to cancel.
  await expect(page.getByTestId('detail-run-error')).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'Cancel job' })).toHaveCount(0);

  // A failed run says why, in the job's own sentence.
  const failed = await cliShow(ids.failed);
  expect(failed.error).toContain('takes 49152 values per sample');
  await page.goto(`${served.url}#/experiments/${ids.failed}`);
  await expect(page.getByTestId('detail-status')).toHaveText('failed');
  await expect(page.getByTestId('detail-run-error')).toContainText('The run failed');
  await expect(page.getByTestId('detail-run-error')).toContainText(failed.error!);
  await expect(page.getByText('No metrics recorded.')).toBeVisible();
  expect(errors).toEqual([]);
});

test('notes and tags edited in the page are in the store (as the CLI sees them)', async ({ page }) => {
  await page.goto(`${served.url}#/experiments/${ids.beta}`);
  await expect(page.getByRole('heading', { level: 2, name: NAMES.beta })).toBeVisible();

  const notes = 'Two seeded random inputs: a latency baseline, not an accuracy one.\nNext: mnist@1000.';
  const box = page.getByRole('textbox', { name: 'Notes' });
  await box.fill(notes);
  await expect(page.getByText('Unsaved changes')).toBeVisible();
  await page.getByRole('button', { name: 'Save notes' }).click();
  await expect(page.getByText('Saved', { exact: true })).toBeVisible();
  expect((await cliShow(ids.beta)).notes).toBe(notes);

  // Ctrl+Enter saves too.
  await box.fill(`${notes}\nSaved from the keyboard.`);
  await box.press('Control+Enter');
  await expect(page.getByText('Saved', { exact: true })).toBeVisible();
  await expect.poll(async () => (await cliShow(ids.beta)).notes).toBe(`${notes}\nSaved from the keyboard.`);

  const tagField = page.getByRole('combobox', { name: 'New tags, separated by commas' });
  await tagField.fill('int8-candidate, face ,face');
  await tagField.press('Enter');
  const tags = page.getByRole('list', { name: 'Tags' });
  await expect(tags.getByRole('listitem')).toHaveText(['face', 'int8-candidate']);
  expect((await cliShow(ids.beta)).tags).toEqual(['face', 'int8-candidate']);

  await page.getByRole('button', { name: 'Remove tag face' }).click();
  await expect(tags.getByRole('listitem')).toHaveText(['int8-candidate']);
  expect((await cliShow(ids.beta)).tags).toEqual(['int8-candidate']);

  // A tag the contract refuses is explained before anything is sent.
  await tagField.fill('x'.repeat(101));
  await tagField.press('Enter');
  await expect(page.getByRole('alert').filter({ hasText: 'tags are at most 100' })).toBeVisible();

  // The list shows the new tag and offers it as a filter.
  await page.getByRole('link', { name: 'Experiments' }).first().click();
  await expect(row(page, ids.beta).getByRole('button', { name: 'int8-candidate' })).toBeVisible();
  await expect(row(page, ids.beta).getByRole('link', { name: NAMES.beta })).toHaveAttribute('title', new RegExp('latency baseline'));
  await page.getByRole('combobox', { name: 'Filter by tag' }).selectOption('int8-candidate');
  await expect.poll(() => shownIds(page)).toEqual([ids.beta]);
});

test('delete asks first, then the experiment is gone from the store', async ({ page }) => {
  await page.goto(`${served.url}#/experiments/${ids.gamma}`);
  await expect(page.getByRole('heading', { level: 2, name: NAMES.gamma })).toBeVisible();

  await page.getByRole('button', { name: 'Delete', exact: true }).click();
  const dialog = page.getByRole('dialog', { name: `Delete “${NAMES.gamma}”?` });
  await expect(dialog).toBeVisible();
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await expect(dialog).toBeHidden();
  expect((await cliList()).items.map((e) => e.id)).toContain(ids.gamma);

  await page.getByRole('button', { name: 'Delete', exact: true }).click();
  await dialog.getByRole('button', { name: 'Delete experiment' }).click();
  await expect(page).toHaveURL(/#\/experiments(\?.*)?$/);
  await expect(page.getByTestId('experiments-flash')).toContainText(`Deleted experiment “${NAMES.gamma}” (${ids.gamma}).`);
  await expect(row(page, ids.gamma)).toHaveCount(0);
  await expect(rows(page)).toHaveCount(4);

  const after = await cliList();
  expect(after.total).toBe(4);
  expect(after.items.map((e) => e.id)).not.toContain(ids.gamma);
});

test("an API error is shown as its sentence: the experiment was deleted behind the page's back", async ({ page }) => {
  await page.goto(`${served.url}#/experiments/${ids.delta}`);
  await expect(page.getByRole('heading', { level: 2, name: NAMES.delta })).toBeVisible();
  await quantlab(served.workspaceDir, ['experiments', 'delete', ids.delta]);

  await page.getByRole('textbox', { name: 'Notes' }).fill('Too late.');
  await page.getByRole('button', { name: 'Save notes' }).click();
  const notSaved = page.getByRole('alert').filter({ hasText: 'The notes were not saved' });
  await expect(notSaved).toContainText(`No experiment '${ids.delta}' in the workspace '${served.workspaceDir}'.`);
  // What was typed is still there.
  await expect(page.getByRole('textbox', { name: 'Notes' })).toHaveValue('Too late.');

  await page.getByRole('combobox', { name: 'New tags, separated by commas' }).fill('orphan');
  await page.getByRole('button', { name: 'Add', exact: true }).click();
  await expect(page.getByRole('alert').filter({ hasText: 'The tags were not changed' })).toContainText(`No experiment '${ids.delta}'`);

  await page.reload();
  await expect(page.getByTestId('detail-error')).toContainText('This experiment could not be opened');
  await expect(page.getByTestId('detail-error')).toContainText(`No experiment '${ids.delta}' in the workspace '${served.workspaceDir}'.`);
  await page.getByRole('link', { name: 'Experiments' }).first().click();
  await expect(rows(page)).toHaveCount(3);
});

// ---- live progress -------------------------------------------------------------------------------

test('a job.progress event for a listed experiment shows its progress in the row; its end refreshes the list', async ({ page }) => {
  const sockets: WebSocketRoute[] = [];
  // Stand in for the server's event socket, to push events of a job of this server's process.
  await page.routeWebSocket(/\/api\/events/, (ws) => {
    sockets.push(ws);
  });
  const requests = recordListRequests(page);
  await openList(page);
  await expect.poll(() => sockets.length).toBe(1);

  const progress = { jobId: 'job-e2e', kind: 'eval', experimentId: ids.alpha, stage: 'evaluating', done: 3, total: 8, etaMs: 4200, state: 'running' };
  sockets[0].send(JSON.stringify({ event: 'job.progress', payload: progress }));
  const r = row(page, ids.alpha);
  await expect(r.locator('[data-column="status"]')).toContainText('running');
  const bar = r.getByRole('progressbar');
  await expect(bar).toHaveAttribute('aria-valuenow', '3');
  await expect(bar).toHaveAttribute('aria-valuemax', '8');
  await expect(r.getByTestId('job-progress')).toContainText('evaluating');
  await expect(r.getByTestId('job-progress')).toContainText('3/8');
  await expect(r.getByTestId('job-progress')).toContainText('ETA 4.2 s');

  sockets[0].send(JSON.stringify({ event: 'job.progress', payload: { ...progress, done: 6, etaMs: 1500 } }));
  await expect(bar).toHaveAttribute('aria-valuenow', '6');
  await expect(r.getByTestId('job-progress')).toContainText('ETA 1.5 s');

  // The detail page follows the same job, with a cancel button.
  await r.getByRole('link').click();
  await expect(page.getByTestId('detail-progress').getByRole('progressbar')).toHaveAttribute('aria-valuenow', '6');
  await expect(page.getByRole('button', { name: 'Cancel job' })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Delete', exact: true })).toBeDisabled();
  await page.getByRole('link', { name: 'Experiments' }).first().click();
  await expect(row(page, ids.alpha).getByRole('progressbar')).toBeVisible();

  const before = requests.length;
  sockets[0].send(JSON.stringify({ event: 'job.progress', payload: { ...progress, done: 8, etaMs: 0, state: 'completed' } }));
  await expect(row(page, ids.alpha).getByRole('progressbar')).toHaveCount(0);
  await expect(row(page, ids.alpha).locator('[data-column="status"]')).toHaveText('completed');
  // The final state made the list ask the store again.
  await expect.poll(() => requests.length).toBeGreaterThan(before);
});

test('a job started from a terminal on the same workspace shows up with its progress, then its results', async ({ page }) => {
  test.setTimeout(120_000);
  await openList(page);
  await expect(rows(page)).toHaveCount(3);

  const name = 'epsilon face short 150';
  const child = spawnQuantlab(served.workspaceDir, ['--json', 'eval', MODEL, '--data', 'random:150', '--name', name]);
  let stdout = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    // Not through an event (that job belongs to the terminal's process): the page reads it from the store.
    const r = rows(page).filter({ has: page.getByRole('link', { name }) });
    await expect(r).toBeVisible({ timeout: 20_000 });
    await expect(r.getByRole('progressbar')).toBeVisible({ timeout: 20_000 });
    await expect(r.getByTestId('job-progress')).toContainText(/evaluating|loading data|reading model/);
    await expect(r.getByTestId('job-progress')).toContainText(/\/150/, { timeout: 20_000 });
    // Four rows need no more height than this; the image stays about the table.
    await page.setViewportSize({ width: 1280, height: 440 });
    await page.mouse.move(0, 439);
    await page.screenshot({ path: path.join(SCREENSHOTS_DIR, 'experiments.png'), animations: 'disabled' });

    expect(await exited).toBe(0);
    const result = JSON.parse(stdout) as { experimentId: string; metrics: Metric[] };
    await expect(r.getByRole('progressbar')).toHaveCount(0, { timeout: 15_000 });
    await expect(r.locator('[data-column="status"]')).toHaveText('completed');
    await expect(r).toHaveAttribute('data-experiment-id', result.experimentId);
    const latency = result.metrics.find((m) => m.name === 'latency');
    await expect(r.locator('td[data-metric="latency"] .experiments-table__metric')).toHaveAttribute('data-value', String(latency!.value));
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});

test('screenshot of an experiment page, in the dark theme', async ({ page }) => {
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.goto(`${served.url}#/experiments/${ids.beta}`);
  await expect(page.getByTestId('model-sha256')).toBeVisible();
  await page.getByRole('button', { name: 'Dark theme' }).click();
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
  await page.mouse.move(0, 899);
  await page.screenshot({ path: path.join(SCREENSHOTS_DIR, 'experiment-detail-dark.png'), animations: 'disabled' });
});
