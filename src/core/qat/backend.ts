/**
 * Picks the TensorFlow.js backend for training: tfjs-node (native TensorFlow) when it is
 * installed, otherwise the WebAssembly backend, otherwise plain JavaScript (cpu). tfjs-node is
 * an optional dependency: its install downloads libtensorflow and fails on offline machines.
 */
import type { Graph } from '../ir/types';

export type TfjsBackendName = 'tensorflow' | 'wasm' | 'cpu';

export interface TfjsBackendChoice {
  backend: TfjsBackendName;
  /** Why the faster ones were not used, for `doctor` and for every training result. */
  notes: string[];
}

let chosen: Promise<TfjsBackendChoice> | undefined;

export function initTfjsBackend(prefer?: TfjsBackendName): Promise<TfjsBackendChoice> {
  chosen ??= choose(prefer);
  return chosen;
}

async function choose(prefer?: TfjsBackendName): Promise<TfjsBackendChoice> {
  const notes: string[] = [];
  const tf = await import('@tensorflow/tfjs-core');
  await import('@tensorflow/tfjs-backend-cpu');
  const order: TfjsBackendName[] = prefer ? [prefer, 'tensorflow', 'wasm', 'cpu'] : ['tensorflow', 'wasm', 'cpu'];
  for (const name of order) {
    try {
      if (name === 'tensorflow') {
        // A string specifier keeps bundlers and the type checker from requiring the optional package.
        const optional = '@tensorflow/tfjs-node';
        await import(/* @vite-ignore */ optional);
      } else if (name === 'wasm') {
        await import('@tensorflow/tfjs-backend-wasm');
      }
      if (await tf.setBackend(name)) {
        await tf.ready();
        return { backend: name, notes };
      }
      notes.push(`The ${name} backend did not initialise.`);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      notes.push(
        name === 'tensorflow' && code === 'ERR_MODULE_NOT_FOUND'
          ? '@tensorflow/tfjs-node is not installed (optional; it needs internet at install time).'
          : `The ${name} backend failed: ${(e as Error).message.split('\n')[0]}`,
      );
    }
  }
  throw new Error(`No TensorFlow.js backend could start: ${notes.join(' ')}`);
}

/**
 * What the WebAssembly backend cannot differentiate in `graph` (one phrase per op kind), with
 * the gradients of wasm-gradients.ts registered: depthwise convolutions (no gradient kernels on
 * wasm at all). Empty when wasm can train it. (Dilated convolutions have no gradient in TF.js on
 * any backend.)
 */
export function wasmTrainingGaps(graph: Graph): string[] {
  const gaps = new Set<string>();
  for (const op of graph.ops) if (op.type === 'DEPTHWISE_CONV_2D') gaps.add('DEPTHWISE_CONV_2D (no gradient kernels on wasm)');
  return [...gaps];
}

/**
 * The backend for training: as `initTfjsBackend`, but with TF.js's gradients and optimizers
 * loaded (the full '@tensorflow/tfjs' registers them; tfjs-core alone does not), the WebAssembly
 * training kernels registered when wasm trains, and 'cpu' instead of wasm when `wasmGaps` names
 * something wasm cannot differentiate (said in the notes). `prefer` switches to that backend.
 */
export async function initTrainingBackend(prefer?: TfjsBackendName, wasmGaps: readonly string[] = []): Promise<TfjsBackendChoice> {
  const tf = await import('@tensorflow/tfjs');
  const base = await initTfjsBackend();
  const notes = [...base.notes];
  let want: TfjsBackendName = prefer ?? base.backend;
  if (want === 'wasm' && wasmGaps.length > 0) {
    notes.push(`The wasm backend cannot train this model's ${wasmGaps.join(' and ')}; training runs on cpu.`);
    want = 'cpu';
  }
  if (want !== tf.getBackend()) {
    try {
      if (want === 'wasm') await import('@tensorflow/tfjs-backend-wasm');
      if (want === 'tensorflow') {
        const optional = '@tensorflow/tfjs-node';
        await import(/* @vite-ignore */ optional);
      }
      if (!(await tf.setBackend(want))) throw new Error('it did not initialise');
      await tf.ready();
    } catch (e) {
      notes.push(`The ${want} backend could not be used (${(e as Error).message.split('\n')[0]}); training runs on ${tf.getBackend()}.`);
    }
  }
  const backend = tf.getBackend() as TfjsBackendName;
  if (backend === 'wasm') {
    const { registerWasmTraining } = await import('./wasm-gradients');
    registerWasmTraining();
  }
  return { backend, notes };
}
