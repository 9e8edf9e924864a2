/**
 * The built preload (out/preload/index.cjs), as Electron will load it: sandboxed preloads get a
 * `require` that knows little more than 'electron', and cannot load ES modules. The unit test
 * command builds first; without a build these tests are skipped.
 */
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import { beforeEach, describe, expect, it } from 'vitest';
import { electron, resetElectronStub } from '../../helpers/electron-stub';
import { channelNames, eventNames } from '../../../src/shared/api/contract';
import type { QuantLabBridge } from '../../../src/shared/api/envelope';
import { IPC_INVOKE } from '../../../src/shared/ipc';

const bundle = path.resolve('out/preload/index.cjs');
const built = fs.existsSync(bundle);
const NOT_BUILT = 'out/preload/index.cjs is absent: run `npx electron-vite build` (npm test builds before the unit tests)';
const code = built ? fs.readFileSync(bundle, 'utf8') : '';

/** Runs the bundle the way Electron's sandboxed preload wrapper does, with our stub as 'electron'. */
function runBundle(): { required: string[] } {
  const required: string[] = [];
  const sandboxRequire = (id: string): unknown => {
    required.push(id);
    if (id === 'electron') return electron;
    throw new Error(`module not found: ${id}`);
  };
  const wrapper = vm.runInNewContext(`(function (require, process) {\n${code}\n})`, {}, { filename: bundle }) as (r: typeof sandboxRequire, p: unknown) => void;
  wrapper(sandboxRequire, { platform: process.platform, sandboxed: true });
  return { required };
}

beforeEach(resetElectronStub);

describe('built preload', () => {
  it("is a small CommonJS file whose only require is 'electron'", (ctx) => {
    if (!built) ctx.skip(NOT_BUILT);
    const requires = [...code.matchAll(/\brequire\s*\(\s*(['"`])([^'"`]+)\1\s*\)/g)].map((m) => m[2]);
    expect(requires).toEqual(['electron']);
    // No other way to load code: no dynamic require, no import().
    expect(code.match(/\brequire\s*\(/g)).toHaveLength(1);
    expect(code).not.toMatch(/\bimport\s*\(/);
    expect(code).not.toMatch(/^\s*import\s/m);
    expect(code).not.toMatch(/^\s*export\s/m);
    // Exports nothing (a sandboxed preload has no business exporting).
    expect(code).not.toMatch(/\bexports\b|\bmodule\.exports\b/);
    // zod stays out; the contract names are baked in.
    expect(code).not.toMatch(/zod|safeParse/);
    expect(code.length).toBeLessThan(8 * 1024);
  });

  it('installs window.api and rejects unknown channels without IPC when run', async (ctx) => {
    if (!built) ctx.skip(NOT_BUILT);
    const { required } = runBundle();
    expect(required).toEqual(['electron']);
    expect(Object.keys(electron.contextBridge.exposed)).toEqual(['api']);
    const api = electron.contextBridge.exposed.api as QuantLabBridge;
    expect(Object.keys(api).sort()).toEqual(['invoke', 'on', 'transport']);
    expect(await api.invoke('fs.readFile', {})).toMatchObject({ ok: false, error: { code: 'unknown-channel' } });
    expect(electron.ipcRenderer.invocations).toEqual([]);
  });

  it('knows every channel and event of the current contract (rebuild if this fails)', async (ctx) => {
    if (!built) ctx.skip(NOT_BUILT);
    runBundle();
    const api = electron.contextBridge.exposed.api as QuantLabBridge;
    for (const channel of channelNames) await api.invoke(channel, {});
    expect(electron.ipcRenderer.invocations.map((i) => [i.channel, i.args[0]])).toEqual(channelNames.map((c) => [IPC_INVOKE, c]));
    for (const event of eventNames) api.on(event, () => {})();
  });
});
