/**
 * The preload: installs `window.api` (a QuantLabBridge, see bridge.ts) in the page and nothing
 * else. It runs sandboxed and context-isolated, so it is built as a single CommonJS file whose
 * only `require` is 'electron', and it exports nothing.
 */
import { contextBridge } from 'electron';
import { createBridge } from './bridge';

contextBridge.exposeInMainWorld('api', createBridge());
