import { afterEach, describe, expect, it, vi } from 'vitest';
import { Logger } from '../../services/_kit/src/log.ts';
import { RefusalLog } from '../../services/_kit/src/refusal-log.ts';

describe('RefusalLog', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('logs the first refusal at once, then one line per window while they keep coming, then the first again', () => {
    vi.useFakeTimers();
    const lines: Array<Record<string, unknown>> = [];
    const refusals = new RefusalLog(new Logger('t', 'info', (line) => lines.push(JSON.parse(line) as Record<string, unknown>)), 1_000);
    const events = () => lines.map((l) => `${l.event}${l.count === undefined ? '' : ` ${l.count} ${JSON.stringify(l.byReason)}`}`);
    refusals.note('missing', { path: '/a' });
    refusals.note('mismatch', { path: '/a' });
    refusals.note('mismatch', { path: '/b' });
    expect(events()).toEqual(['law_refused']);
    expect(lines[0]).toMatchObject({ reason: 'missing', path: '/a' });
    vi.advanceTimersByTime(1_000);
    expect(events()).toEqual(['law_refused', 'law_refusals 2 {"mismatch":2}']);
    refusals.note('repeated', {}); // still in a window: counted
    vi.advanceTimersByTime(1_000);
    expect(events().slice(2)).toEqual(['law_refusals 1 {"repeated":1}']);
    vi.advanceTimersByTime(1_000); // a quiet window closes it
    refusals.note('too-long', { path: '/c' });
    expect(events().slice(3)).toEqual(['law_refused']);
  });

  it('logs what is counted when closed, and leaves no timer behind', () => {
    vi.useFakeTimers();
    const lines: string[] = [];
    const refusals = new RefusalLog(new Logger('t', 'info', (line) => lines.push(line)), 1_000);
    refusals.note('missing', {});
    refusals.note('missing', {});
    refusals.close();
    expect(lines.map((l) => (JSON.parse(l) as { event: string }).event)).toEqual(['law_refused', 'law_refusals']);
    expect(vi.getTimerCount()).toBe(0);
  });
});
