// The edge under load: GET /health (the bare route), the tracking pixel and the click
// redirect, with autocannon at a given number of connections. The load spreads over the
// tokens of many sent messages, as real opens do, and only answers that served the GIF (200)
// or the redirect (302) count — a 429 or any other answer is not a served open.
import autocannon from "autocannon";
import { listAll, sleep } from "../lib/local.mjs";

const HUMAN = "Mozilla/5.0 (Windows NT 10.0) Thunderbird/115 (bench)";

/** Sends one email with a link to each of `n` contacts and returns their pixel and click paths. */
export async function sentTokens(api, n) {
  const wf = await api("POST", "/v1/workflows", {
    name: "Bench links",
    status: "active",
    steps: [
      {
        type: "send_email",
        config: { subject: "Links", html: '<p><a href="https://example.com/landing">go</a></p>' },
      },
    ],
  });
  for (let i = 0; i < n; i += 100) {
    const contacts = Array.from({ length: Math.min(100, n - i) }, (_, j) => ({
      email: `links${i + j}@bench.test`,
    }));
    const res = await api("POST", "/v1/enrollments/bulk", { workflowId: wf.json.id, contacts });
    if (res.status !== 201) {
      throw new Error(`bulk: ${res.status} ${res.text}`);
    }
  }
  let out = [];
  for (let tries = 0; tries < 600; tries++) {
    out = await listAll(api, "/v1/outbox");
    if (out.length >= n) {
      break;
    }
    await sleep(500);
  }
  const pixels = [];
  const clicks = [];
  for (const o of out) {
    pixels.push(new URL(/src="([^"]+\/t\/o\/[^"]+)"/.exec(o.html)[1]).pathname);
    clicks.push(new URL(/href="([^"]+\/t\/c\/[^"]+)"/.exec(o.html)[1]).pathname);
  }
  return { pixels, clicks };
}

/** One route at `connections` for `duration` seconds, cycling through `paths`. */
async function load(base, paths, connections, duration, served) {
  let i = 0;
  const result = await autocannon({
    url: `${base}${paths[0]}`,
    connections,
    duration,
    headers: { "user-agent": HUMAN },
    requests: [{ setupRequest: (req) => ({ ...req, path: paths[i++ % paths.length] }) }],
  });
  const ok = served === 302 ? result["3xx"] : result["2xx"];
  return {
    rps: Math.round((ok / duration) * 10) / 10,
    p50: result.latency.p50,
    p99: result.latency.p99,
    notServed: result.requests.total - ok,
    errors: result.errors + result.timeouts,
  };
}

/** Bare route, pixel and click at each connection count; ratios to the bare route. */
export async function runEdge(base, tokens, { connections = [32, 10], duration = 10 } = {}) {
  const out = {};
  for (const c of connections) {
    const bare = await load(base, ["/health"], c, duration, 200);
    await sleep(500);
    const pixel = await load(base, tokens.pixels, c, duration, 200);
    await sleep(500);
    const click = await load(base, tokens.clicks, c, duration, 302);
    await sleep(500);
    const ratio = (x) => Math.round((x.rps / bare.rps) * 100) / 100;
    out[c] = {
      bare,
      pixel: {
        ...pixel,
        ratio: ratio(pixel),
        p99Ratio: Math.round((pixel.p99 / Math.max(bare.p99, 1)) * 100) / 100,
      },
      click: {
        ...click,
        ratio: ratio(click),
        p99Ratio: Math.round((click.p99 / Math.max(bare.p99, 1)) * 100) / 100,
      },
    };
  }
  return out;
}
