/**
 * The layering rules of DESIGN.md are enforced by lint: run the project's real ESLint config on
 * source text placed (virtually) in each room.
 */
import path from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const root = path.resolve(__dirname, '../../..');
const eslint = new ESLint({ cwd: root });

async function layeringErrors(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(root, file) });
  return result.messages.filter((m) => m.ruleId === 'quantlab/layering').map((m) => m.message);
}

describe('lint enforces the layering', () => {
  it('fails a renderer file that imports main', async () => {
    const errors = await layeringErrors('src/renderer/stores/bad.ts', "import { createServices } from '../../main/services';\nexport const x = createServices;\n");
    expect(errors).toEqual([expect.stringContaining('the renderer imports only src/shared')]);
  });

  it('fails the forbidden imports of every room', async () => {
    const cases: [string, string, RegExp][] = [
      ['src/core/ir/bad.ts', "import '../../main/services';", /src\/core imports nothing of ours outside src\/core/],
      ['src/core/ir/bad.ts', "import '../../shared/api';", /src\/core imports nothing/],
      ['src/shared/api/bad.ts', "import '../../core/errors';", /src\/shared imports nothing/],
      ['src/main/services/bad.ts', "import 'electron';", /only src\/main\/app \(and the preload\) may import electron/],
      ['src/main/services/bad.ts', "import Database from 'better-sqlite3'; void Database;", /only src\/main\/store may import better-sqlite3/],
      ['src/main/server/bad.ts', "import '@devicefarmer/adbkit';", /only src\/main\/devices may import @devicefarmer\/adbkit/],
      ['src/cli/bad.ts', "import '../main/app/window';", /CLI may not import src\/main\/app/],
      ['src/main/services/bad.ts', "import '../app/window';", /only src\/main\/app may import src\/main\/app/],
      ['src/renderer/bad.ts', "import fs from 'node:fs'; void fs;", /may not import the Node module 'node:fs'/],
      ['src/preload/bad.ts', "import '../main/services';", /the preload imports only src\/shared/],
      ['src/core/bad.ts', "export * from '../cli/main';", /src\/core imports nothing/],
      ['src/core/bad.ts', "export async function f() { return import('../main/services'); }", /src\/core imports nothing/],
    ];
    for (const [file, code, expected] of cases) {
      const errors = await layeringErrors(file, code + '\n');
      expect(errors, `${file}: ${code}`).toEqual([expect.stringMatching(expected)]);
    }
  });

  it('passes the allowed imports', async () => {
    const cases: [string, string][] = [
      ['src/renderer/stores/ok.ts', "import { channels } from '../../shared/api';\nexport const c = channels;"],
      ['src/main/services/ok.ts', "import { UserError } from '../../core/errors';\nimport { channels } from '../../shared/api';\nexport const u = [UserError, channels];"],
      ['src/cli/ok.ts', "import { createServices } from '../main/services';\nexport const s = createServices;"],
      ['src/main/app/ok.ts', "import { app } from 'electron';\nexport const a = app;"],
      ['src/main/store/ok.ts', "import Database from 'better-sqlite3';\nexport const d = Database;"],
      ['src/main/devices/ok.ts', "import Adb from '@devicefarmer/adbkit';\nexport const a = Adb;"],
    ];
    for (const [file, code] of cases) expect(await layeringErrors(file, code + '\n'), file).toEqual([]);
  });

  it('the whole tree passes lint today', async () => {
    const results = await eslint.lintFiles(['src']);
    const errors = results.flatMap((r) => r.messages.filter((m) => m.ruleId === 'quantlab/layering').map((m) => `${r.filePath}: ${m.message}`));
    expect(errors).toEqual([]);
  });
});
