import { describe, expect, it } from 'vitest';
import { LineTail } from '../../src/util/line-tail.ts';

describe('LineTail', () => {
  it('keeps only the last lines, assembling lines split across chunks', () => {
    const tail = new LineTail(2);
    tail.push('one\ntw');
    tail.push('o\nthree\nfou');
    expect(tail.lines()).toEqual(['three', 'fou']);
    tail.push('r\n');
    expect(tail.toString()).toBe('three\nfour');
  });

  it('rejects a size below 1 with a message saying what was expected', () => {
    expect(() => new LineTail(0)).toThrow('Expected `maxLines` to be an integer from 1 and up, got 0');
  });
});
