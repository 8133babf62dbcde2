import { describe, expect, it } from 'vitest';
import { demuxLogs } from '../../src/docker/log-demux.ts';

function frame(stream: 1 | 2, text: string): Buffer {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

describe('demuxLogs', () => {
  it('splits interleaved frames into stdout and stderr in order', () => {
    const buffer = Buffer.concat([frame(1, 'a\n'), frame(2, 'oops\n'), frame(1, 'b\n')]);
    expect(demuxLogs(buffer)).toEqual({ stdout: 'a\nb\n', stderr: 'oops\n' });
  });

  it('returns raw text as stdout when the container had a TTY (no frame headers)', () => {
    expect(demuxLogs(Buffer.from('plain output\n'))).toEqual({ stdout: 'plain output\n', stderr: '' });
  });

  it('gives empty output for an empty buffer', () => {
    expect(demuxLogs(Buffer.alloc(0))).toEqual({ stdout: '', stderr: '' });
  });
});
