/**
 * Picks the TensorFlow.js backend for training: tfjs-node (native TensorFlow) when it is
 * installed, otherwise the WebAssembly backend, otherwise plain JavaScript (cpu). tfjs-node is
 * an optional dependency: its install downloads libtensorflow and fails on offline machines.
 */
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
