// Sign in with an API key: checked against GET /v1/account before it is kept.
import { NudgeError, run, session } from "../api";
import { busy, field, h } from "../dom";
import { Nudge, operations } from "../../sdk/src/index";

export async function loginPage(_p: Record<string, string>, query: URLSearchParams) {
  const key = h("input", {
    type: "password",
    name: "apiKey",
    autocomplete: "off",
    spellcheck: "false",
    required: true,
    placeholder: "nk_live_…",
  });
  const problem = h("p", { class: "error", role: "alert", hidden: !query.get("reason") }, query.get("reason") ?? "");
  const button = h("button", { type: "submit" }, "Sign in");
  const form = h(
    "form",
    {
      class: "login",
      onsubmit: (e: Event) => {
        e.preventDefault();
        void busy(button, async () => {
          problem.hidden = true;
          const candidate = key.value.trim();
          try {
            const client = new Nudge({ apiKey: candidate, baseUrl: location.origin, maxRetries: 0 });
            await run(operations.getAccount({ client: client.client }));
            session.signIn(candidate);
            location.hash = "#/workflows";
          } catch (err) {
            problem.hidden = false;
            problem.textContent =
              err instanceof NudgeError && err.status === 401
                ? "That key was not accepted: it is wrong, revoked or expired."
                : (err as Error).message.includes("wrong, revoked")
                  ? "That key was not accepted: it is wrong, revoked or expired."
                  : `Could not sign in: ${(err as Error).message}`;
          }
        });
      },
    },
    field(
      "API key",
      key,
      "npm start prints a development key. It stays in this tab only and is sent as a Bearer header.",
    ),
    problem,
    button,
  );
  return [
    h("h1", {}, "Sign in to Nudge"),
    h("p", {}, "Watch and steer your workflows, enrollments and messages."),
    form,
  ];
}
