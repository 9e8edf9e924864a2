// Evaluation worker entry when QuantLab runs from source (CLI through tsx, tests): registers tsx
// in this thread, then runs the TypeScript worker. The Electron build bundles the worker itself.
import { register } from 'tsx/esm/api';

register();
await import('./parallel-eval-worker.ts');
