/**
 * A flatbuffers ByteBuffer that refuses to read outside the file.
 *
 * The flatbuffers JavaScript runtime trusts the file: an offset pointing past the end reads
 * `undefined` bytes (silently 0), and typed-array views over bad offsets throw RangeError. Every
 * accessor of the generated code goes through the few primitive reads overridden here, so a
 * corrupt offset anywhere becomes one `CorruptFlatbufferError` that the reader turns into a
 * sentence for the user.
 */

import * as flatbuffers from 'flatbuffers';

/** Internal: thrown when the flatbuffer structure points outside the file or is malformed. */
export class CorruptFlatbufferError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CorruptFlatbufferError';
  }
}

export class CheckedByteBuffer extends flatbuffers.ByteBuffer {
  readonly sizeBytes: number;

  constructor(bytes: Uint8Array) {
    super(bytes);
    this.sizeBytes = bytes.length;
  }

  /** Throws unless `[offset, offset + length)` lies inside the file. */
  checkRange(offset: number, length: number): void {
    if (!(Number.isInteger(offset) && offset >= 0 && length >= 0 && offset + length <= this.sizeBytes)) {
      throw new CorruptFlatbufferError(
        `a ${length}-byte read at offset ${offset} falls outside the ${this.sizeBytes}-byte file`,
      );
    }
  }

  override readUint8(offset: number): number {
    this.checkRange(offset, 1);
    return super.readUint8(offset);
  }

  override readUint16(offset: number): number {
    this.checkRange(offset, 2);
    return super.readUint16(offset);
  }

  override readInt32(offset: number): number {
    this.checkRange(offset, 4);
    return super.readInt32(offset);
  }

  /** Field look-up with the vtable checked: sane vtable size, field inside its table. */
  override __offset(bbPos: number, vtableOffset: number): number {
    const vtable = bbPos - this.readInt32(bbPos);
    const vtableSize = this.readUint16(vtable);
    if (vtableSize < 4 || vtableSize % 2 !== 0) {
      throw new CorruptFlatbufferError(`the table at offset ${bbPos} has a malformed vtable (size ${vtableSize})`);
    }
    if (vtableOffset >= vtableSize) return 0;
    const field = this.readUint16(vtable + vtableOffset);
    if (field !== 0) {
      const objectSize = this.readUint16(vtable + 2);
      if (field >= objectSize) {
        throw new CorruptFlatbufferError(
          `the table at offset ${bbPos} places a field at byte ${field} of a ${objectSize}-byte table`,
        );
      }
    }
    return field;
  }

  override __string(offset: number, optEncoding?: flatbuffers.Encoding): string | Uint8Array {
    const start = offset + this.readInt32(offset);
    const length = this.readInt32(start);
    if (length < 0) throw new CorruptFlatbufferError(`the string at offset ${start} has negative length ${length}`);
    this.checkRange(start + 4, length);
    return super.__string(offset, optEncoding);
  }
}
