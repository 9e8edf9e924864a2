/**
 * Where a researcher's work lives. The Electron app, `quantlab serve` and the CLI share one
 * default folder, so an experiment made in one door is seen through the others.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UserError } from '../../core/errors';

/** The per-user data folder, following each platform's convention. */
export function defaultWorkspaceDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  if (env.QUANTLAB_WORKSPACE) return path.resolve(env.QUANTLAB_WORKSPACE);
  const home = os.homedir();
  if (platform === 'win32') return path.join(env.APPDATA ?? path.join(home, 'AppData', 'Roaming'), 'QuantLab', 'workspace');
  if (platform === 'darwin') return path.join(home, 'Library', 'Application Support', 'QuantLab', 'workspace');
  return path.join(env.XDG_DATA_HOME ?? path.join(home, '.local', 'share'), 'quantlab', 'workspace');
}

/**
 * Checks that `dir` can be a workspace without writing anything: it is a folder we can write
 * to, or it does not exist yet and its nearest existing ancestor is a writable folder.
 */
export function checkWorkspaceDir(dir: string): string {
  const abs = path.resolve(dir);
  let probe = abs;
  for (;;) {
    let stat: fs.Stats | undefined;
    try {
      stat = fs.statSync(probe);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') {
        throw new UserError('bad-workspace', `Workspace '${abs}' cannot be used: '${probe}' is not reachable (${code}).`);
      }
    }
    if (stat) {
      if (!stat.isDirectory()) {
        throw new UserError(
          'bad-workspace',
          probe === abs
            ? `Workspace '${abs}' is a file, not a folder: choose a folder with --workspace.`
            : `Workspace '${abs}' cannot be created: '${probe}' is a file, not a folder.`,
        );
      }
      try {
        fs.accessSync(probe, fs.constants.W_OK | fs.constants.X_OK);
      } catch {
        throw new UserError('bad-workspace', `Workspace '${abs}' is not writable: no write permission on '${probe}'.`);
      }
      return abs;
    }
    const parent = path.dirname(probe);
    if (parent === probe) return abs;
    probe = parent;
  }
}

/** Checks, then creates the workspace folder (only verbs that write call this). */
export function ensureWorkspaceDir(dir: string): string {
  const abs = checkWorkspaceDir(dir);
  try {
    fs.mkdirSync(abs, { recursive: true });
  } catch (e) {
    throw new UserError('bad-workspace', `Workspace '${abs}' cannot be created: ${(e as Error).message}.`);
  }
  return abs;
}
