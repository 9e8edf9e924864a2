/**
 * .npy / .npz against files written by real NumPy (2.4; base64 below, made with np.save,
 * np.lib.format.write_array(version=…), np.savez and np.savez_compressed), and against a live
 * NumPy when python3 with numpy is on the machine (skipped otherwise).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { NpyFormatError, readNpy, readNpz, writeNpy, writeNpz } from '../../../../src/core/data/npy';

const NUMPY: Record<string, string> = {
  // np.save(f, (np.arange(6, dtype='<f4').reshape(2, 3) / 4))
  f4_v1: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPGY0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDMpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAAACAPgAAAD8AAEA/AACAPwAAoD8=',
  // the same array as '>f4', format 2.0
  f4_be_v2: 'k05VTVBZAgB0AAAAeydkZXNjcic6ICc+ZjQnLCAnZm9ydHJhbl9vcmRlcic6IEZhbHNlLCAnc2hhcGUnOiAoMiwgMyksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAPoAAAD8AAAA/QAAAP4AAAD+gAAA=',
  // [[-1, 2**40]] as '<i8', format 3.0
  i64_v3: 'k05VTVBZAwB0AAAAeydkZXNjcic6ICc8aTgnLCAnZm9ydHJhbl9vcmRlcic6IEZhbHNlLCAnc2hhcGUnOiAoMSwgMiksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAr//////////wAAAAAAAQAA',
  // [1.5, 0.1, 1e300] float64
  f8: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPGY4JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDMsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAAAD4P5qZmZmZmbk/nHUAiDzkN34=',
  // np.array(7, dtype=np.uint8): a scalar
  u8_scalar: 'k05VTVBZAQB2AHsnZGVzY3InOiAnfHUxJywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKCksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoH',
  // [1, -2, 300] as '>i2'
  i2_be: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPmkyJywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDMsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAf/+ASw=',
  // np.asfortranarray(np.arange(6, dtype='<i4').reshape(2, 3))
  fortran: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPGk0JywgJ2ZvcnRyYW5fb3JkZXInOiBUcnVlLCAnc2hhcGUnOiAoMiwgMyksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAAwAAAAEAAAAEAAAAAgAAAAUAAAA=',
  // [True, False]
  bool: 'k05VTVBZAQB2AHsnZGVzY3InOiAnfGIxJywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoBAA==',
  // [1.0, -2.5] float16
  f2: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPGYyJywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAPADB',
  // np.zeros((0, 3), dtype='<f4')
  empty: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPGY0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDAsIDMpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAo=',
  // [-128, 127, 0] int8
  i1: 'k05VTVBZAQB2AHsnZGVzY3InOiAnfGkxJywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDMsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAqAfwA=',
  // np.savez(f, x=np.array([1, 2, 3], dtype='<i4'), y=np.ones((2, 2), dtype='<f4')) (ZIP64 local headers)
  npz: 'UEsDBC0AAAAAAAAAIQDrwCsE//////////8FABQAeC5ucHkBABAAjAAAAAAAAACMAAAAAAAAAJNOVU1QWQEAdgB7J2Rlc2NyJzogJzxpNCcsICdmb3J0cmFuX29yZGVyJzogRmFsc2UsICdzaGFwZSc6ICgzLCksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAKAQAAAAIAAAADAAAAUEsDBC0AAAAAAAAAIQBM++8W//////////8FABQAeS5ucHkBABAAkAAAAAAAAACQAAAAAAAAAJNOVU1QWQEAdgB7J2Rlc2NyJzogJzxmNCcsICdmb3J0cmFuX29yZGVyJzogRmFsc2UsICdzaGFwZSc6ICgyLCAyKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAKAACAPwAAgD8AAIA/AACAP1BLAQItAy0AAAAAAAAAIQDrwCsEjAAAAIwAAAAFAAAAAAAAAAAAAACAAQAAAAB4Lm5weVBLAQItAy0AAAAAAAAAIQBM++8WkAAAAJAAAAAFAAAAAAAAAAAAAACAAcMAAAB5Lm5weVBLBQYAAAAAAgACAGYAAACKAQAAAAA=',
  // the same with np.savez_compressed
  npzCompressed:
    'UEsDBC0AAAAIAAAAIQDrwCsE//////////8FABQAeC5ucHkBABAAjAAAAAAAAABNAAAAAAAAAJvsF+obEMnIUMZQrZ6SWpxcpG6loG6TaaKuo6Cell9UUpSYF59flJIKEndLzClOBYoXZyQWpAL5GsY6mjoKtQoUAC5GBgYGJiBmBmIAUEsDBC0AAAAIAAAAIQBM++8W//////////8FABQAeS5ucHkBABAAkAAAAAAAAABMAAAAAAAAAJvsF+obEMnIUMZQrZ6SWpxcpG6loG6TZqKuo6Cell9UUpSYF59flJIKEndLzClOBYoXZyQWpAL5GkY6CkaaOgq1CmQDLgaGBntkDABQSwECLQMtAAAACAAAACEA68ArBE0AAACMAAAABQAAAAAAAAAAAAAAgAEAAAAAeC5ucHlQSwECLQMtAAAACAAAACEATPvvFkwAAACQAAAABQAAAAAAAAAAAAAAgAGEAAAAeS5ucHlQSwUGAAAAAAIAAgBmAAAABwEAAAAA',
};

const bytesOf = (name: string) => new Uint8Array(Buffer.from(NUMPY[name], 'base64'));
const latin1 = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

/** A hand-made v1.0 file: header text padded to 64 bytes, then the data. */
function npyFile(header: string, data: Uint8Array = new Uint8Array(0), major = 1): Uint8Array {
  const prefix = major === 1 ? 10 : 12;
  const total = Math.ceil((prefix + header.length + 1) / 64) * 64;
  const h = header + ' '.repeat(total - prefix - header.length - 1) + '\n';
  const out = new Uint8Array(total + data.length);
  out.set(latin1('\x93NUMPY'), 0);
  out[6] = major;
  const dv = new DataView(out.buffer);
  if (major === 1) dv.setUint16(8, h.length, true);
  else dv.setUint32(8, h.length, true);
  out.set(latin1(h), prefix);
  out.set(data, total);
  return out;
}

