/**
 * A test HTTP server's listening, address and shutdown, shared by the test servers and the fixtures. No test
 * runner import: the fixtures under test/fixtures are also run by plain Node in .ci/run.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RunningServer {
  port: number;
  url: string;
  /** Stops listening; also cuts connections still waiting for an answer. */
  close: () => Promise<void>;
}

/** Starts `server` on `port` (0: any free one) of `host` (default 127.0.0.1). */
export async function listen(server: Server, port = 0, host = '127.0.0.1'): Promise<RunningServer> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const address = (server.address() as AddressInfo).port;
  return {
    port: address,
    url: `http://127.0.0.1:${address}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
