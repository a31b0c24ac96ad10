// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// Parse and format URIs and addresses, beside npm:sip@0.0.6's parseUri (the SIP library
// most Node.js SIP code uses). Run: deno bench -A std/ietf/rfc2396_bench.ts
import { formatAddress, parseAddress, parseUri } from "./mod.ts";
import sip from "npm:sip@0.0.6";

const URIS = [
  "sip:alice@atlanta.com",
  "sips:alice:secretword@atlanta.com:5061;transport=tcp;lr",
  "sip:+1-212-555-1212:1234@gateway.com;user=phone",
  "sip:alice@atlanta.com:5070;maddr=239.255.255.1;ttl=15?subject=project%20x&priority=urgent",
];
const ADDRESSES = [
  '"Alice" <sip:alice@atlanta.com>;tag=1928301774',
  "Bob <sips:bob@biloxi.com:5061;transport=tcp>;tag=a6c85cf;expires=3600",
  "sip:carol@chicago.com;tag=887s",
];
const parsedUris = URIS.map(parseUri);
const parsedAddresses = ADDRESSES.map(parseAddress);

Deno.bench("rtclite parseUri (4 URIs)", { group: "parse URI", baseline: true }, () => {
  for (const u of URIS) parseUri(u);
});
Deno.bench("npm:sip@0.0.6 parseUri (4 URIs)", { group: "parse URI" }, () => {
  for (const u of URIS) sip.parseUri(u);
});
Deno.bench("rtclite formatUri (4 URIs)", { group: "format URI", baseline: true }, () => {
  for (const u of parsedUris) u.toString();
});
const sipParsed = URIS.map((u) => sip.parseUri(u));
Deno.bench("npm:sip@0.0.6 stringifyUri (4 URIs)", { group: "format URI" }, () => {
  for (const u of sipParsed) sip.stringifyUri(u);
});
Deno.bench("rtclite parseAddress (3 addresses)", { group: "address" }, () => {
  for (const a of ADDRESSES) parseAddress(a);
});
Deno.bench("rtclite formatAddress (3 addresses)", { group: "address" }, () => {
  for (const a of parsedAddresses) formatAddress(a);
});
// npm:sip@0.0.6 returns undefined for IPv6 references, so the shared set avoids them.
if (sipParsed.some((u) => u === undefined)) throw new Error("npm:sip failed to parse a URI");
