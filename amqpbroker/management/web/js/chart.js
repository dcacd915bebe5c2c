// A small SVG line chart for rates, and the client-side history it draws.

const SVG = "http://www.w3.org/2000/svg";
const PALETTE = ["#0f766e", "#2563eb", "#d97706", "#9333ea", "#dc2626", "#4b5563"];

function s(tag, attrs = {}, text) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

/** Samples of named values over time, the last `keepMs` of them. */
export class History {
  constructor(keepMs = 10 * 60 * 1000) {
    this.keepMs = keepMs;
    this.samples = []; // [{t, values: {name: number}}]
  }
  add(values, t = Date.now()) {
    this.samples.push({ t, values });
    while (this.samples.length && this.samples[0].t < t - this.keepMs) this.samples.shift();
  }
}

/** "Nice" upper bound and tick step for the y axis. */
function niceScale(max) {
  if (!(max > 0)) return { top: 1, step: 0.25 };
  const rough = max / 4;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((m) => m >= rough);
  return { top: step * Math.ceil(max / step), step };
}

function tickLabel(value) {
  if (value >= 1e6) return `${+(value / 1e6).toFixed(1)}M`;
  if (value >= 1e3) return `${+(value / 1e3).toFixed(1)}k`;
  return `${+value.toFixed(2)}`;
}

function clock(t, seconds) {
  const options = { hour12: false, hour: "2-digit", minute: "2-digit" };
  if (seconds) options.second = "2-digit";
  return new Date(t).toLocaleTimeString("en-GB", options);
}

const TIME_STEPS = [10, 15, 30, 60, 120, 300].map((s) => s * 1000);

/** The time window drawn: the history's span (at least a minute, at most `keepMs`), so a
 * page opened a moment ago fills its chart. */
function timeWindow(history, now) {
  const first = history.samples.length ? history.samples[0].t : now;
  const span = Math.min(history.keepMs, Math.max(60000, now - first));
  const step = TIME_STEPS.find((s) => span / s <= 6) || TIME_STEPS[TIME_STEPS.length - 1];
  return { from: now - span, span, step };
}

/**
 * Draw `history` into `container` (class "chart"): one line per series
 * [{key, label, dashed}], y axis in `unit`, time axis over the history's window, and a legend with
 * the latest values.
 */
export function drawChart(container, history, series, unit = "/s") {
  const width = 760, height = 210, left = 48, right = 16, top = 22, bottom = 24;
  const plotW = width - left - right, plotH = height - top - bottom;
  const now = history.samples.length ? history.samples[history.samples.length - 1].t : Date.now();
  const { from, span, step: timeStep } = timeWindow(history, now);
  let max = 0;
  for (const sample of history.samples) for (const { key } of series) max = Math.max(max, sample.values[key] || 0);
  const { top: yTop, step } = niceScale(max);
  const x = (t) => left + ((t - from) / span) * plotW;
  const y = (v) => top + plotH - (v / yTop) * plotH;

  const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": series.map((x) => x.label).join(", ") });
  for (let v = 0; v <= yTop + step / 2; v += step) {
    svg.append(s("line", { class: v ? "grid-line" : "axis", x1: left, x2: width - right, y1: y(v), y2: y(v) }));
    svg.append(s("text", { x: left - 6, y: y(v) + 4, "text-anchor": "end" }, tickLabel(v)));
  }
  svg.append(s("text", { x: left - 6, y: top - 10, "text-anchor": "end" }, unit));
  for (let t = Math.ceil(from / timeStep) * timeStep; t <= now; t += timeStep) {
    svg.append(s("line", { class: "axis", x1: x(t), x2: x(t), y1: top + plotH, y2: top + plotH + 4 }));
    svg.append(s("text", { x: x(t), y: height - 6, "text-anchor": "middle" }, clock(t, timeStep < 60000)));
  }
  series.forEach(({ key, dashed }, index) => {
    const points = history.samples.filter((p) => typeof p.values[key] === "number")
      .map((p) => `${x(p.t).toFixed(1)},${y(p.values[key]).toFixed(1)}`);
    if (points.length) {
      const line = s("polyline", { class: "series", points: points.join(" "), stroke: PALETTE[index % PALETTE.length] });
      if (dashed) line.setAttribute("stroke-dasharray", "5 4"); // (a sum drawn over its parts)
      svg.append(line);
    }
  });
  const last = history.samples[history.samples.length - 1];
  const legend = document.createElement("div");
  legend.className = "legend";
  series.forEach(({ key, label }, index) => {
    const item = document.createElement("span");
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.background = PALETTE[index % PALETTE.length];
    const value = document.createElement("span");
    value.className = "value";
    const latest = last && last.values[key];
    const suffix = !unit.endsWith("/s") ? "" : unit.startsWith("/") ? unit : ` ${unit}`; // (a count is bare)
    value.textContent = typeof latest === "number" ? `${+latest.toFixed(2)}${suffix}` : "–";
    item.append(swatch, label, value);
    legend.append(item);
  });
  container.replaceChildren(svg, legend);
}
