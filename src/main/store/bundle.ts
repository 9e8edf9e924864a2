/**
 * Moving experiments between machines: `quantlab export ID… --out bundle.zip` and
 * `quantlab import bundle.zip`. A bundle is a zip with one manifest (`quantlab-bundle.json`: the
 * experiments' rows and those of their models and datasets) and the artifact files they use
 * (`artifacts/<sha256>`). Import checks everything first — entry names, sizes, hashes, the manifest's
 * shape — and only then writes; a bundle that fails any check writes nothing.
 */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { UserError } from '../../core/errors';
import { ZipArchive } from '../../core/zip/reader';
import { writeZip } from '../../core/zip/writer';
import { sha256Hex, writeFileAtomic } from './artifacts';
import type { WorkspaceStore } from './index';

export const MANIFEST = 'quantlab-bundle.json';
export const BUNDLE_FORMAT = 'quantlab-bundle';
export const BUNDLE_VERSION = 1;
/** The largest single artifact an import accepts (declared or actual). */
export const MAX_ENTRY_BYTES = 2 ** 31;
/** The largest total an import accepts. */
export const MAX_BUNDLE_BYTES = 2 ** 33;

type Row = Record<string, string | number | null>;

/** Tables an experiment owns, with the column that links them to it. */
const CHILD_TABLES = ['experiment_tags', 'metrics', 'layer_metrics', 'device_runs', 'experiment_artifacts'] as const;

const RowSchema = z.record(z.string(), z.union([z.string(), z.number(), z.null()]));
const ManifestSchema = z.object({
  format: z.literal(BUNDLE_FORMAT),
  version: z.number().int(),
  appVersion: z.string(),
  createdAt: z.string(),
  experiments: z.array(
    z.object({
      experiment: RowSchema,
      model: RowSchema.nullable(),
      dataset: RowSchema.nullable(),
      children: z.object(Object.fromEntries(CHILD_TABLES.map((t) => [t, z.array(RowSchema)])) as Record<(typeof CHILD_TABLES)[number], z.ZodArray<typeof RowSchema>>),
    }),
  ),
  artifacts: z.array(z.object({ sha256: z.string().regex(/^[0-9a-f]{64}$/), sizeBytes: z.number().int().nonnegative() })),
});
type Manifest = z.infer<typeof ManifestSchema>;

function columnsOf(store: WorkspaceStore, table: string): string[] {
  return (store.db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) => c.name);
}

export interface ExportResult {
  file: string;
  experiments: number;
  artifacts: number;
  sizeBytes: number;
}

export function exportBundle(store: WorkspaceStore, ids: string[], outFile: string, appVersion: string): ExportResult {
  if (!ids.length) throw new UserError('bad-usage', 'Name at least one experiment to export.');
  const manifest: Manifest = { format: BUNDLE_FORMAT, version: BUNDLE_VERSION, appVersion, createdAt: new Date().toISOString(), experiments: [], artifacts: [] };
  const shas = new Map<string, number>();
  const resolved = [...new Set(ids.map((i) => store.resolveExperimentId(i)))];
  for (const id of resolved) {
    const experiment = store.db.prepare('SELECT * FROM experiments WHERE id=?').get(id) as Row;
    if (experiment.status === 'running') throw new UserError('busy', `Experiment '${id}' is still running: export it when it has ended.`);
    const model = experiment.model_id ? (store.db.prepare('SELECT * FROM models WHERE id=?').get(experiment.model_id) as Row) : null;
    const dataset = experiment.dataset_id ? (store.db.prepare('SELECT * FROM datasets WHERE id=?').get(experiment.dataset_id) as Row) : null;
    const children = Object.fromEntries(
      CHILD_TABLES.map((t) => [t, store.db.prepare(`SELECT * FROM ${t} WHERE experiment_id=?`).all(id) as Row[]]),
    ) as Manifest['experiments'][number]['children'];
    for (const a of children.experiment_artifacts) shas.set(String(a.sha256), 0);
    if (model) shas.set(String(model.sha256), 0);
    manifest.experiments.push({ experiment, model: model as Manifest['experiments'][number]['model'], dataset: dataset as Manifest['experiments'][number]['dataset'], children });
  }
  const entries = [];
  for (const sha of shas.keys()) {
    if (!store.artifacts.has(sha)) throw new UserError('missing-artifact', `Artifact ${sha} of the workspace '${store.dir}' is missing on disk; the bundle would be incomplete.`);
    const bytes = store.artifacts.read(sha);
    if (sha256Hex(bytes) !== sha) throw new UserError('damaged-artifact', `Artifact ${sha} in '${store.dir}' is damaged (its content no longer has its hash).`);
    manifest.artifacts.push({ sha256: sha, sizeBytes: bytes.length });
    entries.push({ name: `artifacts/${sha}`, bytes });
  }
  const zip = writeZip([{ name: MANIFEST, bytes: new TextEncoder().encode(JSON.stringify(manifest, null, 1)) }, ...entries]);
  const file = path.resolve(outFile);
  writeFileAtomic(file, zip);
  return { file, experiments: resolved.length, artifacts: entries.length, sizeBytes: zip.length };
}

