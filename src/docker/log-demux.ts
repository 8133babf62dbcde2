/**
 * Splits the engine's multiplexed log format (used when a container has no TTY) into stdout and stderr.
 * Each frame is an 8-byte header — stream type (1 stdout, 2 stderr), three zero bytes, a big-endian uint32
 * payload length — followed by the payload. Pure: unit-tested with hand-built buffers.
 */
export function demuxLogs(buffer: Buffer): { stdout: string; stderr: string } {
  if (!looksMultiplexed(buffer)) return { stdout: buffer.toString('utf8'), stderr: '' };
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  let offset = 0;
  while (offset + 8 <= buffer.length) {
    const streamType = buffer[offset];
    const length = buffer.readUInt32BE(offset + 4);
    const payload = buffer.subarray(offset + 8, offset + 8 + length);
    (streamType === 2 ? stderr : stdout).push(payload);
    offset += 8 + length;
  }
  return { stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') };
}

function looksMultiplexed(buffer: Buffer): boolean {
  if (buffer.length < 8) return false;
  const streamType = buffer[0];
  return (streamType === 0 || streamType === 1 || streamType === 2) && buffer[1] === 0 && buffer[2] === 0 && buffer[3] === 0;
}
