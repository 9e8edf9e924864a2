#!/usr/bin/env node
// `npm start`: the Electron app when its binary is installed; otherwise the same UI in the
// browser through `quantlab serve`, after saying so in one line. Arguments after `--` go to
// `quantlab serve` (e.g. `npm start -- --port 8080 --open`).
//
// Never load the electron module here: without its binary it starts a download. The binary is
// found by reading the electron package's files (src/main/services/environment.ts).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tsImport } from 'tsx/esm/api';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const electronVite = path.join(root, 'node_modules', 'electron-vite', 'bin', 'electron-vite.js');
const cli = path.join(root, 'bin', 'quantlab.mjs');
const rendererIndex = path.join(root, 'out', 'renderer', 'index.html');
const FORWARDED = process.platform === 'win32' ? ['SIGINT', 'SIGTERM'] : ['SIGINT', 'SIGTERM', 'SIGHUP'];
const SIGNAL_NUMBERS = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 };

/**
 * Runs a command to its end and resolves with the exit code this script should use.
 * The child gets its own process group (POSIX), so a Ctrl+C reaches it exactly once, forwarded
 * from here, instead of once from the terminal and again from us (a second SIGINT would cut
 * short `quantlab serve`'s orderly shutdown).
 */
function run(command, argv, env = process.env) {
  return new Promise((resolve) => {
    const child = spawn(command, argv, { cwd: root, env, stdio: 'inherit', detached: process.platform !== 'win32' });
    const forward = (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    };
    const killOnExit = () => forward('SIGTERM');
    for (const signal of FORWARDED) process.on(signal, forward);
    process.on('exit', killOnExit);
    const done = (code) => {
      for (const signal of FORWARDED) process.off(signal, forward);
      process.off('exit', killOnExit);
      resolve(code);
    };
    child.on('error', (e) => {
      process.stderr.write(`Could not run ${path.basename(argv[0] ?? command)}: ${e.message}\n`);
      done(1);
    });
    child.on('exit', (code, signal) => done(code ?? 128 + (SIGNAL_NUMBERS[signal] ?? 1)));
  });
}

async function main() {
  const { findElectronBinary } = await tsImport('../src/main/services/environment.ts', import.meta.url);
  const electron = findElectronBinary(root);

  if (electron.executable) {
    // Builds main, preload and renderer, then launches Electron on out/main/index.js.
    return run(process.execPath, [electronVite, 'preview'], { ...process.env, ELECTRON_EXEC_PATH: electron.executable });
  }

  const why = electron.packageVersion
    ? 'it downloads on first use, which needs internet'
    : 'the electron package is not installed either';
  process.stderr.write(`Electron binary not installed (${why}): serving the same UI in your browser with 'quantlab serve' instead.\n`);

  if (!fs.existsSync(rendererIndex)) {
    const code = await run(process.execPath, [electronVite, 'build', '--logLevel', 'warn']);
    if (code !== 0 || !fs.existsSync(rendererIndex)) {
      process.stderr.write(`Building the UI failed (electron-vite build exited with ${code}); run 'npm run build' to see why.\n`);
      return code || 1;
    }
  }
  if (!fs.existsSync(cli)) {
    process.stderr.write(`The quantlab command (${path.relative(root, cli)}) is missing from this checkout.\n`);
    return 1;
  }
  return run(process.execPath, [cli, 'serve', ...args]);
}

process.exitCode = await main();
