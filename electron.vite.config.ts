import { resolve } from 'node:path';
import { defineConfig } from 'electron-vite';
import vue from '@vitejs/plugin-vue';
import { channelNames, eventNames } from './src/shared/api/contract';

/**
 * Three bundles: main (Electron's main process: src/main/app and what it imports), preload
 * (sandboxed, so CommonJS), renderer (the Vue app, also served by `quantlab serve`).
 */
export default defineConfig({
  main: {
    build: {
      outDir: 'out/main',
      // package.json dependencies stay in node_modules; so must the tfjs packages core imports
      // directly (they come in through @tensorflow/tfjs): a bundled second copy of tfjs-core
      // would not see the backends that the external @tensorflow/tfjs-backend-wasm registers.
      externalizeDeps: { include: ['@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-cpu'] },
      rollupOptions: {
        input: {
          index: resolve(__dirname, 'src/main/app/index.ts'),
          // The job runner starts out/main/jobs-worker.js in a worker_thread (src/main/jobs/runner.ts).
          'jobs-worker': resolve(__dirname, 'src/main/jobs/worker.ts'),
          // Batch evaluation starts out/main/parallel-eval-worker.js per worker (src/main/jobs/parallel-eval.ts).
          'parallel-eval-worker': resolve(__dirname, 'src/main/jobs/parallel-eval-worker.ts'),
        },
      },
    },
  },
  preload: {
    // The contract's names, baked in so the preload rejects unknown channels without bundling zod.
    define: { __QUANTLAB_API_NAMES__: JSON.stringify({ channels: channelNames, events: eventNames }) },
    build: {
      outDir: 'out/preload',
      externalizeDeps: false,
      rollupOptions: {
        input: { index: resolve(__dirname, 'src/preload/index.ts') },
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: 'src/renderer',
    base: './',
    plugins: [vue()],
    build: {
      outDir: 'out/renderer',
      minify: true,
      emptyOutDir: true,
      rollupOptions: { input: { index: resolve(__dirname, 'src/renderer/index.html') } },
    },
  },
});