const formatShapeForTest = (s: number[]) => `[${s.join(',')}]`;

function errorOf(f: () => unknown): NpyFormatError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(NpyFormatError);
    expect((e as NpyFormatError).code).toBe('bad-input');
    return e as NpyFormatError;
  }
  throw new Error('expected an error');
}

describe('readNpy: files written by NumPy', () => {
  it('float32 (1.0), the same values big-endian (2.0)', () => {
    for (const name of ['f4_v1', 'f4_be_v2']) {
      const a = readNpy(bytesOf(name), `${name}.npy`);
      expect(a.dtype).toBe('float32');
      expect(a.shape).toEqual([2, 3]);
      expect(Array.from(a.data as Float32Array)).toEqual([0, 0.25, 0.5, 0.75, 1, 1.25]);
      expect(a.notes).toEqual([]);
    }
    expect(readNpy(bytesOf('f4_be_v2'), 'x.npy')).toMatchObject({ version: '2.0', descr: '>f4' });
  });

  it('int64 (3.0), big-endian int16, int8, uint8 scalar, bool, float16, an empty array', () => {
    const i64 = readNpy(bytesOf('i64_v3'), 'a.npy');
    expect(i64).toMatchObject({ dtype: 'int64', shape: [1, 2], version: '3.0' });
    expect(Array.from(i64.data as BigInt64Array)).toEqual([-1n, 2n ** 40n]);
    const i2 = readNpy(bytesOf('i2_be'), 'b.npy');
    expect(i2.data).toBeInstanceOf(Int16Array);
    expect(Array.from(i2.data as Int16Array)).toEqual([1, -2, 300]);
    expect(Array.from(readNpy(bytesOf('i1'), 'c.npy').data as Int8Array)).toEqual([-128, 127, 0]);
    const s = readNpy(bytesOf('u8_scalar'), 'd.npy');
    expect(s).toMatchObject({ dtype: 'uint8', shape: [] });
    expect(Array.from(s.data as Uint8Array)).toEqual([7]);
    expect(readNpy(bytesOf('bool'), 'e.npy')).toMatchObject({ dtype: 'bool', shape: [2] });
    const h = readNpy(bytesOf('f2'), 'f.npy');
    expect(h.dtype).toBe('float16');
    expect(Array.from(h.data as Uint16Array)).toEqual([0x3c00, 0xc100]); // 1.0, −2.5 as half bits
    const e = readNpy(bytesOf('empty'), 'g.npy');
    expect(e.shape).toEqual([0, 3]);
    expect(e.data.length).toBe(0);
  });

  it('float64 becomes float32 with a note saying how many values rounded or overflowed', () => {
    const a = readNpy(bytesOf('f8'), 'x64.npy');
    expect(a.dtype).toBe('float32');
    expect(a.data).toBeInstanceOf(Float32Array);
    expect(Array.from(a.data as Float32Array)).toEqual([1.5, Math.fround(0.1), Infinity]);
    expect(a.notes).toEqual(['x64.npy holds float64 values; they were converted to float32 (2 of 3 rounded, 1 beyond the float32 range became ±Infinity).']);
    const exact = readNpy(npyFile("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", new Uint8Array(new Float64Array([0.5]).buffer)), 'e.npy');
    expect(exact.notes).toEqual(['e.npy holds float64 values; they were converted to float32 exactly.']);
  });

  it('Fortran order is refused with a sentence, unless the layout is the same as C order', () => {
    expect(errorOf(() => readNpy(bytesOf('fortran'), 'f.npy')).message).toBe(
      'f.npy stores its [2,3] array in Fortran (column-major) order; QuantLab reads C order only. Save it with np.save(path, np.ascontiguousarray(a)).',
    );
    const oneD = readNpy(npyFile("{'descr': '<i4', 'fortran_order': True, 'shape': (1, 3, 1), }", new Uint8Array(new Int32Array([4, 5, 6]).buffer)), 'v.npy');
    expect(Array.from(oneD.data as Int32Array)).toEqual([4, 5, 6]);
  });

  it('header dialects: double quotes, no trailing comma, Python 2 longs, any key order', () => {
    const data = new Uint8Array(new Float32Array([1, 2]).buffer);
    for (const header of [
      '{"descr": "<f4", "fortran_order": False, "shape": (2,)}',
      "{'shape': (2L,), 'fortran_order': False, 'descr': '<f4'}",
      "{'descr':'<f4','fortran_order':False,'shape':[2]}",
    ]) {
      expect(Array.from(readNpy(npyFile(header, data), 'h.npy').data as Float32Array), header).toEqual([1, 2]);
    }
  });
});

