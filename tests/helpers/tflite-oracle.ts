/**
 * The real TFLite interpreter, as an oracle for tests.
 *
 * `@tensorflow/tfjs-tflite` ships TFLite compiled to WebAssembly with an embind API
 * (TFLiteWebModelRunner). It runs in plain Node: require the emscripten factory and hand it the
 * .wasm bytes. XNNPACK is always applied to the ops it supports; the profile says which nodes
 * ran where (an XNNPACK partition shows up as one 'TfLiteXNNPackDelegate' node). The profiler
 * may record nothing in this build: an empty profile means "unknown", not "nothing ran".
 *
 *   const oracle = await loadOracle();
 *   const { outputs, profile } = oracle.run(writeTflite(model), [input]);
 */

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { TensorData } from '../../src/core/ir/types';

export interface OracleProfileEntry {
  nodeType: string;
  nodeName: string;
}

export interface OracleRunResult {
  outputs: TensorData[];
  profile: OracleProfileEntry[];
}

export interface OracleTensorInfo {
  name: string;
  shape: number[];
  /** TFLite's name of the type: 'float32', 'int8', 'uint8', 'int16', 'int32', 'bool', … */
  dataType: string;
}

export interface TfliteOracle {
  /** Which wasm build is loaded: 'simd' (preferred) or 'plain'. */
  readonly build: 'simd' | 'plain';
  /**
   * Creates an interpreter for the model, copies `inputs` in (one typed array per model input,
   * in order, of the input's type), runs it once and copies the outputs out. Throws an Error
   * carrying TFLite's own message when the model is refused or inference fails.
   */
  run(modelBytes: Uint8Array, inputs: TensorData[], opts?: { numThreads?: number }): OracleRunResult;
  /** The model's inputs and outputs as the interpreter sees them. Throws like `run`. */
  describe(modelBytes: Uint8Array): { inputs: OracleTensorInfo[]; outputs: OracleTensorInfo[] };
}

// ---- the embind surface we use ---------------------------------------------------------------

interface Deletable {
  delete(): void;
}
interface WasmTensorInfo extends Deletable {
  id: number;
  name: string;
  shape: string;
  dataType: string;
  data(): TensorData | Uint32Array | Float64Array;
}
interface WasmVector<T> extends Deletable {
  size(): number;
  get(i: number): T;
}
interface WasmRunner extends Deletable {
  GetInputs(): WasmVector<WasmTensorInfo>;
  GetOutputs(): WasmVector<WasmTensorInfo>;
  Infer(): boolean;
  GetProfilingResults(): WasmVector<{ nodeType: string; nodeName: string; nodeExecMs: number }>;
}
interface WasmStatusOrRunner extends Deletable {
  ok(): boolean;
  errorMessage(): string;
  value(): WasmRunner;
}
interface WasmModule {
  HEAPU8: Uint8Array;
  _malloc(size: number): number;
  _free(ptr: number): void;
  TFLiteWebModelRunner: {
    CreateFromBufferAndOptions(
      ptr: number,
      length: number,
      options: { numThreads: number; enableProfiling: boolean; maxProfilingBufferEntries: number },
    ): WasmStatusOrRunner;
  };
}
type ModuleFactory = (overrides: {
  wasmBinary: Uint8Array;
  print?: (s: string) => void;
  printErr?: (s: string) => void;
}) => Promise<WasmModule>;

// ---- loading ---------------------------------------------------------------------------------

let cached: Promise<TfliteOracle> | undefined;

/** Loads the interpreter once per process (SIMD build when it loads, else the plain one). */
export function loadOracle(): Promise<TfliteOracle> {
  cached ??= load();
  return cached;
}

async function load(): Promise<TfliteOracle> {
  const require = createRequire(import.meta.url);
  const wasmDir = join(dirname(require.resolve('@tensorflow/tfjs-tflite/package.json')), 'wasm');
  const failures: string[] = [];
  for (const [build, file] of [
    ['simd', 'tflite_web_api_cc_simd'],
    ['plain', 'tflite_web_api_cc'],
  ] as const) {
    try {
      const factory = require(join(wasmDir, `${file}.js`)) as ModuleFactory;
      const log: string[] = [];
      const mod = await factory({
        wasmBinary: readFileSync(join(wasmDir, `${file}.wasm`)),
        print: (s) => log.push(s),
        printErr: (s) => log.push(s),
      });
      return new Oracle(build, mod, log);
    } catch (e) {
      failures.push(`${file}: ${String(e)}`);
    }
  }
  throw new Error(`Could not load the TFLite wasm interpreter: ${failures.join('; ')}`);
}

// ---- running ---------------------------------------------------------------------------------

function parseShape(shape: string): number[] {
  return shape === '' ? [] : shape.split(',').map(Number);
}

