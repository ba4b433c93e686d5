/**
 * Which hosts Bosun's outbound requests (`http` jobs, alert webhooks) may reach. By default every address
 * that is not globally reachable is refused (address-ranges.ts), and so are the addresses of this
 * machine's own interfaces; the operator opens exact hosts or CIDRs with `httpAllow` and closes more with
 * `httpDeny`. An allow entry that matches wins over any deny. The decision is made on the address a
 * connection is about to use (outbound-client.ts calls `addressDenial` from inside its DNS lookup), so a
 * name that resolves elsewhere the second time (DNS rebinding) is judged by where it points then.
 *
 * Entries: a host name (`api.example.com`; `.example.com` for it and every subdomain), matched against the
 * URL's host whatever it resolves to; or an address or CIDR (`127.0.0.1`, `10.0.0.0/8`, `fd00::/8`),
 * matched against the address connected to, whatever name led there.
 */
import { BlockList, isIP } from "node:net";
import { networkInterfaces } from "node:os";
import { type CanonicalAddress, canonicalAddress, specialPurpose } from "./address-ranges.ts";

/** The policy as configured and as sent to remote workers at registration. */
export interface OutboundPolicySpec {
  allow: readonly string[];
  deny: readonly string[];
}

/** Why a request was refused: a category (`loopback`) or the operator's list. */
export type Denial = string;

interface Rules {
  names: Set<string>;
  suffixes: string[];
  v4: BlockList;
  v6: BlockList;
}

/** An entry of httpAllow/httpDeny that is neither a host name nor an address nor a CIDR. */
export class PolicyEntryError extends Error {
  override readonly name = "PolicyEntryError";
}

/** A URL's host as the policy compares it: lower case, no brackets, no trailing dot. */
export function policyHost(hostname: string): string {
  return hostname
    .toLowerCase()
    .replace(/^\[(.*)\]$/, "$1")
    .replace(/\.$/, "");
}

function addNet(rules: Rules, a: CanonicalAddress, prefix: number): boolean {
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > (a.family === "ipv4" ? 32 : 128)) return false;
  (a.family === "ipv4" ? rules.v4 : rules.v6).addSubnet(a.address, prefix, a.family);
  return true;
}

const fullPrefix = (a: CanonicalAddress): number => (a.family === "ipv4" ? 32 : 128);

function parseRules(entries: readonly string[], key: string): Rules {
  const rules: Rules = { names: new Set(), suffixes: [], v4: new BlockList(), v6: new BlockList() };
  for (const raw of entries) {
    const entry = raw.trim();
    const fail = (why: string) => new PolicyEntryError(`${key}: "${raw}" ${why}`);
    if (entry === "") throw fail("is empty");
    if (entry.includes("://")) throw fail("is a URL: give its host name or address");
    const slash = entry.indexOf("/");
    if (slash >= 0) {
      const base = entry.slice(0, slash).replace(/^\[(.*)\]$/, "$1");
      const bits = entry.slice(slash + 1);
      const a = canonicalAddress(base);
      if (!a || !/^\d{1,3}$/.test(bits)) throw fail("is not a CIDR (10.0.0.0/8, fd00::/8)");
      // An IPv4-mapped CIDR (::ffff:10.0.0.0/104) is the v4 CIDR it covers.
      const prefix = a.family === "ipv4" && isIP(base) === 6 ? Number(bits) - 96 : Number(bits);
      if (!addNet(rules, a, prefix)) throw fail("has a prefix length out of range");
      continue;
    }
    const a = canonicalAddress(entry);
    if (a) {
      addNet(rules, a, fullPrefix(a));
      continue;
    }
    const subdomains = entry.startsWith(".");
    const name = subdomains ? entry.slice(1) : entry;
    const notOne = () => fail("is not a host name, an address or a CIDR (a port is not part of an entry)");
    if (!/^[^\s/:@?#[\]\\]+$/.test(name)) throw notOne();
    let host: string;
    try {
      host = policyHost(new URL(`http://${name}/`).hostname);
    } catch {
      throw notOne();
    }
    // Other spellings of an address (2130706433, 0177.0.0.1) are the address they parse to.
    const parsed = canonicalAddress(host);
    if (parsed) {
      if (subdomains) throw fail("is an address: a leading dot is for host names");
      addNet(rules, parsed, fullPrefix(parsed));
    } else if (subdomains) rules.suffixes.push(host);
    else rules.names.add(host);
  }
  return rules;
}

const nameMatches = (r: Rules, host: string): boolean =>
  r.names.has(host) || r.suffixes.some((s) => host === s || host.endsWith(`.${s}`));

const netMatches = (r: Rules, a: CanonicalAddress): boolean =>
  (a.family === "ipv4" ? r.v4 : r.v6).check(a.address, a.family);

/** The addresses of this machine's interfaces, so that a public address of Bosun's own host is refused. */
function interfaceAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address));
}

export class OutboundPolicy {
  readonly spec: OutboundPolicySpec;
  readonly #allow: Rules;
  readonly #deny: Rules;
  readonly #self: Rules;

  /** Throws PolicyEntryError for an entry that is not a host name, address or CIDR. */
  constructor(spec: OutboundPolicySpec = { allow: [], deny: [] }, opts: { localAddresses?: string[] } = {}) {
    this.spec = { allow: [...spec.allow], deny: [...spec.deny] };
    this.#allow = parseRules(spec.allow, "httpAllow");
    this.#deny = parseRules(spec.deny, "httpDeny");
    this.#self = parseRules(
      (opts.localAddresses ?? interfaceAddresses()).filter((a) => canonicalAddress(a)),
      "local",
    );
  }

  /** True when the host is opened by name: it may be reached at whatever address it resolves to. */
  opensName(host: string): boolean {
    return nameMatches(this.#allow, policyHost(host));
  }

  /**
   * Why a connection to `address`, reached through the URL host `host`, is refused; null when allowed.
   * An address that is no address at all (a resolver's nonsense) is refused too.
   */
  addressDenial(host: string, address: string): Denial | null {
    const name = policyHost(host);
    if (nameMatches(this.#allow, name)) return null;
    const a = canonicalAddress(address);
    if (!a) return "not an IP address";
    if (netMatches(this.#allow, a)) return null;
    if (nameMatches(this.#deny, name) || netMatches(this.#deny, a)) return "httpDeny";
    return specialPurpose(a) ?? (netMatches(this.#self, a) ? "this host" : null);
  }

  /** For a URL whose host is an address literal: the same decision, before any connection. */
  literalDenial(host: string): Denial | null {
    const name = policyHost(host);
    return canonicalAddress(name) ? this.addressDenial(name, name) : null;
  }
}
