import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkWorkspaceDir, defaultWorkspaceDir, ensureWorkspaceDir } from '../../../../src/main/services/workspace';

describe('workspace folder', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-ws-'));

  it('defaults to the per-user data folder of each platform', () => {
    expect(defaultWorkspaceDir({ XDG_DATA_HOME: '/d' }, 'linux')).toBe('/d/quantlab/workspace');
    expect(defaultWorkspaceDir({}, 'linux')).toBe(path.join(os.homedir(), '.local/share/quantlab/workspace'));
    expect(defaultWorkspaceDir({}, 'darwin')).toBe(path.join(os.homedir(), 'Library/Application Support/QuantLab/workspace'));
    expect(defaultWorkspaceDir({ QUANTLAB_WORKSPACE: '/w' }, 'linux')).toBe('/w');
  });

  it('checks without creating anything', () => {
    const dir = path.join(tmp, 'a', 'b');
    expect(checkWorkspaceDir(dir)).toBe(dir);
    expect(fs.existsSync(path.join(tmp, 'a'))).toBe(false);
    expect(ensureWorkspaceDir(dir)).toBe(dir);
    expect(fs.statSync(dir).isDirectory()).toBe(true);
  });

  it('refuses a file, or a path under a file, with a sentence naming it', () => {
    const file = path.join(tmp, 'file.txt');
    fs.writeFileSync(file, 'x');
    expect(() => checkWorkspaceDir(file)).toThrow(`Workspace '${file}' is a file, not a folder`);
    expect(() => ensureWorkspaceDir(path.join(file, 'ws'))).toThrow(`'${file}' is a file, not a folder`);
    expect(fs.readFileSync(file, 'utf8')).toBe('x');
  });
});