describe('readNpy: damaged and unsupported files, each a sentence naming the file and value', () => {
  const good = bytesOf('f4_v1');
  const cases: [string, Uint8Array, string][] = [
    ['truncated data', good.subarray(0, good.length - 3), 'in.npy is truncated: its header declares a [2,3] float32 array (24 bytes of data) but only 21 bytes follow the header.'],
    ['truncated header', good.subarray(0, 40), 'in.npy is not a readable .npy file: its header claims 118 bytes but the file ends after 30 (truncated).'],
    ['only the magic', good.subarray(0, 6), 'in.npy is not a readable .npy file: it is only 6 bytes long (truncated).'],
    ['empty file', new Uint8Array(0), 'in.npy is not a readable .npy file: it is only 0 bytes long (truncated).'],
    ['trailing bytes', Uint8Array.from([...good, 0, 0, 0, 0]), 'in.npy has 4 bytes after the data of its [2,3] float32 array; the file is damaged or not one array.'],
    ['not npy', latin1('PK\x03\x04 this is a zip file'), 'in.npy is not a readable .npy file: it does not start with the NumPy magic bytes \\x93NUMPY.'],
    ['version 4', Uint8Array.from(good, (b, k) => (k === 6 ? 4 : b)), 'in.npy is not a readable .npy file: it declares format version 4.0; QuantLab reads versions 1.0, 2.0 and 3.0.'],
    ['complex', npyFile("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", new Uint8Array(8)), "in.npy holds elements of type '<c8', which QuantLab does not read (it reads float32, float64, float16, int8, uint8, int16, int32, int64 and bool)."],
    ['objects', npyFile("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", new Uint8Array(8)), "in.npy holds elements of type '|O', which QuantLab does not read (it reads float32, float64, float16, int8, uint8, int16, int32, int64 and bool)."],
    ['uint16', npyFile("{'descr': '<u2', 'fortran_order': False, 'shape': (1,), }", new Uint8Array(2)), "in.npy holds elements of type '<u2', which QuantLab does not read (it reads float32, float64, float16, int8, uint8, int16, int32, int64 and bool)."],
    ['structured', npyFile("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", new Uint8Array(4)), "in.npy holds a structured array (descr (('a', '<f4'),)); QuantLab reads plain numeric arrays only."],
    ['no byte order', npyFile("{'descr': '|f4', 'fortran_order': False, 'shape': (1,), }", new Uint8Array(4)), "in.npy has element type '|f4', which does not say its byte order."],
    ['negative dim', npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (-1, 3), }"), 'in.npy is not a readable .npy file: its shape (-1, 3) is not a tuple of non-negative integers.'],
    ['huge shape', npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (100000, 100000, 100000), }"), 'in.npy is not a readable .npy file: its shape [100000,100000,100000] has 1000000000000000 elements, more than QuantLab reads (2147483647).'],
    ['no shape', npyFile("{'descr': '<f4', 'fortran_order': False}"), "in.npy is not a readable .npy file: its header has no 'shape' entry."],
    ['garbage header', npyFile("{'descr': '<f4', 'fortran_order': Maybe, 'shape': (1,)}", new Uint8Array(4)), "in.npy is not a readable .npy file: its header is not a Python dict literal (expected a value at character 34 ('Maybe, 'shap'))."],
    ['not a dict', npyFile('(1, 2)'), 'in.npy is not a readable .npy file: its header is (1, 2), not a dict.'],
    ['bad fortran flag', npyFile("{'descr': '<f4', 'fortran_order': 1, 'shape': (1,), }", new Uint8Array(4)), 'in.npy is not a readable .npy file: its fortran_order is 1, not True or False.'],
    ['bool not 0/1', npyFile("{'descr': '|b1', 'fortran_order': False, 'shape': (2,), }", Uint8Array.from([1, 7])), 'in.npy is not a readable .npy file: element 1 of its bool array is 7, not 0 or 1.'],
    ['deep nesting', npyFile('{' + "'a': ".concat('('.repeat(20), ')'.repeat(20)) + '}'), "in.npy is not a readable .npy file: its header is not a Python dict literal (expected less nesting at character 13 ('(((((((((((('))."],
  ];
  for (const [what, bytes, message] of cases) {
    it(what, () => expect(errorOf(() => readNpy(bytes, 'in.npy')).message).toBe(message));
  }

  it('a header length field that points past the end (format 2.0, 4 GiB)', () => {
    const b = good.slice();
    b[6] = 2;
    new DataView(b.buffer).setUint32(8, 0xffffffff, true);
    expect(errorOf(() => readNpy(b, 'big.npy')).message).toMatch(/^big\.npy is not a readable \.npy file: its header claims 4294967295 bytes but the file ends after \d+ \(truncated\)\.$/);
  });

  it('every prefix of a valid file is refused, never misread', () => {
    for (let n = 0; n < good.length; n++) expect(() => readNpy(good.subarray(0, n), 'p.npy')).toThrow(NpyFormatError);
  });
});

