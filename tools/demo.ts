// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * `deno task demo`: the main job. It will run the SIP server and two user
 * agents on 127.0.0.1 (register, call with an SDP offer, answer, hang up)
 * and print a ladder diagram; until the SIP core lands it says so.
 *
 * @module
 */
console.log(`rtclite demo
The demo runs a SIP registrar/proxy and two user agents on 127.0.0.1: both
register, one calls the other with an SDP offer, the call is answered, kept
up a few seconds and hung up, and the messages are printed as a ladder.
It needs the SIP core (std/ietf/rfc3261) and the server (app/sip/server),
which are not in this build yet.`);
