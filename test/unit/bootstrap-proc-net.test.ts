import { describe, expect, it } from 'vitest';
import { blocksLoopbackPort, parseProcNet } from '../../src/bootstrap/proc-net.ts';

const HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode';
const row = (sl: number, local: string, remote: string, state: string, inode: string): string =>
  `  ${sl}: ${local} ${remote} ${state} 00000000:00000000 00:00000000 00000000     0        0 ${inode} 1 0000000000000000 100 0 0 10 0`;

const TCP = [
  HEADER,
  row(0, '0100007F:0BB9', '00000000:0000', '0A', '1001'), // 127.0.0.1:3001 LISTEN
  row(1, '00000000:1F90', '00000000:0000', '0A', '1002'), // 0.0.0.0:8080 LISTEN
  row(2, '0100007F:0BBA', '0100007F:D2F0', '01', '1003'), // 127.0.0.1:3002 ESTABLISHED
  row(3, '0200007F:0BBB', '00000000:0000', '0A', '1004'), // 127.0.0.2:3003 LISTEN
  row(4, '0501A8C0:0BBC', '00000000:0000', '0A', '1005'), // 192.168.1.5:3004 LISTEN
  '',
].join('\n');

const TCP6 = [
  HEADER,
  row(0, '00000000000000000000000000000000:0BBD', '00000000000000000000000000000000:0000', '0A', '2001'), // [::]:3005
  row(1, '00000000000000000000000001000000:0BBE', '00000000000000000000000000000000:0000', '0A', '2002'), // [::1]:3006
  row(2, '0000000000000000FFFF00000100007F:0BBF', '00000000000000000000000000000000:0000', '0A', '2003'), // [::ffff:127.0.0.1]:3007
  row(3, 'B80D0120000000000000000001000000:0BC0', '00000000000000000000000000000000:0000', '0A', '2004'), // [2001:db8::1]:3008
].join('\n');

const UDP = [HEADER, row(0, '0100007F:14E9', '00000000:0000', '07', '3001')].join('\n'); // 127.0.0.1:5353

describe('parseProcNet', () => {
  it('decodes IPv4 addresses, big-endian ports, states and inodes, and skips the header', () => {
    expect(parseProcNet(TCP, 4, 'tcp')).toEqual([
      { protocol: 'tcp', address: '127.0.0.1', port: 3001, state: '0A', inode: '1001' },
      { protocol: 'tcp', address: '0.0.0.0', port: 8080, state: '0A', inode: '1002' },
      { protocol: 'tcp', address: '127.0.0.1', port: 3002, state: '01', inode: '1003' },
      { protocol: 'tcp', address: '127.0.0.2', port: 3003, state: '0A', inode: '1004' },
      { protocol: 'tcp', address: '192.168.1.5', port: 3004, state: '0A', inode: '1005' },
    ]);
  });

  it('decodes IPv6 wildcard, loopback, v4-mapped and other addresses', () => {
    expect(parseProcNet(TCP6, 6, 'tcp').map((e) => `${e.address} ${e.port}`)).toEqual([':: 3005', '::1 3006', '::ffff:127.0.0.1 3007', '2001:db8:0:0:0:0:0:1 3008']);
  });

  it('skips rows that do not parse instead of failing', () => {
    expect(parseProcNet('garbage\n  0: nothex:0BB9 x 0A a b c 0 0 1', 4, 'tcp')).toEqual([]);
    expect(parseProcNet(row(0, '0100007F:0BB9', '00000000:0000', '0A', '1'), 6, 'tcp')).toEqual([]);
  });
});

describe('blocksLoopbackPort', () => {
  const tcp = [...parseProcNet(TCP, 4, 'tcp'), ...parseProcNet(TCP6, 6, 'tcp')];
  const blocking = (port: number): boolean => tcp.some((e) => blocksLoopbackPort(e, port, 'tcp'));

  it('counts a TCP listener on 127.0.0.1 or on a wildcard address', () => {
    expect(blocking(3001)).toBe(true);
    expect(blocking(8080)).toBe(true);
    expect(blocking(3005)).toBe(true);
    expect(blocking(3007)).toBe(true);
  });

  it('ignores connections, other loopback addresses and other interfaces', () => {
    expect(blocking(3002)).toBe(false);
    expect(blocking(3003)).toBe(false);
    expect(blocking(3004)).toBe(false);
    expect(blocking(3006)).toBe(false);
    expect(blocking(3008)).toBe(false);
    expect(blocking(3999)).toBe(false);
  });

  it('counts any bound UDP socket, and only for UDP', () => {
    const [udp] = parseProcNet(UDP, 4, 'udp');
    expect(blocksLoopbackPort(udp!, 5353, 'udp')).toBe(true);
    expect(blocksLoopbackPort(udp!, 5353, 'tcp')).toBe(false);
  });
});
