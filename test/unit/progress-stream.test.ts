import { describe, expect, it } from 'vitest';
import { interpretProgress, JsonLinesDecoder, outputLines } from '../../src/docker/progress-stream.ts';

describe('JsonLinesDecoder', () => {
  it('decodes objects split across chunks and several in one chunk', () => {
    const decoder = new JsonLinesDecoder();
    expect(decoder.push('{"stream":"Step 1/2 : FROM scr')).toEqual([]);
    expect(decoder.push('atch\\n"}\r\n{"stream":" ---> abc\\n"}\r\n{"aux":')).toEqual([
      { stream: 'Step 1/2 : FROM scratch\n' },
      { stream: ' ---> abc\n' },
    ]);
    expect(decoder.push('{"ID":"sha256:1"}}')).toEqual([]);
    expect(decoder.end()).toEqual([{ aux: { ID: 'sha256:1' } }]);
  });

  it('passes a line that is not JSON through as text', () => {
    expect(new JsonLinesDecoder().push('plain text\n')).toEqual(['plain text']);
  });
});

describe('interpretProgress', () => {
  it('turns error/errorDetail into an error event', () => {
    const message = { errorDetail: { code: 3, message: "The command '/bin/sh -c exit 3' returned a non-zero code: 3" }, error: "The command '/bin/sh -c exit 3' returned a non-zero code: 3" };
    expect(interpretProgress(message)).toEqual([{ kind: 'error', message: "The command '/bin/sh -c exit 3' returned a non-zero code: 3" }]);
  });

  it('reads the built image ID from aux, and the imported one from a sha256 status', () => {
    expect(interpretProgress({ aux: { ID: 'sha256:abc' } })).toEqual([{ kind: 'image-id', id: 'sha256:abc' }]);
    const id = `sha256:${'a'.repeat(64)}`;
    expect(interpretProgress({ status: id })).toEqual([{ kind: 'image-id', id }]);
  });

  it('turns stream and status text into output', () => {
    expect(interpretProgress({ stream: 'hello\n' })).toEqual([{ kind: 'output', text: 'hello\n' }]);
    expect(interpretProgress({ status: 'Importing', progress: '[==>  ]' })).toEqual([{ kind: 'output', text: 'Importing [==>  ]' }]);
    expect(interpretProgress(null)).toEqual([]);
  });
});

describe('outputLines', () => {
  it("drops the legacy builder's colour codes around stderr and the blank lines", () => {
    expect(outputLines('\u001b[91mabout to fail\n\u001b[0m\n\nnext  \n')).toEqual(['about to fail', 'next']);
  });
});
