// Charts as SVG, pure: a line or bar chart with a title, axis labels, gridlines, a legend and a
// text description, accessible (role="img", <title>, <desc>) and self-contained (no scripts,
// no external fonts), so an email, an agent or the dashboard can embed it as is.

export interface Dataset {
  label: string;
  data: (number | null)[];
}

export interface ChartSpec {
  type: "line" | "bar";
  title: string;
  labels: string[];
  datasets: Dataset[];
  xLabel: string;
  yLabel: string;
  /** Values are ratios 0–1, shown as percentages. */
  percent?: boolean;
}

const W = 800;
const H = 420;
const M = { top: 64, right: 24, bottom: 64, left: 72 };
const PALETTE = [
  "#2563eb",
  "#db2777",
  "#16a34a",
  "#ea580c",
  "#7c3aed",
  "#0891b2",
  "#ca8a04",
  "#475569",
];

const esc = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** A round axis maximum at or above `max`, and its tick step (5 ticks). */
function niceScale(max: number, percent: boolean): { top: number; step: number } {
  if (max <= 0) {
    return { top: percent ? 1 : 5, step: percent ? 0.2 : 1 };
  }
  const raw = max / 5;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const rounded = percent || step < 1 ? step : Math.ceil(step);
  return { top: rounded * Math.ceil(max / rounded), step: rounded };
}

function formatValue(v: number, percent: boolean): string {
  if (percent) {
    return `${Math.round(v * 1000) / 10}%`;
  }
  if (Math.abs(v) >= 1_000_000) {
    return `${Math.round(v / 100_000) / 10}M`;
  }
  if (Math.abs(v) >= 10_000) {
    return `${Math.round(v / 100) / 10}k`;
  }
  return String(Math.round(v * 100) / 100);
}

export function renderSvg(spec: ChartSpec): string {
  const percent = spec.percent === true;
  const plotW = W - M.left - M.right;
  const plotH = H - M.top - M.bottom;
  const n = spec.labels.length;
  const values = spec.datasets.flatMap((d) => d.data.filter((v): v is number => v !== null));
  const { top, step } = niceScale(Math.max(0, ...values), percent);
  const y = (v: number) => M.top + plotH - (v / top) * plotH;
  const slot = plotW / Math.max(n, 1);
  const xCenter = (i: number) => M.left + slot * i + slot / 2;
  const out: string[] = [];
  const summary = spec.datasets
    .map((d) => {
      const total = d.data.reduce<number>((a, v) => a + (v ?? 0), 0);
      return `${d.label}: ${percent ? "average" : "total"} ${formatValue(
        percent ? total / Math.max(1, d.data.filter((v) => v !== null).length) : total,
        percent,
      )}`;
    })
    .join("; ");
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-labelledby="chart-title chart-desc" font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif" font-size="12">`,
    `<title id="chart-title">${esc(spec.title)}</title>`,
    `<desc id="chart-desc">${esc(
      `${spec.type === "line" ? "Line" : "Bar"} chart of ${spec.yLabel} by ${spec.xLabel}, ${spec.labels[0] ?? ""} to ${spec.labels.at(-1) ?? ""}. ${summary}.`,
    )}</desc>`,
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="${M.left}" y="24" font-size="16" font-weight="600" fill="#111827">${esc(spec.title)}</text>`,
  );
  // Grid and y axis.
  out.push('<g class="y-axis" fill="#6b7280" stroke-width="1">');
  for (let v = 0; v <= top + step / 1000; v += step) {
    const yy = y(v).toFixed(1);
    out.push(
      `<line x1="${M.left}" x2="${W - M.right}" y1="${yy}" y2="${yy}" stroke="#e5e7eb"/>`,
      `<text x="${M.left - 8}" y="${yy}" text-anchor="end" dominant-baseline="middle">${formatValue(v, percent)}</text>`,
    );
  }
  out.push(
    `<text transform="translate(16 ${M.top + plotH / 2}) rotate(-90)" text-anchor="middle" fill="#374151">${esc(spec.yLabel)}</text>`,
    "</g>",
  );
  // X axis: at most ~12 labels.
  const every = Math.max(1, Math.ceil(n / 12));
  out.push('<g class="x-axis" fill="#6b7280">');
  out.push(
    `<line x1="${M.left}" x2="${W - M.right}" y1="${M.top + plotH}" y2="${M.top + plotH}" stroke="#9ca3af"/>`,
  );
  spec.labels.forEach((label, i) => {
    if (i % every === 0 || i === n - 1) {
      out.push(
        `<text x="${xCenter(i).toFixed(1)}" y="${M.top + plotH + 18}" text-anchor="middle">${esc(label)}</text>`,
      );
    }
  });
  out.push(
    `<text x="${M.left + plotW / 2}" y="${H - 12}" text-anchor="middle" fill="#374151">${esc(spec.xLabel)}</text>`,
    "</g>",
  );
  // Data.
  const groups = Math.max(spec.datasets.length, 1);
  const barW = Math.max(1, (slot * 0.8) / groups);
  spec.datasets.forEach((d, k) => {
    const color = PALETTE[k % PALETTE.length];
    out.push(`<g class="series" data-label="${esc(d.label)}" fill="${color}" stroke="${color}">`);
    if (spec.type === "line") {
      const path = d.data
        .map((v, i) => (v === null ? null : `${xCenter(i).toFixed(1)},${y(v).toFixed(1)}`))
        .filter((p): p is string => p !== null)
        .join(" ");
      out.push(`<polyline fill="none" stroke-width="2" points="${path}"/>`);
      d.data.forEach((v, i) => {
        if (v !== null) {
          out.push(
            `<circle class="point" cx="${xCenter(i).toFixed(1)}" cy="${y(v).toFixed(1)}" r="3"><title>${esc(`${d.label}, ${spec.labels[i]}: ${formatValue(v, percent)}`)}</title></circle>`,
          );
        }
      });
    } else {
      d.data.forEach((v, i) => {
        if (v !== null) {
          const x = M.left + slot * i + slot * 0.1 + barW * k;
          out.push(
            `<rect class="bar" x="${x.toFixed(1)}" y="${y(v).toFixed(1)}" width="${barW.toFixed(1)}" height="${(M.top + plotH - y(v)).toFixed(1)}" stroke="none"><title>${esc(`${d.label}, ${spec.labels[i]}: ${formatValue(v, percent)}`)}</title></rect>`,
          );
        }
      });
    }
    out.push("</g>");
  });
  // Legend.
  out.push('<g class="legend" fill="#374151">');
  let lx = M.left;
  spec.datasets.forEach((d, k) => {
    const color = PALETTE[k % PALETTE.length];
    out.push(
      `<rect x="${lx}" y="38" width="12" height="12" fill="${color}"/>`,
      `<text x="${lx + 16}" y="48">${esc(d.label)}</text>`,
    );
    lx += 28 + d.label.length * 7;
  });
  out.push("</g>", "</svg>");
  return out.join("\n");
}
