import fs from 'node:fs';
import path from 'node:path';
import { CHROMIUM_PATH } from './chromium';
import { ROOT } from './paths';

function newestMtimeMs(dir: string): number {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) newest = Math.max(newest, fs.statSync(path.join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

/** Fails early, with what to do, instead of letting every test time out. */
export default function globalSetup(): void {
  if (!fs.existsSync(CHROMIUM_PATH)) {
    throw new Error(`Chromium is not at ${CHROMIUM_PATH}: install it (apt-get install chromium) or set QUANTLAB_CHROMIUM.`);
  }
  const index = path.join(ROOT, 'out', 'renderer', 'index.html');
  if (!fs.existsSync(index)) {
    throw new Error(`The renderer is not built (${index} is missing): run \`npm run build\` first.`);
  }
  const builtMs = fs.statSync(index).mtimeMs;
  if (newestMtimeMs(path.join(ROOT, 'src', 'renderer')) > builtMs) {
    console.warn('warning: src/renderer changed after the last build; these tests run the old out/renderer. Run `npm run build`.');
  }
}