function sameKind(a: unknown, b: unknown): boolean {
  return Object.getPrototypeOf(a) === Object.getPrototypeOf(b);
}

class Oracle implements TfliteOracle {
  constructor(
    readonly build: 'simd' | 'plain',
    private readonly mod: WasmModule,
    /** Everything the wasm module prints; cleared per run, quoted in errors. */
    private readonly log: string[],
  ) {}

  private messages(): string {
    return this.log.filter((l) => !l.startsWith('INFO:')).join(' ').trim();
  }

  /** Creates a runner, passes it to `use`, and frees the runner and model copy whatever happens. */
  private withRunner<T>(modelBytes: Uint8Array, numThreads: number, use: (runner: WasmRunner) => T): T {
    const mod = this.mod;
    this.log.length = 0;
    // The interpreter keeps pointing into this copy of the model: free it only after the runner.
    const ptr = mod._malloc(Math.max(1, modelBytes.length));
    if (!ptr) throw new Error(`TFLite oracle: could not allocate ${modelBytes.length} bytes for the model.`);
    let status: WasmStatusOrRunner | undefined;
    let runner: WasmRunner | undefined;
    try {
      mod.HEAPU8.set(modelBytes, ptr);
      status = mod.TFLiteWebModelRunner.CreateFromBufferAndOptions(ptr, modelBytes.length, {
        numThreads,
        enableProfiling: true,
        maxProfilingBufferEntries: 1024,
      });
      if (!status.ok()) {
        const details = this.messages();
        throw new Error(`TFLite refused the model: ${status.errorMessage()}${details ? ` (${details})` : ''}`);
      }
      runner = status.value();
      return use(runner);
    } finally {
      runner?.delete();
      status?.delete();
      mod._free(ptr);
    }
  }

  private infos(vector: WasmVector<WasmTensorInfo>): OracleTensorInfo[] {
    const out: OracleTensorInfo[] = [];
    try {
      for (let i = 0; i < vector.size(); i++) {
        const t = vector.get(i);
        out.push({ name: t.name, shape: parseShape(t.shape), dataType: t.dataType });
        t.delete();
      }
    } finally {
      vector.delete();
    }
    return out;
  }

  describe(modelBytes: Uint8Array): { inputs: OracleTensorInfo[]; outputs: OracleTensorInfo[] } {
    return this.withRunner(modelBytes, 1, (runner) => ({
      inputs: this.infos(runner.GetInputs()),
      outputs: this.infos(runner.GetOutputs()),
    }));
  }

  run(modelBytes: Uint8Array, inputs: TensorData[], opts: { numThreads?: number } = {}): OracleRunResult {
    return this.withRunner(modelBytes, opts.numThreads ?? 1, (runner) => {
      const inVec = runner.GetInputs();
      try {
        if (inVec.size() !== inputs.length) {
          throw new Error(`TFLite oracle: the model has ${inVec.size()} inputs but ${inputs.length} were given.`);
        }
        for (let i = 0; i < inputs.length; i++) {
          const info = inVec.get(i);
          try {
            const view = info.data();
            const given = inputs[i];
            if (!sameKind(view, given) || view.length !== given.length) {
              throw new Error(
                `TFLite oracle: input ${i} ('${info.name}') is ${info.dataType} [${info.shape}] (${view.length} values) but a ${given.constructor.name} of ${given.length} values was given.`,
              );
            }
            (view as { set(a: ArrayLike<number | bigint>): void }).set(given);
          } finally {
            info.delete();
          }
        }
      } finally {
        inVec.delete();
      }

      if (!runner.Infer()) {
        throw new Error(`TFLite inference failed${this.messages() ? `: ${this.messages()}` : '.'}`);
      }

      const outputs: TensorData[] = [];
      const outVec = runner.GetOutputs();
      try {
        for (let i = 0; i < outVec.size(); i++) {
          const info = outVec.get(i);
          try {
            const view = info.data();
            if (view instanceof Uint32Array || view instanceof Float64Array) {
              throw new Error(`TFLite oracle: output ${i} ('${info.name}') has type ${info.dataType}, which the IR has no dtype for.`);
            }
            // Copy: the view points into the wasm heap, which the next allocation may move.
            outputs.push(view.slice());
          } finally {
            info.delete();
          }
        }
      } finally {
        outVec.delete();
      }

      const profile: OracleProfileEntry[] = [];
      const prof = runner.GetProfilingResults();
      try {
        for (let i = 0; i < prof.size(); i++) {
          const p = prof.get(i);
          profile.push({ nodeType: p.nodeType, nodeName: p.nodeName });
        }
      } finally {
        prof.delete();
      }
      return { outputs, profile };
    });
  }
}
