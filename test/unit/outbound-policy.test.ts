/**
 * The outbound policy's decisions, without sockets: every notation of a refused address is recognised (as
 * the URL parser hands it over), the allow and deny lists parse what operators write and refuse what they
 * mistype, and the three ways of configuring them (flag, BOSUN_HTTP_ALLOW, config file) reach the same keys.
 */
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { Command } from "commander";
import { type StartFlags, serverConfig, serverOptions } from "../../src/cli/commands/start.ts";
import { loadConfig } from "../../src/config/config.ts";
import { OutboundPolicy, PolicyEntryError } from "../../src/outbound/outbound-policy.ts";
import { tempDir } from "../helpers/wait.ts";

const byDefault = new OutboundPolicy({ allow: [], deny: [] }, { localAddresses: [] });
/** The decision on a URL with an address literal, its host as the WHATWG URL parser gives it. */
const literal = (policy: OutboundPolicy, url: string) => policy.literalDenial(new URL(url).hostname);

describe("outbound policy: the default", () => {
  it("refuses loopback, private, link-local, unique-local, multicast and unspecified in every notation", () => {
    const cases: [string, string][] = [
      ["http://127.0.0.1:8080/", "loopback"],
      ["http://127.255.255.254/", "loopback"],
      ["http://[::1]/", "loopback"],
      ["http://[0:0:0:0:0:0:0:1]/", "loopback"],
      ["http://[::ffff:127.0.0.1]/", "loopback"],
      ["http://[::ffff:7f00:1]/", "loopback"],
      ["http://[0:0:0:0:0:ffff:127.0.0.1]/", "loopback"],
      ["http://2130706433/", "loopback"],
      ["http://0177.0.0.1/", "loopback"],
      ["http://0x7f.0.0.1/", "loopback"],
      ["http://0x7f000001/", "loopback"],
      ["http://127.1/", "loopback"],
      ["http://0.0.0.0/", "unspecified"],
      ["http://0/", "unspecified"],
      ["http://[::]/", "unspecified"],
      ["http://169.254.169.254/latest/meta-data/", "link-local"],
      ["http://[::ffff:169.254.169.254]/", "link-local"],
      ["http://2852039166/", "link-local"],
      ["http://[fe80::1]/", "link-local"],
      ["http://10.0.0.1/", "private"],
      ["http://012.0.0.1/", "private"],
      ["http://172.16.0.1/", "private"],
      ["http://172.31.255.255/", "private"],
      ["http://192.168.1.1/", "private"],
      ["http://[::ffff:192.168.1.1]/", "private"],
      ["http://[64:ff9b::10.0.0.1]/", "private"],
      ["http://100.100.100.200/", "shared"],
      ["http://[fc00::1]/", "unique-local"],
      ["http://[fd12:3456::1]/", "unique-local"],
      ["http://224.0.0.1/", "multicast"],
      ["http://239.255.255.250/", "multicast"],
      ["http://[ff02::1]/", "multicast"],
      ["http://255.255.255.255/", "reserved"],
      ["http://[::127.0.0.1]/", "reserved"],
      ["http://[2002:7f00:1::]/", "IPv4 tunnel"],
      ["http://192.0.2.1/", "documentation"],
    ];
    for (const [url, why] of cases) assert.equal(literal(byDefault, url), why, url);
  });

  it("lets public addresses through, in both families, and names through to their lookup", () => {
    for (const url of [
      "http://93.184.215.14/",
      "http://172.32.0.1/",
      "http://[2606:4700::1111]/",
      "http://[::ffff:8.8.8.8]/",
      "http://[64:ff9b::8.8.8.8]/",
      "https://example.com/",
    ])
      assert.equal(literal(byDefault, url), null, url);
    assert.equal(byDefault.addressDenial("example.com", "93.184.215.14"), null);
    assert.equal(byDefault.addressDenial("example.com", "127.0.0.1"), "loopback");
    assert.equal(byDefault.addressDenial("example.com", "::ffff:10.1.2.3"), "private");
    assert.equal(byDefault.addressDenial("example.com", "not-an-address"), "not an IP address");
  });

  it("refuses the addresses of this machine's own interfaces", () => {
    const p = new OutboundPolicy({ allow: [], deny: [] }, { localAddresses: ["8.8.4.4", "2001:4860::8844"] });
    assert.equal(p.addressDenial("me.example", "8.8.4.4"), "this host");
    assert.equal(literal(p, "http://[2001:4860::8844]/"), "this host");
    assert.equal(literal(p, "http://8.8.8.8/"), null);
    // The real interfaces: their loopback at least.
    assert.equal(new OutboundPolicy().addressDenial("x", "127.0.0.1"), "loopback");
  });
});

