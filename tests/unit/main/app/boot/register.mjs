// `node --import tsx/esm --import ./register.mjs out/main/index.js`: the built main process,
// with 'electron' resolved to the test stub (see built-main.test.ts).
import { register } from 'node:module';

register(new URL('./resolve-electron.mjs', import.meta.url));
