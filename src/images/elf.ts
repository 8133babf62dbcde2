/** Just enough ELF reading to tell a static executable from a dynamic one. Pure: reads a buffer handed to it. */

/** What the header of a file says about it. */
export interface ElfInfo {
  isElf: boolean;
  /** True when the program asks for an interpreter (ld.so), i.e. it is dynamically linked. */
  dynamic: boolean;
  /** `e_machine`: 0x3e is x86-64, 0xb7 is AArch64. */
  machine: number;
}

const PT_INTERP = 3;

/**
 * Reads the ELF header and program headers from the first bytes of a file (4096 bytes are plenty for an
 * executable). Only 64-bit little-endian ELF is understood; anything else is reported as not ELF.
 */
export function readElfInfo(head: Buffer): ElfInfo {
  const notElf: ElfInfo = { isElf: false, dynamic: false, machine: 0 };
  if (head.length < 64 || head.readUInt32BE(0) !== 0x7f454c46) return notElf;
  // EI_CLASS 2 = 64-bit, EI_DATA 1 = little-endian.
  if (head[4] !== 2 || head[5] !== 1) return notElf;
  const machine = head.readUInt16LE(0x12);
  const phoff = Number(head.readBigUInt64LE(0x20));
  const phentsize = head.readUInt16LE(0x36);
  const phnum = head.readUInt16LE(0x38);
  let dynamic = false;
  for (let i = 0; i < phnum; i++) {
    const offset = phoff + i * phentsize;
    if (offset + 4 > head.length) break;
    if (head.readUInt32LE(offset) === PT_INTERP) dynamic = true;
  }
  return { isElf: true, dynamic, machine };
}
