/**
 * The addresses an outbound request (an `http` job, an alert webhook) may not reach unless an operator
 * opens them: every range that is not globally reachable (IANA's special-purpose registries, RFC 6890),
 * named by what it is, so a refusal can say why. Matching is done on one canonical notation: a v6 address
 * that carries a v4 one (IPv4-mapped `::ffff:127.0.0.1`, the NAT64 prefix `64:ff9b::/96`) is checked as
 * that v4 address, because that is where a connection to it goes. Other spellings (`2130706433`,
 * `0177.0.0.1`, `127.1`, `[::ffff:7f00:1]`) are turned into this notation by the WHATWG URL parser before
 * anything here sees them.
 */
import { BlockList, isIP } from "node:net";

export type Family = "ipv4" | "ipv6";

/** One address in the notation every check uses: dotted v4, or compressed lower-case v6 without zone. */
export interface CanonicalAddress {
  address: string;
  family: Family;
}

const V4: [string, number, string][] = [
  ["0.0.0.0", 8, "unspecified"], // "this network": 0.0.0.0 connects to the local host on Linux
  ["10.0.0.0", 8, "private"],
  ["100.64.0.0", 10, "shared"], // carrier-grade NAT; some clouds' metadata lives here (100.100.100.200)
  ["127.0.0.0", 8, "loopback"],
  ["169.254.0.0", 16, "link-local"], // cloud metadata: 169.254.169.254
  ["172.16.0.0", 12, "private"],
  ["192.0.0.0", 24, "reserved"], // IETF protocol assignments
  ["192.0.2.0", 24, "documentation"],
  ["192.88.99.0", 24, "reserved"], // the deprecated 6to4 relay anycast
  ["192.168.0.0", 16, "private"],
  ["198.18.0.0", 15, "benchmarking"],
  ["198.51.100.0", 24, "documentation"],
  ["203.0.113.0", 24, "documentation"],
  ["224.0.0.0", 4, "multicast"],
  ["240.0.0.0", 4, "reserved"], // includes the broadcast 255.255.255.255
];

/** Checked in this order; an address outside all of them and outside 2000::/3 is `reserved`. */
const V6: [string, number, string][] = [
  ["::", 128, "unspecified"],
  ["::1", 128, "loopback"],
  ["fc00::", 7, "unique-local"],
  ["fe80::", 10, "link-local"],
  ["fec0::", 10, "site-local"],
  ["ff00::", 8, "multicast"],
  ["2001::", 32, "IPv4 tunnel"], // Teredo: the v4 end is hidden in the address
  ["2002::", 16, "IPv4 tunnel"], // 6to4
  ["2001:2::", 48, "benchmarking"],
  ["2001:db8::", 32, "documentation"],
  ["3fff::", 20, "documentation"],
];

function lists(ranges: [string, number, string][], family: Family): [string, BlockList][] {
  const byName = new Map<string, BlockList>();
  for (const [net, prefix, name] of ranges) {
    const list = byName.get(name) ?? new BlockList();
    list.addSubnet(net, prefix, family);
    byName.set(name, list);
  }
  return [...byName];
}

// Kept apart per family: a BlockList matches a v4 address against v6 rules too (it maps it), which would
// make `::/0` deny every v4 address.
const DENIED_V4 = lists(V4, "ipv4");
const DENIED_V6 = lists(V6, "ipv6");
const GLOBAL_UNICAST_V6 = new BlockList();
GLOBAL_UNICAST_V6.addSubnet("2000::", 3, "ipv6");

/** `::ffff:a.b.c.d` and NAT64's `64:ff9b::a.b.c.d`, as the URL parser prints them (`::ffff:7f00:1`). */
const EMBEDS_V4 = /^(?:::ffff|64:ff9b:):([0-9a-f]{1,4}):([0-9a-f]{1,4})$/;

/** The canonical form of an address (brackets and a `%zone` allowed), or null when it is not one. */
export function canonicalAddress(raw: string): CanonicalAddress | null {
  const bare = raw.replace(/^\[(.*)\]$/, "$1").replace(/%.*$/, "");
  const kind = isIP(bare);
  if (kind === 4) return { address: bare, family: "ipv4" };
  if (kind !== 6) return null;
  // The WHATWG serializer gives the one RFC 5952 spelling: lower case, longest zero run compressed.
  const v6 = new URL(`http://[${bare}]/`).hostname.slice(1, -1);
  const embedded = EMBEDS_V4.exec(v6);
  if (embedded) {
    const hi = Number.parseInt(embedded[1]!, 16);
    const lo = Number.parseInt(embedded[2]!, 16);
    return { address: `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`, family: "ipv4" };
  }
  return { address: v6, family: "ipv6" };
}

/** Why this address is not globally reachable (`loopback`, `private`, …), or null when it is. */
export function specialPurpose(a: CanonicalAddress): string | null {
  for (const [name, list] of a.family === "ipv4" ? DENIED_V4 : DENIED_V6)
    if (list.check(a.address, a.family)) return name;
  if (a.family === "ipv6" && !GLOBAL_UNICAST_V6.check(a.address, "ipv6")) return "reserved";
  return null;
}
