// Lead scoring: the transparent rules model over the contact's fields, events, engagement and
// tasks, optionally blended with a template's judgement; the score stored on the contact.

import { contactJson, getContact } from "../contacts";
import { errorText, type Logger } from "../ground/log";
import { publish } from "../webhooks";
import { askModel } from "./model-call";
import { blendScores, clampScore, scoreByRules, scoringRules } from "./rules";
import { ExecutionFailure, type Run } from "./run";
import { getTemplate, scoringCounts, setContactScore } from "./store";

/** Scores the contact the execution names, stores the score and tells the org's webhooks. */
export async function scoreContact(run: Run, log: Logger) {
  const { env, db, execution, agent } = run;
  const contactId = String(execution.input.contactId ?? "");
  const contact = await getContact(db, agent.orgId, contactId);
  if (!contact || contact.erasedAt) {
    throw new ExecutionFailure("not_found", `Contact ${contactId} not found`);
  }
  const rules = scoringRules(agent.configuration);
  const now = Date.now();
  const counts = await scoringCounts(db, agent.orgId, contact.id, now - rules.days * 86_400_000);
  const shaped = contactJson(contact);
  const byRules = scoreByRules(rules, { contact: shaped, ...counts });
  let score = byRules.score;
  const reasons = [...byRules.reasons];
  let modelScore: number | null = null;
  if (rules.llm) {
    const template = await getTemplate(db, agent.orgId, rules.llm.templateId);
    if (!template) {
      throw new ExecutionFailure(
        "not_found",
        `Agent template ${rules.llm.templateId} (score.llm.templateId) not found`,
      );
    }
    const answer = (await askModel(run, template, {
      input: { contact: shaped, ...counts, rulesScore: byRules.score, reasons: byRules.reasons },
      configuration: agent.configuration,
    })) as { score?: unknown; reasons?: unknown };
    if (typeof answer?.score !== "number") {
      throw new ExecutionFailure(
        "output_invalid",
        "A scoring template's output must have a numeric `score` (0–100)",
      );
    }
    modelScore = clampScore(answer.score);
    score = blendScores(byRules.score, modelScore, rules.llm.weight);
    reasons.push(
      `model judgement ${modelScore} weighted ${rules.llm.weight} (rules ${byRules.score} → ${score})`,
      ...(Array.isArray(answer.reasons) ? answer.reasons.map((r) => `model: ${String(r)}`) : []),
    );
  }
  if (reasons.length === 0) {
    reasons.push("No scoring rule matched (configure score.* keys on the agent)");
  }
  const stored = await setContactScore(db, agent.orgId, contact.id, score, now);
  if (!stored) {
    throw new ExecutionFailure("not_found", `Contact ${contactId} not found`);
  }
  run.log("info", `Scored contact ${contact.id}: ${score}`);
  await publish(
    env,
    db,
    agent.orgId,
    "contact.scored",
    { contactId: contact.id, agentId: agent.id, executionId: execution.id, score, reasons },
    { key: `${execution.id}:scored` },
  ).catch((err) => log.warn("contact.scored not published", { error: errorText(err) }));
  return {
    contactId: contact.id,
    score,
    reasons,
    rulesScore: byRules.score,
    modelScore,
    scoredAt: new Date(now).toISOString(),
  };
}
