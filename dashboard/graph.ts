// A picture of a workflow: steps laid out in layers (each step one layer below the furthest of
// its parents, loops drawn back up), ordered within a layer by their parents' positions, with
// each step's counts on its node. Drawn as SVG with a title and description; the funnel table
// beside it carries the same figures as text.
import { s } from "./dom";

export interface GraphStep {
  id: string;
  name?: string | null;
  type: string;
}
export interface GraphEdge {
  from: string;
  to: string;
  on?: string | null;
}
export interface StepCounts {
  active?: number;
  entered?: number;
  completed?: number;
}

const W = 190;
const H = 64;
const GAP_X = 40;
const GAP_Y = 56;

/** Layers by longest path from the first step, ignoring edges that close a loop. */
export function layout(steps: GraphStep[], edges: GraphEdge[]) {
  const out = new Map<string, string[]>();
  for (const e of edges) {
    out.set(e.from, [...(out.get(e.from) ?? []), e.to]);
  }
  const back = new Set<string>();
  const state = new Map<string, "open" | "done">();
  const visit = (id: string) => {
    state.set(id, "open");
    for (const to of out.get(id) ?? []) {
      if (state.get(to) === "open") {
        back.add(`${id}>${to}`);
      } else if (!state.has(to)) {
        visit(to);
      }
    }
    state.set(id, "done");
  };
  for (const st of steps) {
    if (!state.has(st.id)) {
      visit(st.id);
    }
  }
  const layer = new Map(steps.map((st) => [st.id, 0]));
  // Longest path over the forward edges (at most |steps| rounds).
  for (let round = 0; round < steps.length; round++) {
    let moved = false;
    for (const e of edges) {
      if (back.has(`${e.from}>${e.to}`) || !layer.has(e.from) || !layer.has(e.to)) {
        continue;
      }
      const want = (layer.get(e.from) ?? 0) + 1;
      if ((layer.get(e.to) ?? 0) < want) {
        layer.set(e.to, want);
        moved = true;
      }
    }
    if (!moved) {
      break;
    }
  }
  const layers: string[][] = [];
  for (const st of steps) {
    const l = layer.get(st.id) ?? 0;
    (layers[l] ??= []).push(st.id);
  }
  // Order each layer by the mean position of its parents in the layer above.
  const x = new Map<string, number>();
  layers.forEach((ids, l) => {
    if (l > 0) {
      const centre = (id: string) => {
        const parents = edges.filter((e) => e.to === id && x.has(e.from)).map((e) => x.get(e.from) ?? 0);
        return parents.length ? parents.reduce((a, b) => a + b, 0) / parents.length : 0;
      };
      ids.sort((a, b) => centre(a) - centre(b));
    }
    ids.forEach((id, i) => x.set(id, i));
  });
  const widest = Math.max(1, ...layers.map((ids) => ids.length));
  const pos = new Map<string, { x: number; y: number }>();
  layers.forEach((ids, l) => {
    const offset = ((widest - ids.length) * (W + GAP_X)) / 2;
    ids.forEach((id, i) => pos.set(id, { x: 20 + offset + i * (W + GAP_X), y: 20 + l * (H + GAP_Y) }));
  });
  return {
    pos,
    back,
    width: 40 + widest * W + (widest - 1) * GAP_X,
    height: 40 + layers.length * H + Math.max(0, layers.length - 1) * GAP_Y,
  };
}

export function workflowGraph(
  title: string,
  steps: GraphStep[],
  edges: GraphEdge[],
  counts: Map<string, StepCounts>,
): SVGElement {
  const { pos, back, width, height } = layout(steps, edges);
  const nodes = steps.map((st) => {
    const p = pos.get(st.id) ?? { x: 0, y: 0 };
    const c = counts.get(st.id) ?? {};
    return s(
      "g",
      { class: `node ${st.type}`, transform: `translate(${p.x},${p.y})` },
      s("rect", { width: W, height: H, rx: 8 }),
      s("text", { x: 10, y: 22, class: "node-name" }, (st.name ?? st.id).slice(0, 26)),
      s("text", { x: 10, y: 40, class: "node-type" }, st.type),
      s(
        "text",
        { x: 10, y: 56, class: "node-counts" },
        `${c.active ?? 0} here · ${c.entered ?? 0} entered · ${c.completed ?? 0} done`,
      ),
    );
  });
  const lines = edges.flatMap((e) => {
    const a = pos.get(e.from);
    const b = pos.get(e.to);
    if (!a || !b) {
      return [];
    }
    const x1 = a.x + W / 2;
    const y1 = a.y + H;
    const x2 = b.x + W / 2;
    const y2 = b.y;
    const loop = back.has(`${e.from}>${e.to}`);
    const d = loop
      ? `M${a.x + W},${a.y + H / 2} C${a.x + W + 60},${a.y + H / 2} ${b.x + W + 60},${b.y + H / 2} ${b.x + W},${b.y + H / 2}`
      : `M${x1},${y1} C${x1},${y1 + GAP_Y / 2} ${x2},${y2 - GAP_Y / 2} ${x2},${y2}`;
    return [
      s("path", { d, class: loop ? "edge loop" : "edge", "marker-end": "url(#arrow)" }),
      e.on
        ? s(
            "text",
            { x: loop ? a.x + W + 34 : (x1 + x2) / 2 + 4, y: loop ? (a.y + b.y + H) / 2 : (y1 + y2) / 2, class: "edge-label" },
            e.on,
          )
        : null,
    ];
  });
  const desc = steps
    .map((st) => {
      const c = counts.get(st.id) ?? {};
      return `${st.name ?? st.id} (${st.type}): ${c.active ?? 0} here now, ${c.entered ?? 0} entered`;
    })
    .join("; ");
  return s(
    "svg",
    {
      class: "graph",
      role: "img",
      "aria-labelledby": "graph-title graph-desc",
      viewBox: `0 0 ${width + 80} ${height}`,
      width: width + 80,
      height,
    },
    s("title", { id: "graph-title" }, title),
    s("desc", { id: "graph-desc" }, desc),
    s(
      "defs",
      {},
      s(
        "marker",
        { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" },
        s("path", { d: "M0,0 L10,5 L0,10 z", class: "arrowhead" }),
      ),
    ),
    lines,
    nodes,
  );
}
