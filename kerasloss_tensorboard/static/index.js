// The "kerasloss" TensorBoard tab. TensorBoard loads this ES module in the plugin's iframe (base
// href: plugin/kerasloss/) and calls render(). Data comes from the plugin's routes only (groups,
// group, scalars); every user string (run, tag, hparam) goes into the page as text, never as HTML.

import {ledgerSection} from "./ledger.js";
import {calibrationSection} from "./calibration.js";

const SVG_NS = "http://www.w3.org/2000/svg";
const POLL_MS = 5000;
const ROLES = ["train", "validation"];
// Components: Okabe–Ito's colour-blind-friendly hues, then Tableau tones (vermillion is kept for
// validation lines); regularization and the unexplained rest get fixed greys ("not a component").
const PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#9C755F", "#76B7B2",
                 "#EDC948", "#4E79A7", "#B07AA1"];
const FIXED = {regularization: "#8c8c8c", unexplained: "#d0d0d0"};
// Log directories compared get their own hues (Tol's muted), never a component's colour.
// Compare starts with the first COMPARE_FIRST log directories ticked (more are a tick away).
const COMPARE_FIRST = 8;
const GROUP_PALETTE = ["#332288", "#117733", "#882255", "#44AA99", "#999933", "#AA4499", "#88CCEE", "#DDCC77"];

const state = {groups: [], group: null, data: null, mode: "absolute", compare: null,
               compareTags: null, fingerprint: null, colours: new Map()};

// ---------------------------------------------------------------------------------------- DOM
function el(tag, attrs = {}, children = []) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of [].concat(children)) if (child) node.appendChild(child);
  return node;
}

