// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * The Deno adapter of `@rtclite/std/ietf/rfc3921`: everything the module exports, with an
 * {@linkcode ImClient} that can {@linkcode ImClient.connect} over TCP (with STARTTLS) through
 * `XmppClient` of `@rtclite/std/ietf/rfc3920/deno`, which this module re-exports too.
 *
 * @example Send a message (against a real server)
 * ```ts ignore
 * import { ImClient } from "@rtclite/std/ietf/rfc3921/deno";
 *
 * await using im = await ImClient.connect({ jid: "romeo@example.net", password: "P" });
 * im.sendMessage("juliet@example.com", "Wherefore art thou?");
 * ```
 *
 * @module
 */
import { XmppClient, type XmppClientOptions } from "../rfc3920/deno.ts";
import { ImClient as PureImClient } from "./mod.ts";

export * from "./mod.ts";
export * from "../rfc3920/deno.ts";
/** The I/O-free `ImClient` of `@rtclite/std/ietf/rfc3921`, which this module's extends. */
export const SessionImClient: typeof PureImClient = PureImClient;

/**
 * The IM client of `@rtclite/std/ietf/rfc3921` with a way to connect: an
 * `ImClient` over an {@linkcode XmppClient}.
 *
 * @example
 * ```ts ignore
 * import { ImClient } from "@rtclite/std/ietf/rfc3921/deno";
 *
 * await using im = await ImClient.connect({ jid: "juliet@example.com", password: "P" });
 * for (const item of await im.getRoster()) console.log(item.jid);
 * ```
 */
export class ImClient extends SessionImClient {
  /**
   * Connects and authenticates (see {@linkcode XmppClient.connect}).
   *
   * @param options Connection options.
   * @returns The IM client, online.
   */
  static async connect(options: XmppClientOptions): Promise<ImClient> {
    return new ImClient(await XmppClient.connect(options));
  }
}
