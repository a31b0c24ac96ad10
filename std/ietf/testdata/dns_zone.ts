// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * The test zone `sip.test`: served by dnsmasq in the interop tests of rfc1035
 * and rfc3263, and as records for our own `DnsZone`.
 *
 * @module
 */
import { type PeerProcess, startPeer } from "@rtclite/testing";
import type { DnsRecord } from "../rfc1035/mod.ts";

/** Records of the big TXT set: too large for one UDP response, so TCP is needed. */
export const BIG_TXT: string[] = Array.from(
  { length: 40 },
  (_, i) => `record-${String(i).padStart(2, "0")}-${"x".repeat(100)}`,
);

/** dnsmasq options that define the zone. */
export const DNSMASQ_ZONE: string[] = [
  "--local=/sip.test/",
  "--local-ttl=60",
  "--host-record=sip.test,127.0.0.1,::1",
  "--host-record=pbx.sip.test,127.0.0.1",
  "--host-record=pbx2.sip.test,127.0.0.3,::3",
  "--host-record=mail.sip.test,127.0.0.2",
  "--host-record=plain.sip.test,127.0.0.4",
  "--srv-host=_sip._udp.sip.test,pbx.sip.test,5060,10,100",
  "--srv-host=_sip._udp.sip.test,pbx2.sip.test,5062,20,100",
  "--srv-host=_sip._tcp.sip.test,pbx.sip.test,5060,20,100",
  "--srv-host=_sips._tcp.sip.test,pbx.sip.test,5061,30,100",
  "--srv-host=_sip._tcp.srvonly.sip.test,pbx2.sip.test,5070,10,0",
  "--naptr-record=sip.test,10,100,S,SIP+D2U,,_sip._udp.sip.test",
  "--naptr-record=sip.test,20,100,S,SIP+D2T,,_sip._tcp.sip.test",
  "--naptr-record=sip.test,30,100,S,SIPS+D2T,,_sips._tcp.sip.test",
  "--txt-record=sip.test,v=test1,second string",
  "--mx-host=sip.test,mail.sip.test,10",
  "--cname=www.sip.test,pbx.sip.test",
  // CAA 0 issue "ca.test" and an unknown type, as raw RDATA.
  "--dns-rr=sip.test,257,0005697373756563612e74657374",
  "--dns-rr=sip.test,65534,0a000001",
  ...BIG_TXT.map((t) => `--txt-record=big.sip.test,${t}`),
];

/** The queries the interop tests compare with dig. */
export const QUERIES: [string, string][] = [
  ["sip.test", "A"],
  ["sip.test", "AAAA"],
  ["sip.test", "NAPTR"],
  ["sip.test", "TXT"],
  ["sip.test", "MX"],
  ["sip.test", "CAA"],
  ["sip.test", "TYPE65534"],
  ["_sip._udp.sip.test", "SRV"],
  ["_sip._tcp.sip.test", "SRV"],
  ["_sips._tcp.sip.test", "SRV"],
  ["_sip._tcp.srvonly.sip.test", "SRV"],
  ["www.sip.test", "A"],
  ["www.sip.test", "CNAME"],
  ["pbx2.sip.test", "AAAA"],
  ["nope.sip.test", "A"],
  ["big.sip.test", "TXT"],
];

/**
 * Starts dnsmasq on 127.0.0.1:`port` serving the zone; no upstream, no
 * /etc/hosts, no DHCP. Stop it with `await using`.
 */
export async function startDnsmasq(port: number, dir: string): Promise<PeerProcess> {
  const peer = startPeer("dnsmasq", [
    "--keep-in-foreground",
    "--conf-file=/dev/null",
    `--port=${port}`,
    "--listen-address=127.0.0.1",
    "--bind-interfaces",
    "--no-resolv",
    "--no-hosts",
    "--no-poll",
    "--log-facility=-",
    `--pid-file=${dir}/dnsmasq.pid`,
    ...DNSMASQ_ZONE,
  ]);
  await peer.waitFor(/started, version/, 10_000);
  return peer;
}

/** The zone served by our `DnsZone` in the rfc1035 tests. */
export const ZONE_RECORDS: DnsRecord[] = [
  {
    name: "sip.test",
    type: "SOA",
    ttl: 300,
    data: {
      mname: "ns.sip.test",
      rname: "admin.sip.test",
      serial: 1,
      refresh: 3600,
      retry: 600,
      expire: 86400,
      minimum: 60,
    },
  },
  { name: "sip.test", type: "A", ttl: 60, data: "127.0.0.1" },
  { name: "pbx.sip.test", type: "A", ttl: 60, data: "127.0.0.2" },
  { name: "pbx.sip.test", type: "AAAA", ttl: 60, data: "::2" },
  { name: "www.sip.test", type: "CNAME", ttl: 60, data: "pbx.sip.test" },
  {
    name: "_sip._udp.sip.test",
    type: "SRV",
    ttl: 60,
    data: { priority: 1, weight: 0, port: 5060, target: "pbx.sip.test" },
  },
  ...BIG_TXT.map((t): DnsRecord => ({
    name: "big.sip.test",
    type: "TXT",
    ttl: 60,
    data: [new TextEncoder().encode(t)],
  })),
];
