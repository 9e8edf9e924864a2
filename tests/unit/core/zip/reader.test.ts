import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ArchiveError } from '../../../../src/core/errors';
import { crc32, looksLikeZip, ZipArchive } from '../../../../src/core/zip/reader';
import { seeded, zipArchive } from '../formats/keras/fixtures';

const enc = new TextEncoder();
const text = (b: Uint8Array): string => new TextDecoder().decode(b);

describe('zip reader', () => {
  const big = new Uint8Array(seeded(5000, 7).buffer); // 20,000 bytes of noise
  const archive = zipArchive(
    [
      { name: 'config.json', data: enc.encode('{"a": 1}') },
      { name: 'model.weights.h5', data: big, method: 8 },
      { name: 'empty.txt', data: new Uint8Array(0) },
    ],
    'a trailing comment',
  );

  it('lists the central directory and reads stored and deflated entries', () => {
    expect(looksLikeZip(archive)).toBe(true);
    const zip = ZipArchive.open(archive, 'm.keras');
    expect([...zip.entries.keys()]).toEqual(['config.json', 'model.weights.h5', 'empty.txt']);
    expect(zip.entries.get('model.weights.h5')?.method).toBe(8);
    expect(text(zip.read('config.json'))).toBe('{"a": 1}');
    expect(Array.from(zip.read('model.weights.h5'))).toEqual(Array.from(big));
    expect(zip.read('empty.txt').length).toBe(0);
  });

  it('computes the standard CRC-32', () => {
    expect(crc32(enc.encode('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
  });

  it('names a missing entry and lists what is there', () => {
    const zip = ZipArchive.open(archive, 'm.keras');
    expect(() => zip.read('nope.json')).toThrow("m.keras has no zip entry 'nope.json' (it holds 'config.json', 'model.weights.h5', 'empty.txt').");
  });

  it('refuses files that are not zips or are cut short, with a sentence', () => {
    expect(() => ZipArchive.open(enc.encode('hello'), 'a.keras')).toThrow('a.keras is not a readable zip archive: it is only 5 bytes long.');
    expect(() => ZipArchive.open(new Uint8Array(100), 'b.keras')).toThrow(/b\.keras is not a readable zip archive: no end-of-central-directory record was found/);
    // Cut in the middle: the end record is gone.
    expect(() => ZipArchive.open(archive.subarray(0, archive.length - 200), 'c.keras')).toThrow(ArchiveError);
    // Cut off the front: the directory points past the end of what is left... or the data is.
    const front = archive.subarray(5000);
    expect(() => ZipArchive.open(front, 'd.keras').read('model.weights.h5')).toThrow(ArchiveError);
  });

  it('detects corrupted data through the CRC', () => {
    const bad = zipArchive([{ name: 'x.bin', data: enc.encode('payload'), crc: 0x12345678 }]);
    expect(() => ZipArchive.open(bad, 'e.keras').read('x.bin')).toThrow(/e\.keras: zip entry 'x\.bin' cannot be read: its CRC-32 is 0x[0-9a-f]{8} but the directory says 0x12345678 \(the file is corrupted\)\./);
    const flipped = archive.slice();
    const start = 30 + 'config.json'.length + 8 + 30 + 'model.weights.h5'.length + 10; // inside the deflate stream
    flipped[start] ^= 0xff;
    expect(() => ZipArchive.open(flipped, 'f.keras').read('model.weights.h5')).toThrow(ArchiveError);
  });

  it('refuses encryption and unknown compression methods', () => {
    const encrypted = zipArchive([{ name: 'x', data: enc.encode('x'), flags: 1 }]);
    expect(() => ZipArchive.open(encrypted, 'g.keras').read('x')).toThrow("g.keras: zip entry 'x' cannot be read: it is encrypted.");
    const bzip = zipArchive([{ name: 'y', data: enc.encode('y'), method: 12 }]);
    expect(() => ZipArchive.open(bzip, 'h.keras').read('y')).toThrow(
      "h.keras: zip entry 'y' cannot be read: it uses compression method 12; only stored (0) and deflate (8) are supported.",
    );
  });

  it('survives random corruption: every failure is a ModelFormatError', () => {
    const noise = seeded(400, 11);
    for (let i = 0; i < 200; i++) {
      const bad = archive.slice();
      const n = 1 + Math.floor((noise[i] + 0.5) * 8);
      for (let k = 0; k < n; k++) {
        const pos = Math.floor((noise[(i * 7 + k) % 400] + 0.5) * bad.length);
        bad[pos] ^= 1 + ((i + k) % 255);
      }
      const cut = i % 3 === 0 ? bad.subarray(0, Math.floor((noise[i + 1] + 0.5) * bad.length)) : bad;
      try {
        const zip = ZipArchive.open(cut, 'fuzz.keras');
        for (const name of zip.entries.keys()) zip.read(name);
      } catch (e) {
        expect(e).toBeInstanceOf(ArchiveError);
      }
    }
  });

  const real = resolve(fileURLToPath(import.meta.url), '../../../../../../shared/keras-mnist/k3_func_cnn.keras');
  it.skipIf(!existsSync(real))('reads the real Keras 3.8 archive', () => {
    const zip = ZipArchive.open(new Uint8Array(readFileSync(real)), 'k3_func_cnn.keras');
    expect([...zip.entries.keys()]).toEqual(['metadata.json', 'config.json', 'model.weights.h5']);
    expect(JSON.parse(text(zip.read('metadata.json'))).keras_version).toBe('3.8.0');
    expect(zip.read('model.weights.h5').length).toBe(2733604);
  });
});
