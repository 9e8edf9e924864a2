/**
 * Electron's main-process entry (built to out/main/index.js). The only folder that imports
 * electron is src/main/app; everything it does is in lifecycle.ts.
 */
import { startApp } from './lifecycle';

startApp();