export interface ImportResult {
  imported: string[];
  skipped: string[];
  artifacts: number;
}

export function importBundle(store: WorkspaceStore, file: string): ImportResult {
  const name = path.basename(file);
  const refuse = (why: string): never => {
    throw new UserError('bad-bundle', `${name}: ${why}; nothing was imported.`);
  };
  let bytes: Buffer;
  try {
    const size = fs.statSync(file).size;
    if (size > MAX_BUNDLE_BYTES) refuse(`the file is ${size} bytes, over the ${MAX_BUNDLE_BYTES}-byte limit`);
    bytes = fs.readFileSync(file);
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError('bad-input', `Bundle '${file}' cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}).`);
  }
  let zip: ZipArchive;
  try {
    zip = ZipArchive.open(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length), name);
  } catch (e) {
    return refuse((e as Error).message.replace(`${name} `, 'it ').replace(/\.$/, ''));
  }

  // 1. Entry names and sizes, before reading any data.
  let declaredTotal = 0;
  for (const entry of zip.entries.values()) {
    const ok = entry.name === MANIFEST || /^artifacts\/[0-9a-f]{64}$/.test(entry.name);
    if (!ok) refuse(`entry '${entry.name.slice(0, 200)}' is not part of a QuantLab bundle (only ${MANIFEST} and artifacts/<sha256> are)`);
    if (entry.uncompressedSizeBytes > MAX_ENTRY_BYTES) refuse(`entry '${entry.name}' declares ${entry.uncompressedSizeBytes} bytes, over the ${MAX_ENTRY_BYTES}-byte limit`);
    declaredTotal += entry.uncompressedSizeBytes;
  }
  if (declaredTotal > MAX_BUNDLE_BYTES) refuse(`its entries declare ${declaredTotal} bytes in all, over the ${MAX_BUNDLE_BYTES}-byte limit`);
  if (!zip.has(MANIFEST)) refuse(`it has no ${MANIFEST}`);

  // 2. The manifest.
  const read = (entryName: string): Uint8Array => {
    try {
      return zip.read(entryName);
    } catch (e) {
      return refuse((e as Error).message.replace(`${name}: `, '').replace(/\.$/, ''));
    }
  };
  let manifest: Manifest;
  try {
    manifest = ManifestSchema.parse(JSON.parse(new TextDecoder().decode(read(MANIFEST))));
  } catch (e) {
    if (e instanceof UserError) throw e;
    return refuse(`its ${MANIFEST} is not a valid manifest (${(e as Error).message.split('\n')[0].slice(0, 200)})`);
  }
  if (manifest.version > BUNDLE_VERSION) refuse(`it was written by a newer QuantLab (bundle version ${manifest.version}; this QuantLab reads up to ${BUNDLE_VERSION})`);

  // 3. Every artifact: present, the declared size, and the content has its hash.
  const artifacts = new Map<string, Uint8Array>();
  for (const a of manifest.artifacts) {
    const entryName = `artifacts/${a.sha256}`;
    if (!zip.has(entryName)) refuse(`artifact ${a.sha256} is listed but missing`);
    const data = read(entryName);
    if (data.length !== a.sizeBytes) refuse(`artifact ${a.sha256} holds ${data.length} bytes, not the ${a.sizeBytes} listed`);
    const actual = sha256Hex(data);
    if (actual !== a.sha256) refuse(`artifact ${a.sha256} does not match its hash (its content hashes to ${actual}): the bundle was altered or damaged`);
    artifacts.set(a.sha256, data);
  }
  const available = (sha: unknown) => typeof sha === 'string' && (artifacts.has(sha) || store.artifacts.has(sha));

  // 4. Rows: only known columns, links consistent, artifacts all present.
  const columns = new Map<string, Set<string>>();
  for (const t of ['experiments', 'models', 'datasets', ...CHILD_TABLES]) columns.set(t, new Set(columnsOf(store, t)));
  const checkRow = (table: string, row: Row) => {
    for (const k of Object.keys(row)) if (!columns.get(table)!.has(k)) refuse(`a ${table} row has the unknown column '${k.slice(0, 100)}'`);
  };
  for (const e of manifest.experiments) {
    checkRow('experiments', e.experiment);
    const id = e.experiment.id;
    if (typeof id !== 'string' || !/^[0-9a-f]{6,64}$/.test(id)) refuse(`an experiment has the malformed id '${String(id).slice(0, 100)}'`);
    if (e.experiment.status === 'running') refuse(`experiment '${id}' is marked running`);
    if (e.model) {
      checkRow('models', e.model);
      if (!available(e.model.sha256)) refuse(`the model of experiment '${id}' (${String(e.model.sha256)}) is not in the bundle`);
    }
    if (e.dataset) checkRow('datasets', e.dataset);
    for (const t of CHILD_TABLES) {
      for (const row of e.children[t]) {
        checkRow(t, row);
        if (row.experiment_id !== id) refuse(`a ${t} row of experiment '${id}' points at '${String(row.experiment_id).slice(0, 100)}'`);
        if (t === 'experiment_artifacts' && !available(row.sha256)) refuse(`artifact ${String(row.sha256)} of experiment '${id}' is not in the bundle`);
      }
    }
  }

  // 5. Write: artifact files first (content-addressed and atomic, so harmless if what follows fails),
  //    then all rows in one transaction.
  for (const [sha, data] of artifacts) if (!store.artifacts.has(sha)) store.artifacts.put(data);
  const insert = (table: string, row: Row, orIgnore = false) => {
    const keys = Object.keys(row);
    store.db.prepare(`INSERT ${orIgnore ? 'OR IGNORE ' : ''}INTO ${table} (${keys.join(', ')}) VALUES (${keys.map(() => '?').join(', ')})`).run(...keys.map((k) => row[k]));
  };
  const result: ImportResult = { imported: [], skipped: [], artifacts: artifacts.size };
  store.db.transaction(() => {
    for (const [sha, data] of artifacts) {
      store.db.prepare('INSERT OR IGNORE INTO artifacts (sha256, size_bytes, created_at) VALUES (?,?,?)').run(sha, data.length, new Date().toISOString());
    }
    for (const e of manifest.experiments) {
      const id = e.experiment.id as string;
      if (store.db.prepare('SELECT 1 FROM experiments WHERE id=?').get(id)) {
        result.skipped.push(id);
        continue;
      }
      const experiment = { ...e.experiment };
      if (e.model) {
        // Same bytes, same model: reuse an existing row (its id may differ on this machine).
        const existing = store.db.prepare('SELECT id FROM models WHERE sha256=?').get(e.model.sha256) as { id: string } | undefined;
        if (existing) experiment.model_id = existing.id;
        else insert('models', e.model);
      }
      if (e.dataset) {
        const existing = store.db.prepare('SELECT id FROM datasets WHERE spec=? AND sha256=?').get(e.dataset.spec, e.dataset.sha256) as { id: string } | undefined;
        if (existing) experiment.dataset_id = existing.id;
        else insert('datasets', e.dataset);
      }
      insert('experiments', experiment);
      for (const t of CHILD_TABLES) for (const row of e.children[t]) insert(t, row);
      result.imported.push(id);
    }
  })();
  return result;
}
