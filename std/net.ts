// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * The one TCP/TLS accept loop of rtclite's servers. It caps connections in
 * total and per remote address, keeps accepting after a failed `accept()`
 * (out of file descriptors, `EMFILE`) with an exponential back-off instead of
 * leaving the loop, and stops on `close()` or an `AbortSignal`, closing the
 * connections it still holds.
 *
 * @example Serve an echo on loopback
 * ```ts
 * import { acceptLoop } from "@rtclite/std/net";
 * import { equal } from "node:assert/strict";
 *
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const server = acceptLoop(listener, async (conn) => {
 *   const buf = new Uint8Array(16);
 *   const n = await conn.read(buf);
 *   if (n) await conn.write(buf.subarray(0, n));
 * }, { maxConnections: 10 });
 * const conn = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
 * await conn.write(new TextEncoder().encode("hi"));
 * const buf = new Uint8Array(16);
 * equal(new TextDecoder().decode(buf.subarray(0, (await conn.read(buf))!)), "hi");
 * conn.close();
 * await server.close();
 * ```
 *
 * @module
 */
import { getLogger } from "./log.ts";

const log = getLogger("rtclite", "net");

/** Limits and hooks of {@linkcode acceptLoop}. */
export interface AcceptOptions {
  /** Most open connections; further ones are closed at once (default 1024). */
  maxConnections?: number;
  /** Most open connections from one remote IP address (default: `maxConnections`). */
  maxPerAddress?: number;
  /** Stops the loop. */
  signal?: AbortSignal;
  /** A name for log lines ("SIP TCP", "RTMP"). */
  name?: string;
  /** Called with each connection refused by a cap, before it is closed. */
  onRefused?: (conn: Deno.Conn, why: string) => void;
}

/** A running {@linkcode acceptLoop}. */
export interface AcceptLoop {
  /** Open connections. */
  readonly connections: ReadonlySet<Deno.Conn>;
  /** How many connections were refused by the caps so far. */
  readonly refused: number;
  /** Stops accepting, closes every open connection, and waits for the handlers. */
  close(): Promise<void>;
}

/**
 * Accepts connections from `listener` and runs `handle` for each. A handler
 * that throws is logged; the connection is closed when its handler ends.
 *
 * @param listener A TCP or TLS listener.
 * @param handle Serves one connection.
 * @param options Caps, a signal and a name.
 * @returns The running loop.
 */
export function acceptLoop<C extends Deno.Conn>(
  listener: Deno.Listener<C>,
  handle: (conn: C) => void | Promise<void>,
  options: AcceptOptions = {},
): AcceptLoop {
  const max = options.maxConnections ?? 1024;
  const perAddress = options.maxPerAddress ?? max;
  const name = options.name ?? "server";
  const open = new Set<Deno.Conn>();
  const byAddress = new Map<string, number>();
  const handlers = new Set<Promise<void>>();
  let refused = 0;
  let closed = false;
  let wake: (() => void) | undefined;

  const refuse = (conn: C, why: string) => {
    refused++;
    log.warn("{name}: refusing a connection from {addr}: {why}", {
      name,
      addr: hostOf(conn),
      why,
    });
    options.onRefused?.(conn, why);
    try {
      conn.close();
    } catch { /* already closed */ }
  };

  const serve = (conn: C) => {
    const host = hostOf(conn);
    open.add(conn);
    byAddress.set(host, (byAddress.get(host) ?? 0) + 1);
    const done = (async () => {
      try {
        await handle(conn);
      } catch (e) {
        log.error("{name}: connection from {addr} failed: {error}", {
          name,
          addr: host,
          error: String(e),
        });
      } finally {
        open.delete(conn);
        const n = (byAddress.get(host) ?? 1) - 1;
        n ? byAddress.set(host, n) : byAddress.delete(host);
        try {
          conn.close();
        } catch { /* the handler closed it */ }
      }
    })();
    handlers.add(done);
    done.finally(() => handlers.delete(done));
  };

  const loop = (async () => {
    let backoff = 10;
    while (!closed) {
      let conn: C;
      try {
        conn = await listener.accept();
        backoff = 10;
      } catch (e) {
        if (closed || e instanceof Deno.errors.BadResource) return;
        // Out of descriptors (EMFILE) or a transient failure: wait and try again.
        log.warn("{name}: accept failed, retrying in {ms} ms: {error}", {
          name,
          ms: backoff,
          error: String(e),
        });
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, backoff);
        });
        backoff = Math.min(backoff * 2, 1000);
        continue;
      }
      if (closed) conn.close();
      else if (open.size >= max) refuse(conn, `${max} connections open`);
      else if ((byAddress.get(hostOf(conn)) ?? 0) >= perAddress) {
        refuse(conn, `${perAddress} connections open from that address`);
      } else serve(conn);
    }
  })();

  const close = async () => {
    if (closed) return await loop;
    closed = true;
    wake?.();
    try {
      listener.close();
    } catch { /* already closed */ }
    for (const conn of open) {
      try {
        conn.close();
      } catch { /* already closed */ }
    }
    await loop;
    await Promise.allSettled([...handlers]);
  };
  options.signal?.addEventListener("abort", () => void close(), { once: true });

  return {
    connections: open,
    get refused() {
      return refused;
    },
    close,
  };
}

function hostOf(conn: Deno.Conn): string {
  const addr = conn.remoteAddr as Deno.NetAddr;
  return addr.hostname ?? "";
}
