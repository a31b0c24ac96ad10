// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// This module is browser compatible.
/**
 * SIP dialogs (RFC 3261 §12): the peer-to-peer relationship an INVITE or
 * another dialog-creating request sets up, with its route set, remote
 * target and CSeq numbers, and the requests sent within it (loose and
 * strict routing, §12.2.1.1).
 *
 * @example Build a BYE within a dialog
 * ```ts
 * import { Dialog } from "@rtclite/std/ietf/rfc3261";
 * import { equal } from "node:assert/strict";
 *
 * const d = new Dialog({ callId: "c", localTag: "1", remoteTag: "2", localUri: "sip:a@y",
 *   remoteUri: "sip:b@x", remoteTarget: "sip:b@192.0.2.9", routeSet: [],
 *   localSeq: 1, remoteSeq: undefined, secure: false });
 * equal(d.createRequest("BYE").header("CSeq"), "2 BYE");
 * ```
 *
 * @module
 */
import { parseUri } from "../rfc2396/mod.ts";
import { formatAddress, parseAddress, SipMessage } from "./message.ts";

// === Dialogs (RFC 3261 §12) ===

/** Dialog state (RFC 3261 §12). */
export type DialogState = "early" | "confirmed" | "terminated";

/** A dialog: the peer-to-peer relationship of §12. */
export class Dialog {
  /** Call-ID. */
  readonly callId: string;
  /** Local tag. */
  readonly localTag: string;
  /** Remote tag. */
  remoteTag: string;
  /** Local URI (From of our requests). */
  readonly localUri: string;
  /** Remote URI (To of our requests). */
  readonly remoteUri: string;
  /** Remote target (the peer's Contact). */
  remoteTarget: string;
  /** Route set, in the order our requests use it. */
  routeSet: string[];
  /** Local sequence number. */
  localSeq: number;
  /** Remote sequence number, or `undefined` before the first request from the peer. */
  remoteSeq: number | undefined;
  /** Whether the dialog was set up over sips. */
  readonly secure: boolean;
  /** State. */
  state: DialogState = "confirmed";

  /**
   * Creates a dialog (use {@linkcode Dialog.fromUac} or {@linkcode Dialog.fromUas}).
   *
   * @param init All fields.
   */
  constructor(init: {
    callId: string;
    localTag: string;
    remoteTag: string;
    localUri: string;
    remoteUri: string;
    remoteTarget: string;
    routeSet: string[];
    localSeq: number;
    remoteSeq: number | undefined;
    secure: boolean;
  }) {
    this.callId = init.callId;
    this.localTag = init.localTag;
    this.remoteTag = init.remoteTag;
    this.localUri = init.localUri;
    this.remoteUri = init.remoteUri;
    this.remoteTarget = init.remoteTarget;
    this.routeSet = init.routeSet;
    this.localSeq = init.localSeq;
    this.remoteSeq = init.remoteSeq;
    this.secure = init.secure;
  }

  /** The dialog identifier (Call-ID, local tag, remote tag). */
  get id(): string {
    return `${this.callId};${this.localTag};${this.remoteTag}`;
  }

  /**
   * The dialog a UAC gets from a response to its request.
   *
   * @param request The request sent (INVITE).
   * @param response A 101-299 response with a To tag.
   * @returns The dialog.
   *
   * @example
   * ```ts
   * import { Dialog, parseMessage } from "@rtclite/std/ietf/rfc3261";
   * import { deepEqual, equal } from "node:assert/strict";
   *
   * const inv = parseMessage("INVITE sip:b@x SIP/2.0\r\nFrom: <sip:a@y>;tag=1\r\nTo: <sip:b@x>\r\nCall-ID: c\r\nCSeq: 5 INVITE\r\n\r\n");
   * const ok = parseMessage("SIP/2.0 200 OK\r\nFrom: <sip:a@y>;tag=1\r\nTo: <sip:b@x>;tag=2\r\nCall-ID: c\r\nCSeq: 5 INVITE\r\n" +
   *   "Record-Route: <sip:p1;lr>, <sip:p2;lr>\r\nContact: <sip:b@192.0.2.9>\r\n\r\n");
   * const d = Dialog.fromUac(inv, ok);
   * deepEqual(d.routeSet, ["<sip:p2;lr>", "<sip:p1;lr>"]);
   * equal(d.remoteTarget, "sip:b@192.0.2.9");
   * equal(d.id, "c;1;2");
   * ```
   */
  // @implements RFC3261 §12.1.2
  static fromUac(request: SipMessage, response: SipMessage): Dialog {
    const rr = response.addresses("Record-Route").map((a) => formatAddress(a)).reverse();
    const contact = response.contacts()[0];
    return new Dialog({
      callId: request.callId(),
      localTag: request.from().params.tag ?? "",
      remoteTag: response.to().params.tag ?? "",
      localUri: request.from().uri,
      remoteUri: request.to().uri,
      remoteTarget: contact?.uri ?? request.uri!,
      routeSet: rr,
      localSeq: request.cseq().seq,
      remoteSeq: undefined,
      secure: request.uri!.startsWith("sips:"),
    });
  }

