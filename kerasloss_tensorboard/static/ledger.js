// The "Examples" section of the kerasloss tab: ExampleLedger's hardest examples (a sortable table
// with a loss sparkline per example), its dataset cartography (confidence against variability, with
// the three regions of Swayamdipta et al., 2020) and the runs compared by their ledger/ scalars.
// Data: the plugin's `ledger?name=<group>` route. The tab's own helpers come in `ui` (no import
// back into index.js). Ids and run names go into the page as text only.

const COLUMNS = [  // [field, header, hardest first when ascending]
  ["id", "id", true], ["label", "label", true], ["predicted", "predicted", true], ["aum", "AUM", true],
  ["mean_loss", "mean loss", false], ["confidence", "confidence", true], ["variability", "variability", false],
  ["correctness", "correctness", true],
];
const sortState = {field: "aum", ascending: true};
// cartography regions: variability above AMBIGUOUS is "ambiguous"; below it, confidence splits
// "easy to learn" from "hard to learn" (the paper's map read with fixed lines)
const AMBIGUOUS = 0.2;
const HARD = 0.5;

function sparkline(ui, values, width = 90, height = 22) {
  const svg = ui.svgEl("svg", {width, height, class: "sparkline"});
  const points = values.map((v, i) => [i, v]).filter(([, v]) => v !== null && isFinite(v));
  if (points.length < 2) return svg;
  const lo = Math.min(...points.map((p) => p[1])), hi = Math.max(...points.map((p) => p[1]));
  const x = (i) => 2 + (i / Math.max(1, values.length - 1)) * (width - 4);
  const y = (v) => height - 2 - (hi === lo ? 0.5 : (v - lo) / (hi - lo)) * (height - 4);
  svg.appendChild(ui.svgEl("polyline", {points: points.map(([i, v]) => `${x(i)},${y(v)}`).join(" "),
    fill: "none", stroke: "#e65100", "stroke-width": 1.5}));
  return svg;
}

function table(ui, record, redraw) {
  const rows = [...record.rows];
  const {field, ascending} = sortState;
  rows.sort((a, b) => {
    const va = a[field] ?? Infinity, vb = b[field] ?? Infinity;
    return (va < vb ? -1 : va > vb ? 1 : 0) * (ascending ? 1 : -1);
  });
  const head = ui.el("tr", {}, COLUMNS.map(([name, text, hardest]) => ui.el("th", {
    class: name === field ? "sorted" : "", text: name === field ? `${text} ${ascending ? "▲" : "▼"}` : text,
    onclick: () => {
      sortState.ascending = name === sortState.field ? !sortState.ascending : hardest;
      sortState.field = name;
      redraw();
    },
  })).concat([ui.el("th", {text: "loss per epoch"})]));
  const body = rows.map((row) => ui.el("tr", {class: row.label !== row.predicted && record.classifier ? "mismatch" : ""},
    COLUMNS.map(([name]) => ui.el("td", {text: typeof row[name] === "number" && !Number.isInteger(row[name])
      ? ui.format(row[name]) : String(row[name] ?? "–")})).concat([ui.el("td", {}, [sparkline(ui, row.loss)])])));
  return ui.el("div", {class: "ledger-table"}, [ui.el("table", {}, [ui.el("thead", {}, [head]), ui.el("tbody", {}, body)])]);
}

