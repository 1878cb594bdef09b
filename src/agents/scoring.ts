// Lead scoring: the transparent rules model over the contact's fields, events, engagement and
// tasks, optionally blended with a template's judgement; the score stored on the contact.
// The judgement is the template's model call, so it runs under the template's execution
// policy: admitted by the template's gate (never waiting there), its cost counted against the
// template's daily budget. Refused — the budget spent, no slot free — the score is the rules'
// alone and its reasons say why: a lead is still scored, by the part that costs nothing.

import { reportingZone } from "../analytics";
import { contactJson, getContact } from "../contacts";
import { errorText, type Logger } from "../ground/log";
import { publish } from "../webhooks";
import { gatedBy, templateGate } from "./admission";
import { askModel } from "./model-call";
import { blendScores, clampScore, scoreByRules, scoringRules } from "./rules";
import { ExecutionFailure, type Run } from "./run";
import { type AgentTemplateRow, getTemplate, scoringCounts, setContactScore } from "./store";

/**
 * Asks the template's model under the template's gate: the answer, or why it was not asked.
 * An agent on that template was admitted by the same gate for this very execution (its cost
 * released there when it ends), so it asks at once.
 */
async function judged(
  run: Run,
  template: AgentTemplateRow,
  scope: Record<string, unknown>,
  log: Logger,
): Promise<{ answer: unknown } | { refused: string }> {
  const { env, db, agent, execution } = run;
  if (gatedBy(agent, template.id)) {
    return { answer: await askModel(run, template, scope) };
  }
  const tz = await reportingZone(db, agent.orgId);
  const gate = templateGate(env, template.id);
  const policy = template.policy;
  // Its own id at the gate: the execution may hold a slot at another gate under its own id.
  const callId = `${execution.id}:score.llm`;
  const verdict = await gate.admit(agent.orgId, callId, policy, tz, false);
  if (verdict === "budget_exhausted") {
    return {
      refused: `template ${template.id}'s daily budget of $${policy.budgetUsdPerDay} is spent until the next day (${tz})`,
    };
  }
  if (verdict !== "run") {
    return {
      refused: `template ${template.id}'s execution policy has no slot free now (${policy.maxConcurrent ?? "∞"} at once, ${policy.maxPerDay ?? "∞"} a day)`,
    };
  }
  const before = run.costUsd;
  try {
    return { answer: await askModel(run, template, scope) };
  } finally {
    // What the turns cost, answered or not. A release that fails leaves the slot to its lease
    // and the spend uncounted; the score already paid for is not failed over the bookkeeping.
    await gate
      .release(agent.orgId, callId, run.costUsd - before, policy, tz)
      .catch((err) => log.warn("score.llm gate not released", { error: errorText(err) }));
  }
}

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
    const judgement = await judged(
      run,
      template,
      {
        input: { contact: shaped, ...counts, rulesScore: byRules.score, reasons: byRules.reasons },
        configuration: agent.configuration,
      },
      log,
    );
    if ("refused" in judgement) {
      run.log("warn", `The model was not asked: ${judgement.refused}`);
      reasons.push(`model judgement skipped: ${judgement.refused}; the rules score stands`);
    } else {
      const answer = judgement.answer as { score?: unknown; reasons?: unknown };
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
