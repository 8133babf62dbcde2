import { connect } from 'node:net';

/** Sends `request` as raw bytes to 127.0.0.1:port and resolves with the raw response text (or what came before close). */
export function rawRequest(port: number, request: string, timeoutMs = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    socket.setTimeout(timeoutMs, () => {
      socket.destroy();
      resolve(data);
    });
    socket.on('data', (chunk) => (data += chunk.toString('latin1')));
    socket.on('end', () => resolve(data));
    socket.on('close', () => resolve(data));
    socket.on('error', (err) => (data ? resolve(data) : reject(err)));
    socket.write(request);
  });
}

/** The status code of a raw HTTP response, or 0 when there is none. */
export function statusOf(raw: string): number {
  const match = /^HTTP\/1\.1 (\d{3})/.exec(raw);
  return match ? Number(match[1]) : 0;
}