function svgEl(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

function colour(name) {
  if (FIXED[name]) return FIXED[name];
  if (!state.colours.has(name)) state.colours.set(name, PALETTE[state.colours.size % PALETTE.length]);
  return state.colours.get(name);
}

function groupLabel(name) {
  return name === "" ? "(served log directory)" : name;
}

function format(value) {
  if (value === null || value === undefined || !isFinite(value)) return "–";
  const a = Math.abs(value);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return value.toExponential(3);
  return value.toPrecision(4).replace(/\.?0+$/, "");
}

async function getJson(path) {
  const response = await fetch(path);
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return response.json();
}

// -------------------------------------------------------------------------------- axes, scales
function niceStep(lo, hi, count) {
  const raw = (hi - lo) / count;
  const power = Math.pow(10, Math.floor(Math.log10(raw)));
  return [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= raw) || raw;
}

// [lo, hi] widened to multiples of a round step, so the data never leaves the axes.
function niceDomain(lo, hi, count = 5) {
  if (!(hi > lo)) hi = lo + (Math.abs(lo) || 1);
  const step = niceStep(lo, hi, count);
  return [Math.floor(lo / step + 1e-9) * step, Math.ceil(hi / step - 1e-9) * step];
}

function niceTicks(lo, hi, count = 5) {
  if (!(hi > lo)) hi = lo + 1;
  const step = niceStep(lo, hi, count);
  const ticks = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(+t.toPrecision(12));
  return ticks;
}

let clipCount = 0;

function frame(width, height, xDomain, yDomain, {xLabel = "epoch", yLabel = "", yFormat = format} = {}) {
  const m = {left: 58, right: 14, top: 12, bottom: 34};
  const svg = svgEl("svg", {width, height, viewBox: `0 0 ${width} ${height}`, class: "chart"});
  const [x0, x1] = xDomain[0] === xDomain[1] ? [xDomain[0] - 0.5, xDomain[1] + 0.5] : xDomain;
  const [y0, y1] = yDomain[0] === yDomain[1] ? [yDomain[0] - 0.5, yDomain[1] + 0.5] : yDomain;
  const x = (v) => m.left + ((v - x0) / (x1 - x0)) * (width - m.left - m.right);
  const y = (v) => height - m.bottom - ((v - y0) / (y1 - y0)) * (height - m.top - m.bottom);
  const axes = svgEl("g", {class: "axes"});
  for (const t of niceTicks(y0, y1)) {
    axes.appendChild(svgEl("line", {x1: m.left, x2: width - m.right, y1: y(t), y2: y(t), class: "grid"}));
    axes.appendChild(svgEl("text", {x: m.left - 6, y: y(t) + 4, "text-anchor": "end"}, yFormat(t)));
  }
  const xTicks = niceTicks(x0, x1, Math.max(2, Math.min(8, Math.floor(width / 80))))
    .filter((t) => Number.isInteger(t) && t >= x0 && t <= x1);
  for (const t of xTicks) {
    axes.appendChild(svgEl("line", {x1: x(t), x2: x(t), y1: height - m.bottom, y2: height - m.bottom + 4, class: "tick"}));
    axes.appendChild(svgEl("text", {x: x(t), y: height - m.bottom + 16, "text-anchor": "middle"}, String(t)));
  }
  axes.appendChild(svgEl("line", {x1: m.left, x2: width - m.right, y1: height - m.bottom, y2: height - m.bottom, class: "axis"}));
  axes.appendChild(svgEl("text", {x: (m.left + width - m.right) / 2, y: height - 4, "text-anchor": "middle", class: "label"}, xLabel));
  if (yLabel) {
    axes.appendChild(svgEl("text", {x: 12, y: (m.top + height - m.bottom) / 2, "text-anchor": "middle",
      transform: `rotate(-90 12 ${(m.top + height - m.bottom) / 2})`, class: "label"}, yLabel));
  }
  svg.appendChild(axes);
  // the data's layer, clipped to the plot area (3 px of slack for markers on its edges)
  const clip = `kerasloss-clip-${++clipCount}`;
  svg.appendChild(svgEl("clipPath", {id: clip}, undefined)).appendChild(svgEl("rect", {x: m.left - 3, y: m.top - 3,
    width: width - m.left - m.right + 6, height: height - m.top - m.bottom + 6}));
  const plot = svg.appendChild(svgEl("g", {"clip-path": `url(#${clip})`}));
  return {svg, plot, x, y, m, width, height, xDomain: [x0, x1]};
}

// ------------------------------------------------------------------------------------ tooltip
const tooltip = el("div", {class: "tooltip", role: "tooltip"});

function showTooltip(event, title, rows) {
  tooltip.replaceChildren(el("div", {class: "tip-title", text: title}));
  for (const [name, swatch, text] of rows) {
    tooltip.appendChild(el("div", {class: "tip-row"}, [
      el("span", {class: "swatch", style: `background:${swatch}`}), el("span", {text: name}),
      el("span", {class: "tip-value", text}),
    ]));
  }
  tooltip.style.display = "block";
  const pad = 14;
  const left = Math.min(event.clientX + pad, window.innerWidth - tooltip.offsetWidth - 4);
  const top = Math.min(event.clientY + pad, window.innerHeight - tooltip.offsetHeight - 4);
  tooltip.style.left = `${Math.max(4, left)}px`;
  tooltip.style.top = `${Math.max(4, top)}px`;
}

function hideTooltip() { tooltip.style.display = "none"; }

// Hovering a chart picks the nearest step and calls rowsAt(step) for the tooltip's rows.
function hover(chart, steps, rowsAt) {
  const cursor = svgEl("line", {class: "cursor", y1: chart.m.top, y2: chart.height - chart.m.bottom, visibility: "hidden"});
  const area = svgEl("rect", {x: chart.m.left, y: chart.m.top, width: chart.width - chart.m.left - chart.m.right,
    height: chart.height - chart.m.top - chart.m.bottom, class: "hover-area"});
  chart.svg.append(cursor, area);
  area.addEventListener("mousemove", (event) => {
    if (!steps.length) return;
    const box = chart.svg.getBoundingClientRect();
    const px = event.clientX - box.left;
    let best = steps[0];
    for (const s of steps) if (Math.abs(chart.x(s) - px) < Math.abs(chart.x(best) - px)) best = s;
    cursor.setAttribute("x1", chart.x(best)); cursor.setAttribute("x2", chart.x(best));
    cursor.setAttribute("visibility", "visible");
    showTooltip(event, `step ${best}`, rowsAt(best));
  });
  area.addEventListener("mouseleave", () => { cursor.setAttribute("visibility", "hidden"); hideTooltip(); });
}

function legend(items) {
  return el("div", {class: "legend"}, items.map(({name, swatch, dash, note}) => el("span", {class: "legend-item"}, [
    el("span", {class: dash ? "swatch dashed" : "swatch", style: dash ? `border-color:${swatch}` : `background:${swatch}`}),
    el("span", {text: name}), note ? el("span", {class: "note", text: note}) : null,
  ])));
}

// ------------------------------------------------------------------------------- stacked bands
// A band's value at step i: w·component, or its share of loss/total (%) in share mode.
function bandValue(run, mode) {
  if (mode !== "share") return (band, i) => band.values[i] || 0;
  return (band, i) => (run.total[i] ? (100 * (band.values[i] || 0)) / run.total[i] : 0);
}

// Bands stack away from zero: positive values upwards, negative ones (CosineSimilarity's
// −similarity, KLDivergence's −target_entropy) downwards, so each band keeps its own height and
// the axis can hold them all; their sum is loss/total (the dashed line).
function stackBands(run, mode) {
  const value = bandValue(run, mode);
  const up = run.steps.map(() => 0), down = run.steps.map(() => 0);
  return run.bands.map((band) => {
    const lower = [], upper = [];
    run.steps.forEach((_, i) => {
      const v = value(band, i), side = v < 0 ? down : up;
      lower.push(side[i]); upper.push(side[i] + v); side[i] += v;
    });
    return {band, lower, upper};
  });
}

// [lo, hi] of every stacked edge (and the total line) of `runs`, 0 included; share mode keeps 0–100 %.
function stackDomain(runs, mode) {
  let lo = 0, hi = mode === "share" ? 100 : 0;
  for (const run of runs) {
    for (const {lower, upper} of stackBands(run, mode)) {
      for (const v of lower.concat(upper)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    }
    if (mode !== "share") for (const t of run.total) if (t !== null) { lo = Math.min(lo, t); hi = Math.max(hi, t); }
  }
  return niceDomain(lo, hi > lo ? hi : lo + 1);
}

function stackChart(run, width, height, yDomain, mode) {
  const steps = run.steps;
  const share = mode === "share";
  const chart = frame(width, height, [Math.min(...steps), Math.max(...steps)], yDomain,
    {yLabel: share ? "share of loss/total (%)" : "loss", yFormat: share ? (v) => `${format(v)}%` : format});
  if (yDomain[0] < 0) {
    chart.svg.insertBefore(svgEl("line", {x1: chart.m.left, x2: width - chart.m.right, y1: chart.y(0), y2: chart.y(0),
      class: "zero"}), chart.plot);
  }
  for (const {band, lower, upper} of stackBands(run, mode)) {
    const top = steps.map((s, i) => `${chart.x(s)},${chart.y(upper[i])}`);
    const bottom = steps.map((s, i) => `${chart.x(s)},${chart.y(lower[i])}`).reverse();
    const y0 = Math.min(chart.y(upper[0]), chart.y(lower[0])), y1 = Math.max(chart.y(upper[0]), chart.y(lower[0]));
    const shape = steps.length > 1
      ? svgEl("polygon", {points: top.concat(bottom).join(" "), fill: colour(band.name), class: "band"})
      : svgEl("rect", {x: chart.x(steps[0]) - 6, width: 12, y: y0, height: y1 - y0, fill: colour(band.name), class: "band"});
    shape.appendChild(svgEl("title", {}, band.name));
    chart.plot.appendChild(shape);
  }
  if (!share) {
    const path = steps.map((s, i) => `${i ? "L" : "M"}${chart.x(s)},${chart.y(run.total[i] ?? 0)}`).join("");
    chart.plot.appendChild(svgEl("path", {d: path, class: "total-line"}));
  }
  hover(chart, steps, (step) => {
    const i = steps.indexOf(step);
    const rows = run.bands.slice().reverse().map((band) => {
      const v = band.values[i];
      const pct = run.total[i] ? ` (${format((100 * (v || 0)) / run.total[i])}%)` : "";
      return [band.name, colour(band.name), `${format(v)}${pct}`];
    });
    rows.push(["loss/total", "#222", format(run.total[i])]);
    return rows;
  });
  return chart.svg;
}

function lossSection(panels, width) {
  const section = el("section", {class: "section", id: "loss-section"}, [
    el("h2", {text: "What the loss is made of"}),
    el("p", {class: "hint", text: "Each band is w·component (the weight the loss adds it with): positive bands stack " +
      "up from 0, negative ones (a negative weight) down; together they add up to loss/total (dashed line). " +
      "Train and validation share one scale."}),
  ]);
  if (!panels.length) {
    section.appendChild(el("p", {class: "empty", text: "No loss/ tags in this log directory's train or validation runs."}));
    return section;
  }
  for (const panel of panels) {
    const title = panel.output === null ? (panels.length > 1 ? "Whole model" : "Loss") : `Output ${panel.output}`;
    const box = el("div", {class: "panel"}, [el("h3", {text: title}), el("span", {class: "tag", text: panel.total_tag})]);
    const roles = ROLES.filter((role) => panel.runs[role]);
    const yDomain = stackDomain(roles.map((role) => panel.runs[role]), state.mode);
    const row = el("div", {class: "row"});
    const chartWidth = Math.floor((width - 16 * (roles.length - 1)) / Math.max(1, roles.length));
    for (const role of roles) {
      row.appendChild(el("div", {class: "cell"}, [
        el("div", {class: "role", text: role}),
        stackChart(panel.runs[role], chartWidth, 260, yDomain, state.mode),
      ]));
    }
    box.appendChild(row);
    const bands = panel.runs[roles[0]].bands;
    box.appendChild(legend(bands.map((b) => ({name: b.name, swatch: colour(b.name),
      note: b.name === "regularization" || b.name === "unexplained" ? null : `× ${format(b.weight)}`}))
      .concat(state.mode === "share" ? [] : [{name: "loss/total", swatch: "#222", dash: true}])));
    if (panel.weights_source === "estimated") {
      box.appendChild(el("p", {class: "hint", text: "Weights estimated by least squares from the logged values " +
        "(this log directory has no kerasloss/component_weights record)."}));
    }
    section.appendChild(box);
  }
  return section;
}

// -------------------------------------------------------------------------------------- lines
function lineChart(series, width, height, options = {}) {
  const all = series.flatMap((s) => s.points.filter((p) => p[1] !== null));
  if (!all.length) return el("p", {class: "empty", text: "no values"});
  const xs = all.map((p) => p[0]);
  const ys = all.map((p) => p[1]);
  const lo = Math.min(...ys), hi = Math.max(...ys);
  const pad = (hi - lo) * 0.04 || Math.abs(hi) * 0.05 || 1;
  const chart = frame(width, height, [Math.min(...xs), Math.max(...xs)], niceDomain(lo - pad, hi + pad), options);
  for (const s of series) {
    const pts = s.points.filter((p) => p[1] !== null);
    const d = pts.map((p, i) => `${i ? "L" : "M"}${chart.x(p[0])},${chart.y(p[1])}`).join("");
    chart.plot.appendChild(svgEl("path", {d, stroke: s.colour, class: s.dash ? "line dashed" : "line"}));
    for (const p of pts) chart.plot.appendChild(svgEl("circle", {cx: chart.x(p[0]), cy: chart.y(p[1]), r: 2.5, fill: s.colour}));
  }
  const steps = [...new Set(xs)].sort((a, b) => a - b);
  hover(chart, steps, (step) => series.map((s) => {
    const p = s.points.find((q) => q[0] === step);
    return [s.name, s.colour, p ? format(p[1]) : "–"];
  }));
  return chart.svg;
}

function smallMultiples(items, width) {
  const per = Math.max(1, Math.min(4, Math.floor(width / 320)));
  const w = Math.floor((width - 16 * (per - 1)) / per);
  const grid = el("div", {class: "grid"});
  grid.style.gridTemplateColumns = `repeat(${per}, ${w}px)`;
  for (const {title, series, yLabel} of items) {
    grid.appendChild(el("div", {class: "cell"}, [
      el("div", {class: "chart-title", text: title}),
      lineChart(series, w, 190, {yLabel}),
      legend(series.map((s) => ({name: s.name, swatch: s.colour, dash: s.dash}))),
    ]));
  }
  return grid;
}

const ROLE_COLOUR = {train: "#0072B2", validation: "#D55E00", posthoc: "#009E73"};

function byTag(roleLines) {
  const tags = new Map();
  for (const role of ROLES) {
    for (const [tag, points] of Object.entries(roleLines[role] || {})) {
      if (!tags.has(tag)) tags.set(tag, []);
      tags.get(tag).push({name: role, colour: ROLE_COLOUR[role], dash: role === "validation", points});
    }
  }
  return [...tags.entries()].map(([tag, series]) => ({title: tag, series}));
}

function diagnosticsSection(diagnostics, width) {
  const items = byTag(diagnostics);
  if (!items.length) return null;
  return el("section", {class: "section", id: "diagnostics-section"}, [
    el("h2", {text: "Diagnostics"}),
    el("p", {class: "hint", text: "By-products of the loss's own pass (diagnostics/ tags), weighted means per epoch."}),
    smallMultiples(items, width),
  ]);
}

// ---------------------------------------------------------------------- entropy distribution
const DENSITY = "#0072B2";
const MEAN_LINE = "#D55E00";

function histogramChart(frames, width, height, meanPoints) {
  if (!frames.length) return el("p", {class: "empty", text: "no histograms"});
  const lo = Math.min(...frames.flatMap((f) => f.buckets.map((b) => b[0])));
  const hi = Math.max(...frames.flatMap((f) => f.buckets.map((b) => b[1])));
  const steps = frames.map((f) => f.step);
  const chart = frame(width, height, [Math.min(...steps) - 0.5, Math.max(...steps) + 0.5], [lo, hi],
    {yLabel: "entropy (nats)"});
  const bins = 24;
  const edges = Array.from({length: bins + 1}, (_, i) => lo + ((hi - lo) * i) / bins);
  const columnWidth = Math.max(2, (chart.x(1) - chart.x(0)) * 0.9);
  const densities = frames.map((f) => {
    const counts = new Array(bins).fill(0);
    const total = f.buckets.reduce((s, b) => s + b[2], 0) || 1;
    for (const [left, right, count] of f.buckets) {
      // spread each bucket's count over the bins it overlaps, in proportion to the overlap
      const span = right - left;
      for (let k = 0; k < bins; k++) {
        const overlap = Math.min(right, edges[k + 1]) - Math.max(left, edges[k]);
        if (span <= 0) { if (left >= edges[k] && left <= edges[k + 1]) { counts[k] += count; break; } }
        else if (overlap > 0) counts[k] += (count * overlap) / span;
      }
    }
    return counts.map((c) => c / total);
  });
  const peak = Math.max(...densities.flat()) || 1;
  frames.forEach((f, j) => {
    densities[j].forEach((d, k) => {
      if (d <= 0) return;
      const rect = svgEl("rect", {x: chart.x(f.step) - columnWidth / 2, width: columnWidth,
        y: chart.y(edges[k + 1]), height: Math.max(1, chart.y(edges[k]) - chart.y(edges[k + 1])),
        fill: DENSITY, "fill-opacity": (0.08 + 0.92 * d / peak).toFixed(3)});
      chart.svg.appendChild(rect);
    });
  });
  const means = (meanPoints || []).filter((p) => p[1] !== null);
  if (means.length) {
    const d = means.map((p, i) => `${i ? "L" : "M"}${chart.x(p[0])},${chart.y(p[1])}`).join("");
    chart.svg.appendChild(svgEl("path", {d, stroke: MEAN_LINE, class: "line"}));
  }
  hover(chart, steps, (step) => {
    const j = steps.indexOf(step);
    const f = frames[j];
    const n = f.buckets.reduce((s, b) => s + b[2], 0);
    const mean = f.buckets.reduce((s, b) => s + ((b[0] + b[1]) / 2) * b[2], 0) / (n || 1);
    const logged = means.find((p) => p[0] === step);
    return [["examples", DENSITY, format(n)], ["mean (bucket centres)", DENSITY, format(mean)],
            ["entropy/mean (logged)", MEAN_LINE, logged ? format(logged[1]) : "–"],
            ["range", DENSITY, `${format(Math.min(...f.buckets.map((b) => b[0])))} – ${format(Math.max(...f.buckets.map((b) => b[1])))}`]];
  });
  return chart.svg;
}

function entropySection(entropy, histograms, width) {
  const items = byTag(entropy);
  const hist = Object.entries(histograms || {}).flatMap(([role, tags]) =>
    Object.entries(tags).map(([tag, frames]) => ({role, tag, frames})));
  if (!items.length && !hist.length) return null;
  const section = el("section", {class: "section", id: "entropy-section"}, [
    el("h2", {text: "How certain the model is"}),
    el("p", {class: "hint", text: "Prediction entropy: mean and normalized (÷ log K) per epoch; the distribution " +
      "of per-example entropies on held-out data (darker: more examples)."}),
  ]);
  if (items.length) section.appendChild(smallMultiples(items, width));
  for (const {role, tag, frames} of hist) {
    const w = Math.min(width, 900);
    section.appendChild(el("div", {class: "cell"}, [
      el("div", {class: "chart-title", text: `${tag} · ${role} (distribution over epochs)`}),
      histogramChart(frames, w, 240, ((entropy || {})[role] || {})[tag.replace(/per_example$/, "mean")]),
      legend([{name: "share of examples (darker: more)", swatch: DENSITY},
              {name: tag.replace(/per_example$/, "mean"), swatch: MEAN_LINE}]),
    ]));
  }
  return section;
}

// ----------------------------------------------------------------------------------- post-hoc
function posthocSection(metrics, width) {
  const items = Object.entries(metrics).map(([tag, points]) => ({
    title: tag, yLabel: "held-out", series: [{name: "posthoc", colour: ROLE_COLOUR.posthoc, points}]}));
  const section = el("section", {class: "section posthoc", id: "posthoc-section"}, [
    el("h2", {text: "How good the model is: held-out post-hoc metrics"}),
    el("p", {class: "hint", text: "Run posthoc: Keras metrics on held-out data, evaluated outside the training " +
      "step. Not losses: each has its own axis, never shared with the loss."}),
  ]);
  section.appendChild(items.length ? smallMultiples(items, width)
    : el("p", {class: "empty", text: "No metrics/ tags in this log directory's posthoc run."}));
  return section;
}

// ------------------------------------------------------------------------------- compare runs
function differingHparams(groups) {
  const names = new Set(groups.flatMap((g) => Object.keys(g.hparams)));
  return [...names].filter((n) => groups.length === 1 ||
    new Set(groups.map((g) => JSON.stringify(g.hparams[n]))).size > 1).sort();
}

// Only the hparams this log directory has: another loss's arguments are no difference of its own.
function hparamsText(group, names) {
  return names.filter((n) => group.hparams[n] !== undefined && group.hparams[n] !== null)
    .map((n) => `${n}=${group.hparams[n]}`).join(", ");
}

// A log directory's hue: Tol's muted for the first ones, then golden-angle hues (30 runs stay apart).
function groupColour(group) {
  const i = state.groups.indexOf(group);
  return i < GROUP_PALETTE.length ? GROUP_PALETTE[i] : `hsl(${Math.round((i * 137.508) % 360)}, 60%, 40%)`;
}

// A compared tag is [role, tag]; its key (JSON) is what the selectors hold.
const tagLabel = ([role, tag]) => `${tag} · ${role}`;

function defaultCompareTags(keys) {
  // held-out figures compare fairly across different losses; loss/total does not
  const wanted = [JSON.stringify(["validation", "entropy/mean"]),
                  keys.find((k) => JSON.parse(k)[0] === "posthoc"),
                  JSON.stringify(["validation", "loss/total"])];
  const found = wanted.filter((k) => k && keys.includes(k)).slice(0, 2);
  return found.length ? found : keys.slice(0, 1);
}

async function compareChart(key, chosen, names, width) {
  const [role, tag] = JSON.parse(key);
  const series = [];
  for (const g of chosen) {
    if (!g.runs[role] || !(g.tags[role] || []).includes(tag)) continue;
    const extra = hparamsText(g, names);
    series.push({name: extra ? `${groupLabel(g.name)} (${extra})` : groupLabel(g.name), colour: groupColour(g),
      points: getJson(`./scalars?${new URLSearchParams({run: g.runs[role], tag})}`)});
  }
  for (const s of series) s.points = await s.points;  // fetched side by side, not one after another
  const remove = el("button", {type: "button", class: "remove", title: "remove this chart", text: "×",
    onclick: () => { state.compareTags = state.compareTags.filter((k) => k !== key); redraw(); }});
  return el("div", {class: "cell"}, [
    el("div", {class: "chart-title"}, [el("span", {text: tagLabel([role, tag])}), remove]),
    lineChart(series, width, 240, {yLabel: role === "posthoc" ? "held-out" : tag}),
    legend(series.map((s) => ({name: s.name, swatch: s.colour}))),
  ]);
}

async function compareSection(width) {
  const section = el("section", {class: "section", id: "compare-section"}, [
    el("h2", {text: "Compare runs"}),
    el("p", {class: "hint", text: "Select log directories and the tags to overlay; each legend gives the hparams " +
      "that differ between the selected log directories." + (state.groups.length > COMPARE_FIRST
        ? ` ${state.groups.length} log directories: the first ${COMPARE_FIRST} start selected.` : "")}),
  ]);
  const keys = [...new Set(state.groups.flatMap((g) => Object.entries(g.tags).flatMap(
    ([role, tags]) => tags.map((t) => JSON.stringify([role, t])))))].sort();
  state.compareTags = (state.compareTags || defaultCompareTags(keys)).filter((k) => keys.includes(k));
  if (state.compare === null) state.compare = new Set(state.groups.slice(0, COMPARE_FIRST).map((g) => g.name));
  const pickers = el("div", {class: "pickers"});
  for (const g of state.groups) {
    const box = el("input", {type: "checkbox", onchange: (e) => {
      if (e.target.checked) state.compare.add(g.name); else state.compare.delete(g.name);
      redraw();
    }});
    box.checked = state.compare.has(g.name);
    pickers.appendChild(el("label", {class: "picker"}, [box, el("span", {text: groupLabel(g.name)})]));
  }
  const add = el("select", {class: "tag-select", "aria-label": "add a tag", onchange: (e) => {
    if (e.target.value) state.compareTags = state.compareTags.concat([e.target.value]);
    redraw();
  }}, [el("option", {value: "", text: "add a tag…"})].concat(
    keys.filter((k) => !state.compareTags.includes(k)).map((k) => el("option", {value: k, text: tagLabel(JSON.parse(k))}))));
  section.append(pickers, el("label", {class: "picker"}, [add]));
  const chosen = state.groups.filter((g) => state.compare.has(g.name));
  if (!chosen.length || !state.compareTags.length) return section;
  const names = differingHparams(chosen);
  const per = state.compareTags.length > 1 && width >= 900 ? 2 : 1;
  const w = Math.floor((width - 16 * (per - 1)) / per);
  const grid = el("div", {class: "grid"});
  grid.style.gridTemplateColumns = `repeat(${per}, ${w}px)`;
  for (const key of state.compareTags) grid.appendChild(await compareChart(key, chosen, names, w));
  section.appendChild(grid);
  return section;
}

// ------------------------------------------------------------------------------------- layout
const root = el("div", {class: "kerasloss"});
const header = el("header", {class: "header"});
const body = el("main", {class: "body"});
const status = el("span", {class: "status"});

function controls() {
  const select = el("select", {class: "group-select", "aria-label": "log directory", onchange: async (e) => {
    state.group = e.target.value; await loadGroup(); redraw();
  }}, state.groups.map((g) => {
    const opt = el("option", {value: g.name, text: groupLabel(g.name)});
    opt.selected = g.name === state.group;
    return opt;
  }));
  const toggle = el("div", {class: "toggle", role: "group", "aria-label": "values"}, ["absolute", "share"].map((mode) =>
    el("button", {type: "button", class: mode === state.mode ? "active" : "", "aria-pressed": String(mode === state.mode),
      text: mode === "absolute" ? "absolute" : "share of total (%)", onclick: () => { state.mode = mode; redraw(); }})));
  const group = state.groups.find((g) => g.name === state.group);
  const hparams = group ? Object.entries(group.hparams).map(([k, v]) => `${k}=${v}`).join("  ") : "";
  header.replaceChildren(
    el("span", {class: "title", text: "kerasloss"}),
    el("label", {class: "picker"}, [el("span", {text: "log directory: "}), select]),
    ...[toggle, status, hparams ? el("div", {class: "hparams", text: `hparams: ${hparams}`}) : null].filter(Boolean),
  );
}

let drawing = Promise.resolve();
function redraw() {
  drawing = drawing.then(draw).catch((err) => { status.textContent = `error: ${err.message}`; });
  return drawing;
}

async function draw() {
  controls();
  // the width inside a section (its padding and border)
  const width = Math.max(560, (body.clientWidth || window.innerWidth - 40) - 40);
  if (!state.groups.length) {
    body.replaceChildren(el("p", {class: "empty", text: "No kerasloss tags (loss/, entropy/, metrics/, diagnostics/) " +
      "in train, validation or posthoc runs yet. The tab refreshes by itself."}));
    return;
  }
  const data = state.data;
  const sections = [
    lossSection(data.loss, width), diagnosticsSection(data.diagnostics, width),
    entropySection(data.entropy, data.histograms, width), posthocSection(data.metrics, width),
    await calibrationSection(state.group, width, {el, svgEl, frame, format, getJson}),
    await ledgerSection(state.group, width, {el, svgEl, frame, format, getJson, legend, GROUP_PALETTE}),
    state.groups.length > 1 ? await compareSection(width) : null,
  ].filter(Boolean);
  body.replaceChildren(...sections);
}

async function loadGroup() {
  state.data = state.group === null ? null : await getJson(`./group?${new URLSearchParams({name: state.group})}`);
  // colours follow first appearance in the loss panels, so a component keeps its colour everywhere
  for (const panel of state.data ? state.data.loss : []) {
    for (const run of Object.values(panel.runs)) for (const b of run.bands) colour(b.name);
  }
}

async function refresh() {
  const {groups} = await getJson("./groups");
  const fingerprint = JSON.stringify(groups);
  if (fingerprint === state.fingerprint) return;
  state.fingerprint = fingerprint;
  state.groups = groups;
  if (!groups.some((g) => g.name === state.group)) state.group = groups.length ? groups[0].name : null;
  await loadGroup();
  status.textContent = `updated ${new Date().toLocaleTimeString()}`;
  await redraw();
}

// TensorBoard calls render(); a report (kerasloss_tensorboard.report) has its style inlined and
// its data fixed: render({stylesheet: null, poll: false}).
export async function render({stylesheet = "./static/style.css", poll = true} = {}) {
  if (stylesheet) document.head.appendChild(el("link", {rel: "stylesheet", href: stylesheet}));
  root.append(header, body, tooltip);
  document.body.appendChild(root);
  await refresh().catch((err) => { status.textContent = `error: ${err.message}`; });
  // TensorBoard's reload button and newly written runs: poll the runs, redraw only what changed
  if (poll) setInterval(() => refresh().catch((err) => { status.textContent = `error: ${err.message}`; }), POLL_MS);
  let resizeTimer = null;
  window.addEventListener("resize", () => { clearTimeout(resizeTimer); resizeTimer = setTimeout(redraw, 150); });
}