describe('writeNpy', () => {
  it('writes byte for byte what np.save writes', () => {
    for (const name of ['f4_v1', 'u8_scalar', 'bool', 'f2', 'empty', 'i1']) {
      const a = readNpy(bytesOf(name), `${name}.npy`);
      expect(Buffer.from(writeNpy(a)).toString('base64'), name).toBe(NUMPY[name]);
    }
  });

  it('round-trips every dtype; big-endian and newer-version files come back little-endian 1.0', () => {
    const arrays = [
      { dtype: 'float32' as const, shape: [2, 2], data: new Float32Array([1, -2, 3.5, NaN]) },
      { dtype: 'int16' as const, shape: [3], data: new Int16Array([-32768, 0, 32767]) },
      { dtype: 'int32' as const, shape: [1, 1, 2], data: new Int32Array([-5, 2 ** 31 - 1]) },
      { dtype: 'int64' as const, shape: [2], data: new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n]) },
      { dtype: 'uint8' as const, shape: [2], data: new Uint8Array([0, 255]) },
    ];
    for (const a of arrays) {
      const back = readNpy(writeNpy(a), 'rt.npy');
      expect(back.dtype).toBe(a.dtype);
      expect(back.shape).toEqual(a.shape);
      expect(Array.from(back.data as ArrayLike<number>)).toEqual(Array.from(a.data as ArrayLike<number>));
    }
    for (const name of ['f4_be_v2', 'i64_v3', 'i2_be']) {
      const bytes = writeNpy(readNpy(bytesOf(name), 'x'));
      expect(bytes[6]).toBe(1);
      expect(readNpy(bytes, 'x').descr.startsWith('>')).toBe(false);
    }
  });

  it('the data starts at a multiple of 64 bytes, as NumPy aligns it', () => {
    for (const shape of [[2], [1, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]]) {
      const bytes = writeNpy({ dtype: 'uint8', shape, data: new Uint8Array(2) });
      expect(bytes.length % 64, formatShapeForTest(shape)).toBe(2);
      expect(readNpy(bytes, 'a.npy').shape).toEqual(shape);
    }
  });

  it('refuses shapes that do not fit the data', () => {
    expect(errorOf(() => writeNpy({ dtype: 'float32', shape: [2, 2], data: new Float32Array(3) })).message).toBe(
      'Cannot write a .npy array of shape [2,2] (4 elements) from 3 values.',
    );
    expect(errorOf(() => writeNpy({ dtype: 'float32', shape: [-1, 2], data: new Float32Array(2) })).message).toBe(
      'Cannot write a .npy array of shape [?,2]: every dimension must be known and non-negative.',
    );
  });
});