function cartography(ui, points, width, height) {
  // null: not finite (a diverged model's examples), drawn nowhere
  const shown = points.confidence.map((c, i) => [c, points.variability[i], points.correctness[i]])
    .filter((point) => point.every((v) => v !== null));
  const maxVar = Math.max(AMBIGUOUS * 1.5, ...shown.map((point) => point[1]));
  const chart = ui.frame(width, height, [0, maxVar], [0, 1], {xLabel: "variability", yLabel: "confidence"});
  const {x, y, svg} = chart;
  const regions = [
    ["easy to learn", 0, AMBIGUOUS, HARD, 1], ["hard to learn", 0, AMBIGUOUS, 0, HARD],
    ["ambiguous", AMBIGUOUS, maxVar, 0, 1],
  ];
  for (const [name, x0, x1, y0, y1] of regions) {
    svg.appendChild(ui.svgEl("rect", {x: x(x0), y: y(y1), width: x(x1) - x(x0), height: y(y0) - y(y1),
      class: `region region-${name.split(" ")[0]}`}));
    svg.appendChild(ui.svgEl("text", {x: x(x0) + 6, y: y(y1) + 14, class: "region-label"}, name));
  }
  for (let t = 0.1; t < maxVar; t += 0.1) {  // the frame ticks whole epochs only
    svg.appendChild(ui.svgEl("text", {x: x(t), y: y(0) + 16, "text-anchor": "middle"}, t.toFixed(1)));
  }
  for (const [confidence, variability, correctness] of shown) {
    svg.appendChild(ui.svgEl("circle", {cx: x(variability), cy: y(confidence), r: 2,
      fill: `hsl(${Math.round(120 * correctness)}, 70%, 40%)`, "fill-opacity": 0.6}));
  }
  return ui.el("div", {class: "cell"}, [ui.el("div", {class: "chart-title",
    text: `cartography (${shown.length} examples; colour: correctness, red 0 → green 1)`}), svg]);
}

function compare(ui, lines, width) {
  const byTag = new Map();
  for (const line of lines) byTag.set(line.tag, [...(byTag.get(line.tag) || []), line]);
  return [...byTag].map(([tag, group]) => {
    const all = group.flatMap((l) => l.points);
    const steps = all.map((p) => p[0]), values = all.map((p) => p[1]).filter((v) => v !== null);
    const chart = ui.frame(width, 200, [Math.min(...steps), Math.max(...steps)],
      [Math.min(0, ...values), Math.max(...values)], {yLabel: tag});
    group.forEach((line, i) => {
      const colour = ui.GROUP_PALETTE[i % ui.GROUP_PALETTE.length];
      chart.svg.appendChild(ui.svgEl("polyline", {fill: "none", stroke: colour, "stroke-width": 1.5,
        points: line.points.filter((p) => p[1] !== null).map(([s, v]) => `${chart.x(s)},${chart.y(v)}`).join(" ")}));
    });
    return ui.el("div", {class: "cell"}, [ui.el("div", {class: "chart-title", text: tag}), chart.svg,
      ui.legend(group.map((line, i) => ({name: line.run, swatch: ui.GROUP_PALETTE[i % ui.GROUP_PALETTE.length]})))]);
  });
}

// The section for log_dir `group`, or null when no ExampleLedger wrote there.
export async function ledgerSection(group, width, ui) {
  const {records, compare: lines} = await ui.getJson(`./ledger?${new URLSearchParams({name: group})}`);
  if (!records.length) return null;
  const section = ui.el("section", {class: "section", id: "ledger-section"}, [ui.el("h2", {text: "Examples"})]);
  const redraw = () => ledgerSection(group, width, ui).then((fresh) => section.replaceWith(fresh));
  for (const record of records) {
    const last = record.epochs[record.epochs.length - 1];
    section.appendChild(ui.el("p", {class: "hint", text: (record.output ? `output ${record.output}: ` : "") +
      `${record.size} examples, ${record.epochs.length} evaluated epochs (last step ${last}); ` +
      (record.classifier ? `${record.suspects} likely label errors below the automatic cut; the ` +
        `${record.rows.length} lowest AUM (mean margin) listed` : `the ${record.rows.length} highest mean losses listed`)}));
    const half = Math.max(360, Math.floor((width - 16) / 2));
    section.appendChild(ui.el("div", {class: "row"}, [table(ui, record, redraw),
      record.cartography ? cartography(ui, record.cartography, half, 320) : null]));
  }
  const runs = new Set(lines.map((l) => l.run));
  if (runs.size > 1) {
    section.appendChild(ui.el("div", {class: "chart-title", text: "runs compared"}));
    section.appendChild(ui.el("div", {class: "row"}, compare(ui, lines, Math.max(320, Math.floor((width - 16) / 2)))));
  }
  return section;
}
