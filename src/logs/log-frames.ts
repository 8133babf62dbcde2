/**
 * Incremental decoding of the engine's multiplexed log stream, for `n3xus logs --follow`: bytes arrive in chunks
 * that split frames anywhere, so unlike `demuxLogs` (src/docker/log-demux.ts, which needs the whole buffer) this
 * keeps its place between chunks. Pure: unit-tested with hand-built chunks.
 *
 * Each frame is an 8-byte header — stream type (0 stdin, 1 stdout, 2 stderr, 3 the engine's own error), three
 * zero bytes, a big-endian uint32 payload length — followed by the payload.
 */

/** Which of the container's outputs a chunk came from. */
export type LogStreamName = 'stdout' | 'stderr';

/** A piece of one output, in the order the engine sent it. A frame's payload may come in several chunks. */
export interface LogChunk {
  stream: LogStreamName;
  payload: Buffer;
}

const HEADER_BYTES = 8;
const EMPTY = Buffer.alloc(0);

/** True when `header` (8 bytes) reads as a frame header. */
function isFrameHeader(header: Buffer): boolean {
  const type = header[0] ?? 255;
  return type <= 3 && header[1] === 0 && header[2] === 0 && header[3] === 0;
}

/**
 * Splits a log stream into stdout and stderr chunks as the bytes arrive. Payload bytes are handed on as soon as
 * they are in (a long line is not held back until its frame is complete). A stream whose first 8 bytes are not a
 * frame header — a container created with a TTY — is passed through whole as stdout, as `demuxLogs` does.
 *
 * @example
 * const decoder = new LogFrameDecoder();
 * for await (const chunk of stream) for (const { stream, payload } of decoder.push(chunk)) write(stream, payload);
 * decoder.end(); // anything held back: the first bytes of a TTY stream shorter than a header
 */
export class LogFrameDecoder {
  #mode: 'unknown' | 'multiplexed' | 'raw' = 'unknown';
  /** Header bytes collected so far (fewer than 8). */
  #header: Buffer = EMPTY;
  #stream: LogStreamName = 'stdout';
  /** Payload bytes of the current frame still to come. */
  #remaining = 0;

  /** Adds a chunk and returns the output it completes, in order. */
  push(chunk: Buffer): LogChunk[] {
    if (this.#mode === 'raw') return chunk.length === 0 ? [] : [{ stream: 'stdout', payload: chunk }];
    const out: LogChunk[] = [];
    let offset = 0;
    while (offset < chunk.length) {
      if (this.#remaining > 0) {
        const take = Math.min(this.#remaining, chunk.length - offset);
        out.push({ stream: this.#stream, payload: chunk.subarray(offset, offset + take) });
        this.#remaining -= take;
        offset += take;
        continue;
      }
      const piece = chunk.subarray(offset, offset + HEADER_BYTES - this.#header.length);
      this.#header = this.#header.length === 0 ? piece : Buffer.concat([this.#header, piece]);
      offset += piece.length;
      if (this.#header.length < HEADER_BYTES) break;
      const header = this.#header;
      this.#header = EMPTY;
      if (!isFrameHeader(header)) {
        // Not multiplexed after all (a TTY stream), or a stream gone wrong mid-way: passing the bytes on as
        // they are loses nothing, where dropping them would hide output.
        this.#mode = 'raw';
        const rest = Buffer.concat([header, chunk.subarray(offset)]);
        if (rest.length > 0) out.push({ stream: 'stdout', payload: rest });
        return out;
      }
      this.#mode = 'multiplexed';
      this.#stream = header[0] === 2 || header[0] === 3 ? 'stderr' : 'stdout';
      this.#remaining = header.readUInt32BE(4);
    }
    return out;
  }

  /**
   * Returns what is still held back when the stream ends: the first bytes of a stream too short to be told apart
   * from a header (TTY output of fewer than 8 bytes). A cut-off header in a multiplexed stream carries no output.
   */
  end(): LogChunk[] {
    const rest = this.#header;
    this.#header = EMPTY;
    return this.#mode === 'unknown' && rest.length > 0 ? [{ stream: 'stdout', payload: rest }] : [];
  }
}
