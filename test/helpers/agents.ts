// A template agent the way a user sets one up: an OpenAI-compatible connection whose base URL
// the test intercepts (https://llm.test/v1), a template that asks for a structured answer, and
// an agent on that template. Tests change only what they are about.
import { expect } from "vitest";
import { call } from "./api";

export const LLM_BASE = "https://llm.test/v1";

export interface TemplateAgentOptions {
  /** Fields of the template body that replace the defaults (prompt, outputSchema, executionPolicy…). */
  template?: Record<string, unknown>;
  /** Fields of the agent body that replace the defaults (name, configuration…). */
  agent?: Record<string, unknown>;
}

export async function templateAgent(key: string, opts: TemplateAgentOptions = {}) {
  const connection = await call("POST", "/v1/connections", {
    key,
    body: { provider: "openai", credentials: { apiKey: "sk-test", baseUrl: LLM_BASE } },
  });
  expect(connection.status, connection.text).toBe(201);
  const template = await call("POST", "/v1/agent-templates", {
    key,
    body: {
      name: "Qualify",
      prompt: "Qualify: {{ input.message }}",
      outputSchema: {
        type: "object",
        properties: { qualified: { type: "boolean" } },
        required: ["qualified"],
        additionalProperties: false,
      },
      model: { name: "gpt-4o-mini" },
      ...opts.template,
    },
  });
  expect(template.status, template.text).toBe(201);
  const agent = await call("POST", "/v1/agents", {
    key,
    body: { name: "Qualifier", type: "template", templateId: template.json.id, ...opts.agent },
  });
  expect(agent.status, agent.text).toBe(201);
  return {
    id: agent.json.id as string,
    templateId: template.json.id as string,
    connectionId: connection.json.id as string,
  };
}
