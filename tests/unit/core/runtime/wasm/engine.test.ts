/**
 * The engine's plumbing: SIMD detection and backend choice, the generated module being current
 * with its sources, the heap (alignment, slack, growth, detached views), and the sentences for
 * specs it cannot run.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { UnsupportedError } from '../../../../../src/core/errors';
import { createInt8Engine, engineModule, hasWasmSimd128 } from '../../../../../src/core/runtime/wasm/engine';
import { ENGINE_WASM_BASE64, ENGINE_WASM_BYTES, ENGINE_WASM_SOURCES_SHA256 } from '../../../../../src/core/runtime/wasm/generated/engine-wasm';
import type { GemmSpec } from '../../../../../src/core/runtime/wasm/spec';
import { wasmApi } from '../../../../../src/core/runtime/wasm/wasm-api';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../..');

function spec(overrides: Partial<GemmSpec> = {}): GemmSpec {
  return {
    weights: new Int8Array(6).fill(1), outputs: 2, depth: 3, bias: null, inputZeroPoint: 0,
    requant: { rounding: 'double-rounding', multiplier: [1 << 30], shift: [-1], outputZeroPoint: 0, outputMin: -128, outputMax: 127 },
    ...overrides,
  };
}

describe('int8 engine: loading', () => {
  it('Node has WebAssembly SIMD128, so auto picks the WASM backend', () => {
    expect(hasWasmSimd128()).toBe(true);
    expect(createInt8Engine().backend).toBe('wasm-simd128');
    expect(createInt8Engine({ backend: 'typescript' }).backend).toBe('typescript');
  });

  it('falls back to TypeScript where SIMD128 is missing, and says so when WASM is demanded', () => {
    const api = wasmApi()!;
    const validate = api.validate;
    api.validate = () => false; // a runtime that rejects SIMD code
    try {
      expect(hasWasmSimd128()).toBe(false);
      expect(createInt8Engine().backend).toBe('typescript');
      expect(() => createInt8Engine({ backend: 'wasm-simd128' })).toThrowError(/does not support WebAssembly SIMD128/);
    } finally {
      api.validate = validate;
    }
  });

  it('the embedded module validates, imports only its memory and exports the kernels', () => {
    const bytes = Uint8Array.from(atob(ENGINE_WASM_BASE64), (c) => c.charCodeAt(0));
    expect(bytes.length).toBe(ENGINE_WASM_BYTES);
    const WA = (globalThis as unknown as { WebAssembly: { Module: { imports(m: unknown): { module: string; name: string; kind: string }[]; exports(m: unknown): { name: string }[] } } }).WebAssembly;
    const m = engineModule();
    expect(WA.Module.imports(m)).toEqual([{ module: 'env', name: 'memory', kind: 'memory' }]);
    expect(WA.Module.exports(m).map((e) => e.name)).toEqual(expect.arrayContaining(['gemm_s8', 'dwconv_s8', 'im2col_s8', 'maxpool_s8', 'LAYOUT_VERSION']));
  });

  it('the generated module was built from the AssemblyScript sources as they are (else: node tools/build-wasm.mjs)', () => {
    // Same hash as tools/build-wasm.mjs; its --check also recompiles and compares the bytes (slow).
    const dir = path.join(ROOT, 'src/core/runtime/wasm/assembly');
    const hash = createHash('sha256');
    for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.ts')).sort()) hash.update(f).update('\0').update(fs.readFileSync(path.join(dir, f))).update('\0');
    expect(hash.digest('hex')).toBe(ENGINE_WASM_SOURCES_SHA256);
  });
});

describe('int8 engine: heap', () => {
  for (const backend of ['wasm-simd128', 'typescript'] as const) {
    it(`${backend}: 16-byte aligned blocks with slack, mark/release, growth detaches old views`, () => {
      const e = createInt8Engine({ backend, initialBytes: 65536 });
      const a = e.alloc(3);
      const b = e.alloc(10);
      expect(a % 16).toBe(0);
      expect(b % 16).toBe(0);
      expect(b - a).toBeGreaterThanOrEqual(3 + 16);
      const mark = e.mark();
      e.alloc(100);
      e.release(mark);
      expect(e.alloc(1)).toBe(roundUp16(mark));
      const view = e.allocInt8(8);
      const at = view.byteOffset;
      view.set([1, 2, 3, 4, 5, 6, 7, 8]);
      const gen = e.heapGeneration;
      e.alloc(200_000); // grows
      expect(e.heapGeneration).toBe(gen + 1);
      // the data survives in the new buffer
      expect([...e.int8View(at, 8)]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      if (backend === 'wasm-simd128') {
        expect(view.length).toBe(0); // detached by the growth
        const plan = e.prepareGemm(spec());
        const c = e.allocInt8(2);
        expect(() => e.gemm(plan, view, 1, 3, c, 2)).toThrowError(/detached: the engine's heap grew/);
        expect(() => e.gemm(plan, new Int8Array(3), 1, 3, c, 2)).toThrowError(/not a view of the int8 engine's heap/);
      }
    });
  }

  it('refuses a heap past its limit with a sentence', () => {
    const e = createInt8Engine({ maximumBytes: 1 << 20 });
    expect(() => e.alloc(2 << 20)).toThrowError(/heap would need \d+ bytes, more than its limit of 1048576/);
  });

  it('refuses plans of another engine', () => {
    const e1 = createInt8Engine();
    const e2 = createInt8Engine();
    const plan = e1.prepareGemm(spec());
    expect(() => e2.gemm(plan, e2.allocInt8(3), 1, 3, e2.allocInt8(2), 2)).toThrowError(/another int8 engine/);
  });
});

function roundUp16(v: number): number {
  return Math.ceil(v / 16) * 16;
}

describe('int8 engine: specs it cannot run are refused with a sentence', () => {
  const e = createInt8Engine();
  const bad: [string, Partial<GemmSpec>, RegExp][] = [
    ['weights of the wrong size', { weights: new Int8Array(5) }, /the weights hold 5 values; \[2, 3\] needs 6/],
    ['a shift outside [-31, 30]', { requant: { rounding: 'single-rounding', multiplier: [1 << 30], shift: [31], outputZeroPoint: 0, outputMin: -128, outputMax: 127 } }, /shift 31 of channel 0 is outside \[-31, 30\]/],
    ['a negative multiplier', { requant: { rounding: 'double-rounding', multiplier: [-5], shift: [0], outputZeroPoint: 0, outputMin: -128, outputMax: 127 } }, /multiplier -5 of channel 0 is outside \[0, 2\^31\)/],
    ['a NaN scale', { requant: { rounding: 'xnnpack', scale: [NaN], outputZeroPoint: 0, outputMin: -128, outputMax: 127 } }, /scale NaN of channel 0 is not a finite/],
    ['three multipliers for two channels', { requant: { rounding: 'double-rounding', multiplier: [1, 2, 3], shift: [0], outputZeroPoint: 0, outputMin: -128, outputMax: 127 } }, /3 multiplier values were given for 2 output channels/],
    ['an input zero point of 128', { inputZeroPoint: 128 }, /input zero point 128 is not an int8 value/],
    ['an empty output range', { requant: { rounding: 'xnnpack', scale: [1], outputZeroPoint: 0, outputMin: 5, outputMax: 4 } }, /output range \[5, 4\] is empty/],
    ['a bias of the wrong length', { bias: new Int32Array(3) }, /bias has 3 values for 2 output channels/],
  ];
  for (const [what, o, msg] of bad) {
    it(what, () => {
      expect(() => e.prepareGemm(spec(o), "Op 3 'fc'")).toThrowError(UnsupportedError);
      expect(() => e.prepareGemm(spec(o), "Op 3 'fc'")).toThrowError(msg);
      expect(() => e.prepareGemm(spec(o), "Op 3 'fc'")).toThrowError(/^Op 3 'fc': /);
    });
  }

  it('a convolution window that does not fit', () => {
    expect(() =>
      e.prepareDepthwiseConv2d({
        inH: 4, inW: 4, channels: 2, kernelH: 3, kernelW: 3, strideH: 1, strideW: 1, padTop: 0, padLeft: 0, outH: 5, outW: 4,
        weights: new Int8Array(18), inputZeroPoint: 0, requant: spec().requant,
      }),
    ).toThrowError(/an output of 5×4 does not fit an input of 4×4/);
  });
});