  /**
   * The dialog a UAS gets when it answers a request.
   *
   * @param request The request received (INVITE).
   * @param localTag The To tag of the response.
   * @returns The dialog.
   */
  // @implements RFC3261 §12.1.1
  static fromUas(request: SipMessage, localTag: string): Dialog {
    const rr = request.addresses("Record-Route").map((a) => formatAddress(a));
    const contact = request.contacts()[0];
    return new Dialog({
      callId: request.callId(),
      localTag,
      remoteTag: request.from().params.tag ?? "",
      localUri: request.to().uri,
      remoteUri: request.from().uri,
      remoteTarget: contact?.uri ?? request.from().uri,
      routeSet: rr,
      localSeq: Math.floor(Math.random() * 1000) + 1,
      remoteSeq: request.cseq().seq,
      secure: request.uri!.startsWith("sips:"),
    });
  }

  /**
   * Builds a request within the dialog: Request-URI and Route from the
   * remote target and route set (loose or strict routing), To/From with
   * tags, Call-ID and the next CSeq (the same one for ACK and CANCEL).
   *
   * @param method The method.
   * @param cseq CSeq number to use instead of the next one (ACK).
   * @returns The request (without Via).
   *
   * @example Strict routing puts the first route in the Request-URI
   * ```ts
   * import { Dialog } from "@rtclite/std/ietf/rfc3261";
   * import { deepEqual, equal } from "node:assert/strict";
   *
   * const d = new Dialog({ callId: "c", localTag: "1", remoteTag: "2", localUri: "sip:a@y",
   *   remoteUri: "sip:b@x", remoteTarget: "sip:b@192.0.2.9", routeSet: ["<sip:strict.example.com>", "<sip:p2;lr>"],
   *   localSeq: 1, remoteSeq: undefined, secure: false });
   * const bye = d.createRequest("BYE");
   * equal(bye.uri, "sip:strict.example.com");
   * deepEqual(bye.values("Route"), ["<sip:p2;lr>", "<sip:b@192.0.2.9>"]);
   * equal(bye.header("CSeq"), "2 BYE");
   * ```
   */
  // @implements RFC3261 §12.2.1.1
  createRequest(method: string, cseq?: number): SipMessage {
    const m = new SipMessage({ method, uri: this.remoteTarget });
    const routes = [...this.routeSet];
    if (routes.length) {
      const first = parseAddress(routes[0]!);
      let lr = false;
      try {
        lr = parseUri(first.uri).params.has("lr");
      } catch { /* treat as strict */ }
      if (!lr) {
        // @implements RFC3261 §12.2.1.1 ¶5
        m.uri = first.uri;
        routes.shift();
        routes.push(`<${this.remoteTarget}>`);
      }
    }
    for (const r of routes) m.add("Route", r);
    m.add("Max-Forwards", "70");
    m.add("From", formatAddress({ uri: this.localUri, params: { tag: this.localTag } }));
    m.add("To", formatAddress({ uri: this.remoteUri, params: { tag: this.remoteTag } }));
    m.add("Call-ID", this.callId);
    const seq = cseq ?? (method === "ACK" || method === "CANCEL" ? this.localSeq : ++this.localSeq);
    m.add("CSeq", `${seq} ${method}`);
    return m;
  }
}
