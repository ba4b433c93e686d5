/**
 * The outbound guard against real servers on loopback addresses: a refusal is made before anything is
 * sent (the refused server counts zero requests), redirects are judged hop by hop, a name is judged by
 * the address its connection is given (DNS rebinding), and the allow and deny lists open and close
 * exactly what they name. 127.0.0.1 plays the "public" target where a test opens it; 127.0.0.2 and other
 * loopback addresses are the internal ones it must not reach.
 */
import assert from "node:assert/strict";
import type { LookupAddress } from "node:dns";
import { after, before, describe, it } from "node:test";
import {
  OutboundClient,
  OutboundDenied,
  type OutboundRequest,
  TooManyRedirects,
} from "../../src/outbound/outbound-client.ts";
import { OutboundPolicy } from "../../src/outbound/outbound-policy.ts";
import { httpTarget } from "../helpers/http-target.ts";

type Target = Awaited<ReturnType<typeof httpTarget>>;

const get = (url: string, extra: Partial<OutboundRequest> = {}): OutboundRequest => ({
  url: new URL(url),
  method: "GET",
  signal: AbortSignal.timeout(10_000),
  redirects: 5,
  maxBodyBytes: 1024,
  ...extra,
});

const client = (allow: string[], deny: string[] = []) =>
  new OutboundClient({ policy: new OutboundPolicy({ allow, deny }) });

/** A resolver that answers from a table, for names no DNS server here knows. */
function resolverOf(answers: Record<string, string[][]>) {
  const asked: string[] = [];
  const resolve = async (host: string): Promise<LookupAddress[]> => {
    asked.push(host);
    const queue = answers[host];
    const next = (queue && queue.length > 1 ? queue.shift() : queue?.[0]) ?? [];
    return next.map((address) => ({ address, family: address.includes(":") ? 6 : 4 }));
  };
  return { resolve, asked };
}

async function refused(p: Promise<unknown>): Promise<OutboundDenied> {
  const err = await p.then(
    () => assert.fail("the request was sent"),
    (e: unknown) => e,
  );
  assert.ok(err instanceof OutboundDenied, `refused by the guard, not: ${String(err)}`);
  assert.equal(err.code, "HTTP_TARGET_DENIED");
  return err;
}

