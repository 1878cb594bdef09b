// Workflow graph validation: types, configs, transitions, reachability, wait-free cycles,
// outcomes a step can produce, and referenced templates. Pure; returns problems.
import { STEP_TYPES } from "./steps";
import type { StepDef, TransitionDef } from "./types";

export interface GraphProblem {
  path: string;
  message: string;
}

type Issue = {
  code?: string;
  path: PropertyKey[];
  message: string;
  errors?: Issue[][];
  keys?: string[];
};

/** A union's error names the branch that came closest (fewest issues), not just "invalid input". */
function specificIssues(issues: Issue[]): Issue[] {
  return issues.flatMap((issue) => {
    if (issue.code !== "invalid_union" || !issue.errors?.length) {
      return [issue];
    }
    const best = [...issue.errors].sort((a, b) => a.length - b.length)[0];
    return specificIssues(best.map((i) => ({ ...i, path: [...issue.path, ...i.path] })));
  });
}

/** A step config's problems, relative to the config; an unknown field is one problem each. */
function configProblems(type: string, config: unknown): GraphProblem[] {
  const parsed = STEP_TYPES[type]?.config.safeParse(config ?? {});
  if (!parsed || parsed.success) {
    return [];
  }
  return specificIssues(parsed.error.issues as Issue[]).flatMap((issue) =>
    issue.code === "unrecognized_keys"
      ? (issue.keys ?? []).map((key) => ({
          path: [...issue.path.map(String), key].join("."),
          message: `Unknown field "${key}" for a ${type} step`,
        }))
      : [{ path: issue.path.map(String).join("."), message: issue.message }],
  );
}

/** A step config's fields its type does not know, as dotted paths relative to the config. */
export const unknownConfigFields = (type: string, config: unknown): string[] =>
  configProblems(type, config)
    .filter((p) => p.message.startsWith("Unknown field"))
    .map((p) => p.path);

export function validateGraph(
  steps: StepDef[],
  transitions: TransitionDef[],
  knownTemplateIds: Set<string>,
): GraphProblem[] {
  const problems: GraphProblem[] = [];
  const byId = new Map<string, StepDef>();
  const parsedConfigs = new Map<string, unknown>();

  steps.forEach((s, i) => {
    if (byId.has(s.id)) {
      problems.push({ path: `steps.${i}.id`, message: `Duplicate step id "${s.id}"` });
    }
    byId.set(s.id, s);
    const type = STEP_TYPES[s.type];
    if (!type) {
      problems.push({
        path: `steps.${i}.type`,
        message: `Unknown step type "${s.type}" (see GET /v1/workflows/step-types)`,
      });
      return;
    }
    const parsed = type.config.safeParse(s.config ?? {});
    if (!parsed.success) {
      for (const p of configProblems(s.type, s.config)) {
        problems.push({
          path: [`steps.${i}.config`, p.path].filter(Boolean).join("."),
          message: p.message,
        });
      }
      return;
    }
    parsedConfigs.set(s.id, parsed.data);
    for (const p of type.lint?.(parsed.data) ?? []) {
      problems.push({ path: `steps.${i}.config.${p.path}`, message: p.message });
    }
    const templateId = (s.config as { templateId?: unknown }).templateId;
    if (
      s.type === "send_email" &&
      typeof templateId === "string" &&
      !knownTemplateIds.has(templateId)
    ) {
      problems.push({
        path: `steps.${i}.config.templateId`,
        message: `Template "${templateId}" does not exist`,
      });
    }
  });

  const seenTransitions = new Set<string>();
  transitions.forEach((t, i) => {
    if (seenTransitions.has(t.id)) {
      problems.push({ path: `transitions.${i}.id`, message: `Duplicate transition id "${t.id}"` });
    }
    seenTransitions.add(t.id);
    const from = byId.get(t.from);
    if (!from) {
      problems.push({
        path: `transitions.${i}.from`,
        message: `Transition from unknown step "${t.from}"`,
      });
    }
    if (!byId.has(t.to)) {
      problems.push({
        path: `transitions.${i}.to`,
        message: `Transition to unknown step "${t.to}"`,
      });
    }
    if (from && t.on !== undefined && parsedConfigs.has(from.id)) {
      const outcomes = STEP_TYPES[from.type].outcomes(parsedConfigs.get(from.id) as never);
      if (!outcomes.includes(t.on)) {
        problems.push({
          path: `transitions.${i}.on`,
          message: `Step "${from.id}" (${from.type}) cannot produce outcome "${t.on}"; it produces ${outcomes.map((o) => `"${o}"`).join(", ") || "nothing"}`,
        });
      }
    }
    if (from?.type === "exit") {
      problems.push({
        path: `transitions.${i}.from`,
        message: `An exit step ("${from.id}") has no outgoing transitions`,
      });
    }
  });
  if (problems.length > 0 || steps.length === 0) {
    return problems;
  }

  const out = new Map<string, string[]>();
  for (const t of transitions) {
    out.set(t.from, [...(out.get(t.from) ?? []), t.to]);
  }

  // Reachability from the entry (the first step).
  const reached = new Set<string>([steps[0].id]);
  const queue = [steps[0].id];
  while (queue.length) {
    for (const next of out.get(queue.shift() as string) ?? []) {
      if (!reached.has(next)) {
        reached.add(next);
        queue.push(next);
      }
    }
  }
  steps.forEach((s, i) => {
    if (!reached.has(s.id)) {
      problems.push({
        path: `steps.${i}`,
        message: `Step "${s.id}" is unreachable from the entry step "${steps[0].id}"`,
      });
    }
  });

  // A cycle must pass through a step that is guaranteed to pause, or it would spin forever.
  const pauses = (id: string) => {
    const s = byId.get(id);
    return s !== undefined && STEP_TYPES[s.type].pauses(parsedConfigs.get(id) as never);
  };
  const color = new Map<string, 0 | 1 | 2>();
  const visit = (id: string, path: string[]): string[] | null => {
    color.set(id, 1);
    for (const next of out.get(id) ?? []) {
      if (pauses(next)) {
        continue;
      }
      if (color.get(next) === 1) {
        return [...path, id, next];
      }
      if (!color.get(next)) {
        const found = visit(next, [...path, id]);
        if (found) {
          return found;
        }
      }
    }
    color.set(id, 2);
    return null;
  };
  for (const s of steps) {
    if (pauses(s.id) || color.get(s.id)) {
      continue;
    }
    const cycle = visit(s.id, []);
    if (cycle) {
      const start = cycle.indexOf(cycle[cycle.length - 1]);
      problems.push({
        path: "transitions",
        message: `Cycle with no delay or wait in it: ${cycle.slice(start).join(" → ")} (a loop must pass through a wait_for_event, or a delay of at least 60 s by amount and unit)`,
      });
      break;
    }
  }
  return problems;
}
