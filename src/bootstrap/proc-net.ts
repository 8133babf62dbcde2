/**
 * Pure reading of Linux's socket tables (`/proc/net/tcp`, `tcp6`, `udp`, `udp6`): which sockets are bound to a port
 * in a way that keeps Docker from publishing on 127.0.0.1 there, and the inode that leads to the process holding it.
 * Reading the tables, unlike binding each port to test it, cannot get in the way of an engine publishing that port
 * at the same moment.
 */

/** One row of a socket table. */
export interface SocketEntry {
  protocol: 'tcp' | 'udp';
  /** Local address in text form: `127.0.0.1`, `0.0.0.0`, `::`, `::1`, `::ffff:127.0.0.1`, or 8 hex groups. */
  address: string;
  port: number;
  /** The kernel's state code in hex: `0A` is LISTEN for TCP, `07` an unconnected UDP socket. */
  state: string;
  /** Socket inode; `/proc/<pid>/fd/*` links to `socket:[inode]` in the process that holds it. */
  inode: string;
}

const TCP_LISTEN = '0A';

/**
 * Parses one table. `family` says how addresses are written: 4 for `tcp`/`udp` (8 hex digits), 6 for `tcp6`/`udp6`
 * (32 hex digits); in both, each 32-bit word is in the host's byte order (little-endian here) and the port is
 * big-endian hex. Rows that do not parse are skipped.
 *
 * @example
 * parseProcNet('  0: 0100007F:1F90 00000000:0000 0A ... 0 0 4242 ...', 4, 'tcp'); // [{ address: '127.0.0.1', port: 8080, state: '0A', inode: '4242', … }]
 */
export function parseProcNet(text: string, family: 4 | 6, protocol: 'tcp' | 'udp'): SocketEntry[] {
  const entries: SocketEntry[] = [];
  for (const line of text.split('\n')) {
    const fields = line.trim().split(/\s+/);
    // sl, local_address, rem_address, st, tx:rx queue, tr:tm->when, retrnsmt, uid, timeout, inode, …
    if (fields.length < 10 || !/^\d+:$/.test(fields[0] ?? '')) continue;
    const [addressHex, portHex] = (fields[1] ?? '').split(':');
    const address = addressHex === undefined ? undefined : decodeAddress(addressHex, family);
    const port = Number.parseInt(portHex ?? '', 16);
    if (address === undefined || !Number.isInteger(port)) continue;
    entries.push({ protocol, address, port, state: (fields[3] ?? '').toUpperCase(), inode: fields[9] ?? '0' });
  }
  return entries;
}

/** The bytes of one 32-bit word written as 8 hex digits in little-endian order, most significant first. */
function wordBytes(hex: string): number[] {
  const bytes = [0, 2, 4, 6].map((i) => Number.parseInt(hex.slice(i, i + 2), 16));
  return bytes.reverse();
}

function decodeAddress(hex: string, family: 4 | 6): string | undefined {
  if (!/^[0-9A-Fa-f]+$/.test(hex) || hex.length !== (family === 4 ? 8 : 32)) return undefined;
  if (family === 4) return wordBytes(hex).join('.');
  const bytes = [0, 8, 16, 24].flatMap((i) => wordBytes(hex.slice(i, i + 8)));
  if (bytes.every((b) => b === 0)) return '::';
  if (bytes.slice(0, 15).every((b) => b === 0) && bytes[15] === 1) return '::1';
  if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) return `::ffff:${bytes.slice(12).join('.')}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return groups.join(':');
}

/** Addresses whose sockets keep a bind of 127.0.0.1 on the same port from succeeding. */
const BLOCKING_ADDRESSES = new Set(['127.0.0.1', '0.0.0.0', '::', '::ffff:127.0.0.1', '::ffff:0.0.0.0']);

/**
 * True when the socket occupies `port` for 127.0.0.1: a TCP listener, or any bound UDP socket, on 127.0.0.1 or a
 * wildcard address. An IPv6 wildcard counts too: unless it was opened v6-only (which the table does not say), it
 * takes the IPv4 port as well.
 */
export function blocksLoopbackPort(entry: SocketEntry, port: number, protocol: 'tcp' | 'udp'): boolean {
  if (entry.protocol !== protocol || entry.port !== port || !BLOCKING_ADDRESSES.has(entry.address)) return false;
  return protocol === 'udp' || entry.state === TCP_LISTEN;
}