describe("outbound guard", () => {
  let open: Target; // 127.0.0.1: the target a test opens
  let inner: Target; // 127.0.0.2, same port: internal, never opened
  const clients: OutboundClient[] = [];
  const track = (c: OutboundClient) => {
    clients.push(c);
    return c;
  };

  before(async () => {
    open = await httpTarget(() => 200, { headers: () => ({ connection: "close" }) });
    inner = await httpTarget(() => 200, { host: "127.0.0.2", port: open.port });
  });
  after(async () => {
    for (const c of clients) c.close();
    await open.close();
    await inner.close();
  });

  it("refuses a redirect from an allowed target to a loopback address it does not open, in any notation", async () => {
    const c = track(client(["127.0.0.1"]));
    const to = [
      `http://127.0.0.2:${inner.port}/x`,
      `http://[::ffff:127.0.0.2]:${inner.port}/x`,
      `http://2130706434:${inner.port}/x`,
      `http://0177.0.0.2:${inner.port}/x`,
      `http://0.0.0.0:${inner.port}/x`,
      `http://[::1]:${inner.port}/x`,
      "http://169.254.169.254/latest/meta-data/",
      "file:///etc/passwd",
    ];
    const redirector = await httpTarget((r) => (r.url.startsWith("/hop/") ? 302 : 200), {
      headers: (r) => (r.url.startsWith("/hop/") ? { location: to[Number(r.url.slice(5))]! } : {}),
    });
    const reachedOpen = open.received.length;
    try {
      for (const [i, target] of to.entries()) {
        const err = await refused(c.request(get(`${redirector.url}/hop/${i}`)));
        assert.match(err.message, /^redirected to /, target);
      }
      assert.equal(redirector.received.length, to.length, "every first hop was sent");
      assert.equal(inner.received.length, 0, "no redirect reached 127.0.0.2");
      assert.equal(open.received.length, reachedOpen, "0.0.0.0 did not reach the local host either");
    } finally {
      await redirector.close();
    }
  });

  it("follows allowed redirects: 303 turns a POST into a GET without body; another origin gets no Authorization", async () => {
    const c = track(client(["127.0.0.1"]));
    const landing = await httpTarget();
    const hops = await httpTarget(
      (r) => (r.url === "/see-other" ? 303 : r.url === "/temporary" ? 307 : 200),
      {
        headers: (r) =>
          r.url === "/see-other" || r.url === "/temporary" ? { location: `${landing.url}/landed` } : {},
      },
    );
    try {
      const post = {
        method: "POST",
        body: '{"a":1}',
        headers: { "content-type": "application/json", authorization: "Bearer s3cret" },
      };
      const a = await c.request(get(`${hops.url}/see-other`, post));
      assert.equal(a.status, 200);
      assert.equal(a.redirects, 1);
      assert.equal(a.url.href, `${landing.url}/landed`);
      const b = await c.request(get(`${hops.url}/temporary`, post));
      assert.equal(b.status, 200);
      const [first, second] = landing.received;
      assert.equal(first!.method, "GET");
      assert.equal(first!.body, "");
      assert.equal(first!.headers["content-type"], undefined);
      assert.equal(second!.method, "POST", "307 keeps the method");
      assert.equal(second!.body, '{"a":1}');
      for (const r of landing.received)
        assert.equal(r.headers.authorization, undefined, "another port is another origin");
      assert.equal(hops.received[0]!.headers.authorization, "Bearer s3cret");
    } finally {
      await landing.close();
      await hops.close();
    }
  });

  it("stops after the allowed number of redirects", async () => {
    const c = track(client(["127.0.0.1"]));
    const loop = await httpTarget(() => 302, { headers: (r) => ({ location: `${r.url}x` }) });
    try {
      const err = await c.request(get(`${loop.url}/`, { redirects: 2 })).catch((e: unknown) => e);
      assert.ok(err instanceof TooManyRedirects);
      assert.equal(loop.received.length, 3);
      const manual = await c.request(get(`${loop.url}/`, { redirects: "manual" }));
      assert.equal(manual.status, 302, "manual answers the redirect itself");
    } finally {
      await loop.close();
    }
  });

  it("judges a name by the address its connection gets: a name that rebinds to 127.0.0.2 is refused then", async () => {
    const dns = resolverOf({ "rebind.test": [["127.0.0.1"], ["127.0.0.2"]] });
    const c = track(
      new OutboundClient({ policy: new OutboundPolicy({ allow: ["127.0.0.1"], deny: [] }), ...dns }),
    );
    const url = `http://rebind.test:${open.port}/`;
    const before = open.received.length;
    assert.equal((await c.request(get(url))).status, 200, "first answer: the allowed address");
    assert.equal(open.received.length, before + 1);
    // The target closed the connection: the next request resolves again, and gets 127.0.0.2.
    const err = await refused(c.request(get(url)));
    assert.match(err.message, /rebind\.test resolves to an address not allowed \(loopback\)/);
    assert.equal(inner.received.length, 0);
    assert.deepEqual(
      dns.asked,
      ["rebind.test", "rebind.test"],
      "one resolution per connection, no separate check",
    );
  });

  it("hands the connection only the allowed addresses of an answer; none allowed is a refusal", async () => {
    const dns = resolverOf({
      "mixed.test": [["127.0.0.2", "127.0.0.1"]],
      "inner.test": [["127.0.0.2", "10.0.0.1"]],
    });
    const c = track(
      new OutboundClient({ policy: new OutboundPolicy({ allow: ["127.0.0.1"], deny: [] }), ...dns }),
    );
    assert.equal((await c.request(get(`http://mixed.test:${open.port}/`))).status, 200);
    await refused(c.request(get(`http://inner.test:${open.port}/`)));
    assert.equal(inner.received.length, 0);
  });

  it("refuses localhost by default through the system's resolver, and opens it by name", async () => {
    const before = open.received.length;
    const denied = await refused(track(client([])).request(get(`http://localhost:${open.port}/`)));
    assert.match(denied.message, /localhost resolves to an address not allowed \(loopback\)/);
    assert.equal(open.received.length, before);
    const byName = track(client(["localhost"]));
    assert.equal((await byName.request(get(`http://localhost:${open.port}/`))).status, 200);
    // The name opens that name, not its address under another spelling.
    await refused(byName.request(get(`http://127.0.0.1:${open.port}/`)));
  });

  it("opens a CIDR exactly; httpDeny closes more, and an allow entry wins over it", async () => {
    const c = track(client(["127.0.0.0/31"], ["0.0.0.0/0", "::/0"]));
    const five = await httpTarget(() => 200, { host: "127.0.0.5" });
    try {
      assert.equal((await c.request(get(`${open.url}/`))).status, 200, "127.0.0.1 is in 127.0.0.0/31");
      const err = await refused(c.request(get(`http://127.0.0.2:${inner.port}/`)));
      assert.equal(err.reason, "httpDeny");
      await refused(c.request(get(`${five.url}/`)));
      assert.equal(five.received.length, 0);
      assert.equal(inner.received.length, 0);
    } finally {
      await five.close();
    }
  });

  it("gives one answer for an open and a closed port: nothing is sent either way", async () => {
    const c = track(client([]));
    const closed = await httpTarget();
    const closedPort = closed.port;
    await closed.close();
    const a = await refused(c.request(get(`http://127.0.0.1:${open.port}/`)));
    const b = await refused(c.request(get(`http://127.0.0.1:${closedPort}/`)));
    assert.equal(a.message, b.message);
    assert.equal(a.reason, b.reason);
  });

  it("applies a new policy to the next request, on new connections", async () => {
    const c = track(client([]));
    await refused(c.request(get(`${open.url}/`)));
    c.setPolicy(new OutboundPolicy({ allow: ["127.0.0.1"], deny: [] }));
    assert.equal((await c.request(get(`${open.url}/`))).status, 200);
    c.setPolicy(new OutboundPolicy());
    await refused(c.request(get(`${open.url}/`)));
  });
});
