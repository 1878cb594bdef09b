// For agents: the documents at stable URLs, and the MCP server driven by the MCP client SDK.
import { env, exports } from "cloudflare:workers";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterEach, describe, expect, it, vi } from "vitest";
import { call, newOrg, poll } from "../helpers/api";
import { DB } from "../helpers/db";

const BASE = "https://nudge.test";

describe("documents at stable URLs", () => {
  it("serves the OpenAPI document at /openapi-v1.json and /openapi.json alike", async () => {
    const v1 = await call("GET", "/openapi-v1.json");
    const latest = await call("GET", "/openapi.json");
    expect(v1.status).toBe(200);
    expect(v1.json).toEqual(latest.json);
    expect(v1.json.servers).toEqual([{ url: BASE }]);
  });

  it("serves the skills brief, versioned and latest, with the playbook and the MCP endpoint", async () => {
    const v1 = await call("GET", "/docs/skills-v1.md", { headers: { accept: "text/markdown" } });
    expect(v1.status).toBe(200);
    expect(v1.headers.get("content-type")).toContain("text/markdown");
    expect(v1.text).toBe((await call("GET", "/docs/skills.md")).text);
    for (const section of ["## What to use when", "### Error playbook for agents", "## MCP"]) {
      expect(v1.text).toContain(section);
    }
  });

  it("answers /docs in Markdown to a client that asks for it, and in HTML to a browser", async () => {
    const md = await call("GET", "/docs", { headers: { accept: "text/markdown" } });
    expect(md.headers.get("content-type")).toContain("text/markdown");
    expect(md.text).toContain("### createEnrollment");
    expect(md.text).toContain("`POST /v1/enrollments`");
    const html = await call("GET", "/docs", {
      headers: { accept: "text/html,application/xhtml+xml,text/markdown;q=0.1" },
    });
    expect(html.headers.get("content-type")).toContain("text/html");
  });

  it("serves a Markdown reference with every operation and an llms.txt index", async () => {
    const doc = (await call("GET", "/openapi-v1.json")).json;
    const ids = Object.values(doc.paths as Record<string, Record<string, { operationId: string }>>)
      .flatMap((item) => Object.values(item))
      .map((op) => op.operationId);
    const ref = (await call("GET", "/docs/reference.md")).text;
    for (const id of ids) {
      expect(ref).toContain(`### ${id}\n`);
    }
    const llms = await call("GET", "/llms.txt");
    expect(llms.status).toBe(200);
    expect(llms.text).toMatch(/^# Nudge\n\n> /);
    for (const link of ["/docs/skills-v1.md", "/openapi-v1.json", "/docs/reference.md", "/mcp"]) {
      expect(llms.text).toContain(`](${BASE}${link})`);
    }
  });
});

async function mcpClient(key: string, headers: Record<string, string> = {}) {
  const client = new Client({ name: "nudge-test", version: "1.0.0" });
  const transport = new StreamableHTTPClientTransport(new URL(`${BASE}/mcp`), {
    requestInit: {
      headers: Object.keys(headers).length ? headers : { authorization: `Bearer ${key}` },
    },
    fetch: (input, init) => exports.default.fetch(new Request(input, init)),
  });
  await client.connect(transport);
  return client;
}

afterEach(() => vi.restoreAllMocks());

const json = (r: unknown) =>
  JSON.parse((r as { content: { type: string; text: string }[] }).content[0].text);

describe("the MCP server", () => {
  it("lists the curated tools with hints, and the two resources", async () => {
    const { key } = await newOrg();
    const client = await mcpClient(key);
    const { tools } = await client.listTools();
    const names = tools.map((t) => t.name).sort();
    expect(names).toEqual(
      [
        "activate_workflow",
        "bulk_enroll",
        "call_api",
        "cancel_enrollment",
        "complete_task",
        "create_workflow",
        "enroll_contact",
        "execute_agent",
        "get_enrollment",
        "get_workflow",
        "list_messages",
        "list_tasks",
        "list_workflows",
        "score_lead",
        "search_api",
        "test_workflow",
        "track_event",
        "upsert_contact",
        "workflow_stats",
      ].sort(),
    );
    const byName = new Map(tools.map((t) => [t.name, t]));
    expect(byName.get("cancel_enrollment")?.annotations?.destructiveHint).toBe(true);
    expect(byName.get("list_workflows")?.annotations?.readOnlyHint).toBe(true);
    expect(byName.get("enroll_contact")?.inputSchema.properties).toHaveProperty("workflowId");
    const { resources } = await client.listResources();
    expect(resources.map((r) => r.uri).sort()).toEqual([
      "nudge://docs/skills-v1.md",
      "nudge://openapi-v1.json",
    ]);
    const brief = await client.readResource({ uri: "nudge://docs/skills-v1.md" });
    expect((brief.contents[0] as { text: string }).text).toContain("## What to use when");
    await client.close();
  });

  it("creates, tests, activates and enrolls through tools; REST sees the enrollment", async () => {
    const { key } = await newOrg();
    const client = await mcpClient(key);
    const wf = json(
      await client.callTool({
        name: "create_workflow",
        arguments: {
          name: "Welcome",
          steps: [{ id: "hello", type: "log", config: { message: "hi {{ contact.email }}" } }],
        },
      }),
    );
    expect(wf.id).toMatch(/^wf_/);
    const trace = json(await client.callTool({ name: "test_workflow", arguments: { id: wf.id } }));
    expect(trace.steps ?? trace.trace).toBeDefined();
    expect(
      json(await client.callTool({ name: "activate_workflow", arguments: { id: wf.id } })).status,
    ).toBe("active");
    const enrolled = json(
      await client.callTool({
        name: "enroll_contact",
        arguments: { workflowId: wf.id, contact: { email: "ada@agents.test" } },
      }),
    );
    expect(enrolled.id).toMatch(/^enr_/);
    const rest = await call("GET", `/v1/enrollments/${enrolled.id}`, { key });
    expect(rest.status).toBe(200);
    expect(rest.json.workflowId).toBe(wf.id);
    await poll(
      async () => (await call("GET", `/v1/enrollments/${enrolled.id}`, { key })).json.status,
      (s) => s === "completed",
    );
    const [one, logs] = json(
      await client.callTool({ name: "get_enrollment", arguments: { id: enrolled.id } }),
    );
    expect(one.status).toBe("completed");
    expect(logs.length).toBeGreaterThan(0);
    // Search, then call any operation by its operationId.
    const found = json(
      await client.callTool({ name: "search_api", arguments: { query: "list enrollments" } }),
    );
    expect(found.map((o: { operationId: string }) => o.operationId)).toContain("listEnrollments");
    const listed = json(
      await client.callTool({
        name: "call_api",
        arguments: { operationId: "listEnrollments", query: { workflowId: wf.id } },
      }),
    );
    expect(listed.data.map((e: { id: string }) => e.id)).toEqual([enrolled.id]);
    await client.close();
  });

  it("returns the API's errors as tool errors, and another org's key sees nothing", async () => {
    const a = await newOrg("A");
    const b = await newOrg("B");
    const wf = (
      await call("POST", "/v1/workflows", {
        key: a.key,
        body: { name: "A's", steps: [{ type: "log", config: { message: "x" } }] },
      })
    ).json;
    const client = await mcpClient(b.key);
    const r = await client.callTool({ name: "get_workflow", arguments: { id: wf.id } });
    expect(r.isError).toBe(true);
    expect(json(r)).toMatchObject({ status: 404, error: "not_found" });
    expect(json(await client.callTool({ name: "list_workflows", arguments: {} })).data).toEqual([]);
    const bad = await client.callTool({
      name: "enroll_contact",
      arguments: { workflowId: wf.id, contact: { email: "not-an-email" } },
    });
    expect(bad.isError).toBe(true);
    expect(json(bad).error).toBe("validation_failed");
    await client.close();
  });

  it("takes the key as `x-api-key` as the API does: every tool call works, the address is never blocked", async () => {
    const { key } = await newOrg();
    // One address of its own: failed authentications are counted per address (5 a minute here).
    const ip = "203.0.113.61";
    const client = await mcpClient(key, { "x-api-key": key, "cf-connecting-ip": ip });
    const wf = await client.callTool({
      name: "create_workflow",
      arguments: { name: "Keyed", steps: [{ type: "log", config: { message: "x" } }] },
    });
    expect(wf.isError, JSON.stringify(wf)).toBeFalsy();
    expect(json(wf).id).toMatch(/^wf_/);
    for (let i = 0; i < 8; i++) {
      const listed = await client.callTool({ name: "list_workflows", arguments: {} });
      expect(listed.isError, JSON.stringify(listed)).toBeFalsy();
      expect(json(listed).data.map((w: { id: string }) => w.id)).toEqual([json(wf).id]);
    }
    await client.close();
    const rest = await call("GET", "/v1/workflows", {
      headers: { "x-api-key": key, "cf-connecting-ip": ip },
    });
    expect(rest.status).toBe(200);
  });

  it("refuses a request without a valid key with 401 in the API's error shape", async () => {
    const res = await call("POST", "/mcp", {
      body: { jsonrpc: "2.0", id: 1, method: "initialize", params: {} },
      headers: { accept: "application/json, text/event-stream" },
    });
    expect(res.status).toBe(401);
    expect(res.json.error).toBe("unauthorized");
  });
});

describe("a fresh deploy with no PUBLIC_URL", () => {
  it("links emails to the origin the API is called on", async () => {
    const configured = env.PUBLIC_URL;
    (env as { PUBLIC_URL?: string }).PUBLIC_URL = "";
    try {
      const { key } = await newOrg();
      const origin = "https://fresh-deploy.example";
      const api = async (method: string, path: string, body?: unknown) => {
        const res = await exports.default.fetch(
          new Request(`${origin}${path}`, {
            method,
            headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
            body: body === undefined ? undefined : JSON.stringify(body),
          }),
        );
        return { status: res.status, json: (await res.json()) as any };
      };
      const wf = await api("POST", "/v1/workflows", {
        name: "Fresh",
        status: "active",
        steps: [
          {
            type: "send_email",
            config: { subject: "Hi", html: '<p><a href="https://acme.test/x">x</a></p>' },
          },
        ],
      });
      expect(wf.status).toBe(201);
      expect(
        (
          await api("POST", "/v1/enrollments", {
            workflowId: wf.json.id,
            contact: { email: "fresh@deploy.test" },
          })
        ).status,
      ).toBe(201);
      const [email] = await poll(
        async () =>
          (await api("GET", "/v1/outbox?to=fresh%40deploy.test")).json.data as {
            html: string;
            headers: Record<string, string>;
          }[],
        (d) => d.length === 1,
      );
      expect(email.html).toContain(`${origin}/t/o/`);
      expect(email.html).toContain(`${origin}/t/c/`);
      expect(email.headers["List-Unsubscribe"]).toMatch(
        new RegExp(`^<${origin.replace(/\./g, "\\.")}/t/u/[^>]+>$`),
      );
    } finally {
      (env as { PUBLIC_URL?: string }).PUBLIC_URL = configured;
    }
  });

  it("learns the origin per org: one org's requests on another host never change another org's links", async () => {
    const configured = env.PUBLIC_URL;
    (env as { PUBLIC_URL?: string }).PUBLIC_URL = "";
    const warnings: string[] = [];
    vi.spyOn(console, "warn").mockImplementation((line: unknown) => {
      warnings.push(String(line));
    });
    try {
      const a = await newOrg("A");
      const b = await newOrg("B");
      const on =
        (origin: string, key: string) => async (method: string, path: string, body?: unknown) => {
          const res = await exports.default.fetch(
            new Request(`${origin}${path}`, {
              method,
              headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
              body: body === undefined ? undefined : JSON.stringify(body),
            }),
          );
          return { status: res.status, json: (await res.json()) as any };
        };
      const apiA = on("https://a.example", a.key);
      const apiB = on("https://b.example", b.key);
      const workflow = {
        name: "Links",
        status: "active",
        steps: [
          {
            type: "send_email",
            config: { subject: "Hi", html: '<p><a href="https://acme.test/x">x</a></p>' },
          },
        ],
      };
      const wfA = (await apiA("POST", "/v1/workflows", workflow)).json;
      const wfB = (await apiB("POST", "/v1/workflows", workflow)).json;
      // Both sends are composed after both orgs' requests (the message queue batches for a
      // second): a deployment-wide origin would give both emails the last request's host.
      expect(
        (
          await apiA("POST", "/v1/enrollments", {
            workflowId: wfA.id,
            contact: { email: "a@x.test" },
          })
        ).status,
      ).toBe(201);
      expect(
        (
          await apiB("POST", "/v1/enrollments", {
            workflowId: wfB.id,
            contact: { email: "b@x.test" },
          })
        ).status,
      ).toBe(201);
      // Read straight from D1: an API request here would itself be a request on some host.
      const mailOf = (orgId: string) =>
        poll(
          () =>
            DB.prepare("select html, headers from outbox where org_id = ?")
              .bind(orgId)
              .first<{ html: string; headers: string }>(),
          (row) => row !== null,
        );
      const [mailA, mailB] = [await mailOf(a.orgId), await mailOf(b.orgId)];
      expect(mailA?.html).toContain("https://a.example/t/c/");
      expect(JSON.parse(mailA?.headers ?? "{}")["List-Unsubscribe"]).toMatch(
        /^<https:\/\/a\.example\/t\/u\//,
      );
      expect(mailB?.html).toContain("https://b.example/t/c/");
      expect(JSON.parse(mailB?.headers ?? "{}")["List-Unsubscribe"]).toMatch(
        /^<https:\/\/b\.example\/t\/u\//,
      );
      // Outside development, learning an origin says PUBLIC_URL should be set.
      const learned = warnings.filter((w) => w.includes("PUBLIC_URL"));
      expect(learned.some((w) => w.includes(a.orgId) && w.includes("https://a.example"))).toBe(
        true,
      );
      expect(learned.some((w) => w.includes(b.orgId) && w.includes("https://b.example"))).toBe(
        true,
      );
    } finally {
      (env as { PUBLIC_URL?: string }).PUBLIC_URL = configured;
    }
  });
});