describe('.npz', () => {
  it('reads np.savez and np.savez_compressed archives (ZIP64 local headers, deflate)', () => {
    for (const name of ['npz', 'npzCompressed']) {
      const arrays = readNpz(bytesOf(name), `${name}.npz`);
      expect([...arrays.keys()]).toEqual(['x', 'y']);
      expect(Array.from(arrays.get('x')!.data as Int32Array)).toEqual([1, 2, 3]);
      expect(arrays.get('y')).toMatchObject({ dtype: 'float32', shape: [2, 2] });
    }
  });

  it('round-trips, and names the entry in errors', () => {
    const bytes = writeNpz(new Map([['logits', { dtype: 'float32', shape: [1, 3], data: new Float32Array([1, 2, 3]) }]]), { compress: true });
    expect(Array.from(readNpz(bytes, 'o.npz').get('logits')!.data as Float32Array)).toEqual([1, 2, 3]);
    expect(errorOf(() => readNpz(bytesOf('f4_v1'), 'n.npz')).message).toBe('n.npz is not a .npz file: it is not a zip archive.');
    expect(errorOf(() => readNpz(bytesOf('npz').subarray(0, 300), 't.npz')).message).toMatch(/^t\.npz/);
  });
});

const python = spawnSync('python3', ['-c', 'import numpy'], { encoding: 'utf8' });
describe.skipIf(python.status !== 0)('live NumPy (python3 + numpy on this machine)', () => {
  it('np.load reads what writeNpy writes, for every dtype', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-npy-'));
    const arrays = {
      f4: { dtype: 'float32' as const, shape: [2, 3], data: new Float32Array([0.5, -1, 2, 3, 4, 1e-30]) },
      i8: { dtype: 'int64' as const, shape: [2], data: new BigInt64Array([-3n, 2n ** 50n]) },
      u1: { dtype: 'uint8' as const, shape: [], data: new Uint8Array([9]) },
      f2: { dtype: 'float16' as const, shape: [1], data: new Uint16Array([0x3c00]) },
    };
    for (const [name, a] of Object.entries(arrays)) fs.writeFileSync(path.join(dir, `${name}.npy`), writeNpy(a));
    fs.writeFileSync(path.join(dir, 'z.npz'), writeNpz(Object.entries(arrays)));
    const script = `
import numpy as np, json, sys
d = sys.argv[1]
out = {}
for n in ['f4', 'i8', 'u1', 'f2']:
    a = np.load(f'{d}/{n}.npy')
    out[n] = [str(a.dtype), list(a.shape), [str(v) for v in a.ravel().tolist()]]
z = np.load(f'{d}/z.npz')
out['npz'] = sorted(z.files)
print(json.dumps(out))`;
    const r = spawnSync('python3', ['-c', script, dir], { encoding: 'utf8' });
    fs.rmSync(dir, { recursive: true, force: true });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({
      f4: ['float32', [2, 3], ['0.5', '-1.0', '2.0', '3.0', '4.0', String(Math.fround(1e-30))]],
      i8: ['int64', [2], ['-3', String(2 ** 50)]],
      u1: ['uint8', [], ['9']],
      f2: ['float16', [1], ['1.0']],
      npz: ['f2', 'f4', 'i8', 'u1'],
    });
  });
});
