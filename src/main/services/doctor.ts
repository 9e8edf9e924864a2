/**
 * `quantlab doctor`: what this machine has of what QuantLab uses, and what to install for each
 * missing piece. Reads only; never installs, downloads or writes.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import type { DoctorCheck, DoctorReport } from '../../shared/api';
import { initTfjsBackend } from '../../core/qat/backend';
import { sqliteVersion } from '../store/probe';
import { findChromium, findElectronBinary, findOnPath, runCommand } from './environment';

const MIN_NODE = [20, 19] as const;
export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

export function checkNode(version = process.versions.node): DoctorCheck {
  const [major, minor] = version.split('.').map(Number);
  const ok = major > MIN_NODE[0] || (major === MIN_NODE[0] && minor >= MIN_NODE[1]);
  return {
    id: 'node',
    label: 'Node.js',
    ok,
    required: true,
    version,
    detail: ok ? `Node.js ${version} (needs ≥ ${MIN_NODE.join('.')}).` : `Node.js ${version} is older than the ${MIN_NODE.join('.')} QuantLab needs.`,
    fix: ok ? null : `Install Node.js ${MIN_NODE.join('.')} or newer (20 LTS or 22 LTS).`,
  };
}

export function checkElectron(): DoctorCheck {
  const bin = findElectronBinary();
  const ok = bin.executable !== null;
  return {
    id: 'electron',
    label: 'Electron',
    ok,
    required: false,
    version: bin.packageVersion,
    detail: ok
      ? `Electron ${bin.packageVersion} binary at ${bin.executable}.`
      : bin.packageVersion
        ? `The electron ${bin.packageVersion} package is installed but its binary is not (it downloads on first use).`
        : 'The electron package is not installed.',
    fix: ok
      ? null
      : 'Run `npx install-electron` on a machine with internet access, or use the same UI in a browser with `quantlab serve` (npm start does this for you).',
  };
}

async function checkAdb(): Promise<DoctorCheck> {
  const adb = findOnPath(['adb']);
  const out = adb ? await runCommand(adb, ['version']) : null;
  const match = out?.stdout.match(/Android Debug Bridge version ([\d.]+)/);
  const ok = Boolean(out?.ok && match);
  return {
    id: 'adb',
    label: 'Android Debug Bridge (adb)',
    ok,
    required: false,
    version: match ? match[1] : null,
    detail: ok ? `adb ${match![1]} at ${adb}.` : adb ? `adb at ${adb} did not report its version.` : 'adb is not on PATH: phones cannot be reached.',
    fix: ok ? null : 'Install it: `apt-get install adb` (Debian/Ubuntu), or Android SDK platform-tools elsewhere.',
  };
}

async function checkChromium(): Promise<DoctorCheck> {
  const exe = findChromium();
  const out = exe ? await runCommand(exe, ['--version', '--no-sandbox'], 20_000) : null;
  const match = out?.stdout.match(/(Chromium|Google Chrome)\s+([\d.]+)/);
  const ok = Boolean(out?.ok && match);
  return {
    id: 'chromium',
    label: 'Chromium',
    ok,
    required: false,
    version: match ? match[2] : null,
    detail: ok ? `${match![1]} ${match![2]} at ${exe} (end-to-end tests, PDF reports).` : 'No Chromium found: end-to-end tests and PDF reports need it.',
    fix: ok ? null : 'Install it: `apt-get install chromium`.',
  };
}

async function checkTfjs(): Promise<{ check: DoctorCheck; backend: DoctorReport['tfjsBackend'] }> {
  try {
    const choice = await initTfjsBackend();
    const require = createRequire(import.meta.url);
    const version = (require('@tensorflow/tfjs-core/package.json') as { version: string }).version;
    return {
      backend: choice.backend,
      check: {
        id: 'tfjs',
        label: 'TensorFlow.js',
        ok: true,
        required: true,
        version,
        detail: `TensorFlow.js ${version}, backend '${choice.backend}'.${choice.notes.length ? ' ' + choice.notes.join(' ') : ''}`,
        fix: choice.backend === 'tensorflow' ? null : 'Optional, for faster training: `npm install @tensorflow/tfjs-node` (needs internet to fetch libtensorflow).',
      },
    };
  } catch (e) {
    return {
      backend: null,
      check: {
        id: 'tfjs',
        label: 'TensorFlow.js',
        ok: false,
        required: true,
        version: null,
        detail: (e as Error).message,
        fix: 'Reinstall dependencies with `npm ci`.',
      },
    };
  }
}

function checkSqlite(): DoctorCheck {
  try {
    const v = sqliteVersion();
    return { id: 'sqlite', label: 'SQLite (better-sqlite3)', ok: true, required: true, version: v, detail: `SQLite ${v} through better-sqlite3.`, fix: null };
  } catch (e) {
    return {
      id: 'sqlite',
      label: 'SQLite (better-sqlite3)',
      ok: false,
      required: true,
      version: null,
      detail: `better-sqlite3 does not load: ${(e as Error).message.split('\n')[0]}`,
      fix: 'Rebuild it for this Node: `npm rebuild better-sqlite3` (needs python3, make, g++; for Electron: `npx @electron/rebuild -o better-sqlite3`).',
    };
  }
}

async function checkFlatc(): Promise<DoctorCheck> {
  const flatc = findOnPath(['flatc']);
  const out = flatc ? await runCommand(flatc, ['--version']) : null;
  const match = out?.stdout.match(/flatc version ([\d.]+)/);
  const ok = Boolean(out?.ok && match);
  return {
    id: 'flatc',
    label: 'FlatBuffers compiler (flatc)',
    ok,
    required: false,
    version: match ? match[1] : null,
    detail: ok ? `flatc ${match![1]}: only needed to regenerate the TFLite schema code.` : 'flatc is missing: only needed to regenerate the TFLite schema code (npm run gen:tflite).',
    fix: ok ? null : 'Install it: `apt-get install flatbuffers-compiler`.',
  };
}

function checkFashionMnist(): DoctorCheck {
  const files = ['t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz', 'train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz'];
  const ok = files.every((f) => fs.existsSync(`${FASHION_MNIST_DIR}/${f}`));
  return {
    id: 'fashion-mnist',
    label: 'Fashion-MNIST data',
    ok,
    required: false,
    version: null,
    detail: ok ? `Fashion-MNIST IDX files in ${FASHION_MNIST_DIR}.` : `Fashion-MNIST is not in ${FASHION_MNIST_DIR}: the built-in 'fashion-mnist' dataset needs it.`,
    fix: ok ? null : 'Install it: `apt-get install dataset-fashion-mnist`, or point a dataset at your own copy of the IDX files.',
  };
}

export async function doctorReport(): Promise<DoctorReport> {
  const [adb, chromium, tfjs, flatc] = await Promise.all([checkAdb(), checkChromium(), checkTfjs(), checkFlatc()]);
  const checks = [checkNode(), checkElectron(), adb, chromium, tfjs.check, checkSqlite(), flatc, checkFashionMnist()];
  return { ok: checks.every((c) => c.ok || !c.required), checks, tfjsBackend: tfjs.backend };
}
