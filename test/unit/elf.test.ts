import { describe, expect, it } from 'vitest';
import { readElfInfo } from '../../src/images/elf.ts';

/** A 64-bit little-endian x86-64 ELF header followed by program headers of the given types. */
function elf(programHeaderTypes: number[]): Buffer {
  const phoff = 64;
  const phentsize = 56;
  const buffer = Buffer.alloc(phoff + phentsize * programHeaderTypes.length);
  buffer.writeUInt32BE(0x7f454c46, 0);
  buffer[4] = 2;
  buffer[5] = 1;
  buffer.writeUInt16LE(0x3e, 0x12);
  buffer.writeBigUInt64LE(BigInt(phoff), 0x20);
  buffer.writeUInt16LE(phentsize, 0x36);
  buffer.writeUInt16LE(programHeaderTypes.length, 0x38);
  programHeaderTypes.forEach((type, i) => buffer.writeUInt32LE(type, phoff + i * phentsize));
  return buffer;
}

describe('readElfInfo', () => {
  it('calls a program with a PT_INTERP header dynamic', () => {
    expect(readElfInfo(elf([6, 3, 1]))).toEqual({ isElf: true, dynamic: true, machine: 0x3e });
  });

  it('calls a program without PT_INTERP static', () => {
    expect(readElfInfo(elf([1, 1, 4]))).toEqual({ isElf: true, dynamic: false, machine: 0x3e });
  });

  it('says a script or a 32-bit ELF is not (64-bit) ELF', () => {
    expect(readElfInfo(Buffer.from('#!/bin/sh\necho hi\n'.padEnd(80, ' '))).isElf).toBe(false);
    const elf32 = elf([3]);
    elf32[4] = 1;
    expect(readElfInfo(elf32).isElf).toBe(false);
  });
});