describe("outbound policy: httpAllow and httpDeny", () => {
  it("opens exact hosts, subdomains of a dotted name, addresses in any notation and CIDRs", () => {
    const p = new OutboundPolicy(
      {
        allow: [
          "API.Internal",
          ".corp.example",
          "2130706434",
          "[::1]",
          "10.0.0.0/8",
          "::ffff:192.168.0.0/112",
        ],
        deny: [],
      },
      { localAddresses: [] },
    );
    assert.equal(p.addressDenial("api.internal", "10.9.9.9"), null);
    assert.equal(p.addressDenial("api.internal.", "127.0.0.9"), null, "a trailing dot is the same name");
    assert.equal(p.addressDenial("other.internal", "127.0.0.9"), "loopback");
    assert.equal(p.addressDenial("a.b.corp.example", "172.16.0.1"), null);
    assert.equal(p.addressDenial("corp.example", "172.16.0.1"), null);
    assert.equal(p.addressDenial("xcorp.example", "172.16.0.1"), "private");
    assert.equal(literal(p, "http://127.0.0.2/"), null, "2130706434 is 127.0.0.2");
    assert.equal(literal(p, "http://127.0.0.3/"), "loopback");
    assert.equal(literal(p, "http://[::1]/"), null);
    assert.equal(literal(p, "http://10.200.0.1/"), null);
    assert.equal(literal(p, "http://[::ffff:10.200.0.1]/"), null, "a mapped address is its v4 address");
    assert.equal(literal(p, "http://192.168.7.7/"), null, "a mapped CIDR is its v4 CIDR");
    assert.equal(literal(p, "http://192.169.0.1/"), null, "public anyway");
    assert.equal(literal(p, "http://11.0.0.1/"), null);
    assert.equal(literal(p, "http://169.254.169.254/"), "link-local");
  });

  it("refuses more with httpDeny; an allow entry that matches wins", () => {
    const onlyPartner = new OutboundPolicy(
      { allow: ["partner.example", "203.0.113.7"], deny: ["0.0.0.0/0", "::/0"] },
      { localAddresses: [] },
    );
    assert.equal(onlyPartner.addressDenial("partner.example", "93.184.215.14"), null);
    assert.equal(onlyPartner.addressDenial("other.example", "93.184.215.14"), "httpDeny");
    assert.equal(onlyPartner.addressDenial("v6.example", "2606:4700::1111"), "httpDeny");
    assert.equal(literal(onlyPartner, "http://203.0.113.7/"), null);
    const byName = new OutboundPolicy({ allow: [], deny: ["tracker.example", ".ads.example"] });
    assert.equal(byName.addressDenial("tracker.example", "93.184.215.14"), "httpDeny");
    assert.equal(byName.addressDenial("x.ads.example", "93.184.215.14"), "httpDeny");
    assert.equal(byName.addressDenial("example.com", "93.184.215.14"), null);
  });

  it("refuses entries that are none of a host, an address or a CIDR, naming them", () => {
    for (const bad of [
      "",
      " ",
      "10.0.0.0/33",
      "fd00::/129",
      "10.0.0.0/",
      "10.0.0.0/x",
      "nonsense/8",
      "a:80",
    ]) {
      assert.throws(
        () => new OutboundPolicy({ allow: [bad], deny: [] }),
        (e: Error) => e instanceof PolicyEntryError && e.message.startsWith(`httpAllow: "${bad}"`),
        bad,
      );
    }
    assert.throws(
      () => new OutboundPolicy({ allow: [], deny: ["http://x.example"] }),
      /httpDeny: .*is a URL/,
    );
    assert.throws(
      () => new OutboundPolicy({ allow: [".10.0.0.1"], deny: [] }),
      /leading dot is for host names/,
    );
  });
});

describe("outbound policy: configuration", () => {
  const flagsOf = (args: string[]): StartFlags => {
    const cmd = serverOptions(new Command("start").exitOverride()).action(() => {});
    cmd.parse(args, { from: "user" });
    return cmd.opts() as StartFlags;
  };

  it("--http-allow, BOSUN_HTTP_ALLOW and the config file set httpAllow (and httpDeny alike)", async () => {
    const c = serverConfig(
      flagsOf(["--http-allow", "127.0.0.1, 10.0.0.0/8", "--http-deny", "x.example"]),
      "start",
      {},
    );
    assert.deepEqual(c.httpAllow, ["127.0.0.1", "10.0.0.0/8"]);
    assert.deepEqual(c.httpDeny, ["x.example"]);
    const e = loadConfig({
      env: { BOSUN_HTTP_ALLOW: "api.internal,fd00::/8", BOSUN_HTTP_DENY: "0.0.0.0/0" },
    });
    assert.deepEqual(e.httpAllow, ["api.internal", "fd00::/8"]);
    assert.deepEqual(e.httpDeny, ["0.0.0.0/0"]);
    const dir = await tempDir();
    try {
      const path = join(dir.path, "c.json");
      await writeFile(path, JSON.stringify({ httpAllow: ["192.168.0.0/16"] }));
      assert.deepEqual(loadConfig({ file: path, env: {} }).httpAllow, ["192.168.0.0/16"]);
      await writeFile(path, JSON.stringify({ httpDenyHosts: ["localhost"] }));
      assert.throws(
        () => loadConfig({ file: path, env: {} }),
        /"httpDenyHosts" was replaced by "httpDeny"/,
        "the old key names its replacement",
      );
      await writeFile(path, JSON.stringify({ httpAllowHosts: ["api.example.com"] }));
      assert.throws(
        () => loadConfig({ file: path, env: {} }),
        /"httpAllowHosts" was replaced: .*"httpAllow"/,
      );
    } finally {
      await dir.remove();
    }
    assert.deepEqual(loadConfig({ env: {} }).httpAllow, [], "nothing opened by default");
  });

  it("refuses a bad entry at start-up with VALIDATION_FAILED", () => {
    assert.throws(
      () => loadConfig({ env: {}, flags: { httpAllow: "10.0.0.0/40" } }),
      (e: Error & { code?: string }) =>
        e.code === "VALIDATION_FAILED" && /httpAllow: "10\.0\.0\.0\/40" has a prefix length/.test(e.message),
    );
  });
});
