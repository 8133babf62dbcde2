/**
 * A TCP forwarder, run as a process of its own by the process driver: listens on 127.0.0.1:<listen port> and
 * pipes every connection to <host>:<port>. It stands in for PostgreSQL or Redis when the user gives a server by
 * URL, so the fleet's published port (what launch, status and verify probe) leads to that server.
 *
 *   node tcp-forward.js <listen port> <host> <port>
 */
import net from 'node:net';

const [listenPort, host, port] = process.argv.slice(2);
if (!listenPort || !host || !port || !/^\d+$/.test(listenPort) || !/^\d+$/.test(port)) {
  process.stderr.write('usage: tcp-forward <listen port> <host> <port>\n');
  process.exit(64);
}

const server = net.createServer((client) => {
  const upstream = net.connect({ host, port: Number(port) });
  client.pipe(upstream).pipe(client);
  const close = (): void => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', close);
  upstream.on('error', (error) => {
    process.stderr.write(`${new Date().toISOString()} ${host}:${port}: ${error.message}\n`);
    close();
  });
});
server.listen({ port: Number(listenPort), host: '127.0.0.1' }, () => process.stdout.write(`forwarding 127.0.0.1:${listenPort} to ${host}:${port}\n`));
const stop = (): void => {
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 1_000).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
