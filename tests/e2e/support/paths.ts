import path from 'node:path';

/** The repository root. */
export const ROOT = path.resolve(import.meta.dirname, '..', '..', '..');
export const SCREENSHOTS_DIR = path.join(ROOT, 'docs', 'screenshots');
