// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * DNS over TCP on a `Deno.Conn`, shared by the resolver and the server:
 * read whole messages through a {@linkcode TcpDeframer}, write all bytes.
 *
 * @module
 */
import { DnsError, TcpDeframer } from "./mod.ts";

/**
 * Yields each message read from `conn` (without its length prefix) until
 * the peer closes the connection.
 *
 * @param conn The connection.
 * @param deframer Reads the length prefixes.
 * @throws {DnsError} When the connection closes in the middle of a message.
 * @throws {DnsParseError} When a length prefix exceeds the deframer's limit.
 */
export async function* readTcpMessages(
  conn: Deno.Conn,
  deframer: TcpDeframer = new TcpDeframer(),
): AsyncGenerator<Uint8Array> {
  const buf = new Uint8Array(16 * 1024);
  for (;;) {
    for (let m = deframer.next(); m !== undefined; m = deframer.next()) yield m;
    const n = await conn.read(buf);
    if (n === null) {
      if (deframer.pending === 0) return;
      throw new DnsError(
        `Connection closed after ${deframer.pending} bytes of a DNS message`,
        "network",
      );
    }
    deframer.push(buf.subarray(0, n));
  }
}

/** Writes every byte of `data` to `conn`. */
export async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) off += await conn.write(data.subarray(off));
}
