import { describe, expect, it } from 'vitest';
import { MissingLibraryError, parseLddOutput } from '../../src/images/ldd.ts';

const NODE_24_LDD = `\tlinux-vdso.so.1 (0x00007f29165b0000)
\tlibdl.so.2 => /lib/x86_64-linux-gnu/libdl.so.2 (0x00007f291659a000)
\tlibstdc++.so.6 => /lib/x86_64-linux-gnu/libstdc++.so.6 (0x00007f2916200000)
\tlibm.so.6 => /lib/x86_64-linux-gnu/libm.so.6 (0x00007f29164ba000)
\tlibgcc_s.so.1 => /lib/x86_64-linux-gnu/libgcc_s.so.1 (0x00007f291649a000)
\tlibpthread.so.0 => /lib/x86_64-linux-gnu/libpthread.so.0 (0x00007f2916495000)
\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f291601e000)
\t/lib64/ld-linux-x86-64.so.2 (0x00007f29165b2000)
`;

describe('parseLddOutput', () => {
  it('lists the libraries node needs and the program interpreter, without the vDSO', () => {
    const result = parseLddOutput(NODE_24_LDD);
    expect(result.libraries.map((library) => library.name)).toEqual([
      'libdl.so.2',
      'libstdc++.so.6',
      'libm.so.6',
      'libgcc_s.so.1',
      'libpthread.so.0',
      'libc.so.6',
    ]);
    expect(result.libraries[5]).toEqual({ name: 'libc.so.6', path: '/lib/x86_64-linux-gnu/libc.so.6' });
    expect(result.interpreter).toBe('/lib64/ld-linux-x86-64.so.2');
  });

  it('skips the old-style vDSO arrow to nothing', () => {
    expect(parseLddOutput('\tlinux-vdso.so.1 =>  (0x00007ffd)\n').libraries).toEqual([]);
  });

  it('throws MissingLibraryError naming every library that was not found', () => {
    const output = '\tlibfoo.so.1 => not found\n\tlibbar.so.2 => not found\n\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x1)\n';
    expect(() => parseLddOutput(output)).toThrow(MissingLibraryError);
    expect(() => parseLddOutput(output)).toThrow(/libfoo\.so\.1, libbar\.so\.2/);
  });

  it('gives nothing for a static binary', () => {
    expect(parseLddOutput('\tnot a dynamic executable\n')).toEqual({ libraries: [], interpreter: undefined });
    expect(parseLddOutput('\tstatically linked\n')).toEqual({ libraries: [], interpreter: undefined });
  });
});
