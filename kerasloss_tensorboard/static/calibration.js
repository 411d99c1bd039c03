// The "Calibration" section of the kerasloss tab: is the model's confidence earned? One reliability
// diagram per log_dir (the chosen one first, the others beside it): per bin, the accuracy against
// the diagonal (a calibrated model sits on it), the gap between accuracy and mean confidence
// shaded, the bin's count above it, ECE = Σ (n_b/N)·|acc_b − conf_b| in the title, and, for a
// label-smoothed loss, the confidence its target asks for (1 − ε + ε/K) marked.
// Data: the plugin's `calibration` route. The tab's own helpers come in `ui` (no import back into
// index.js). Group names go into the page as text only.

const chosen = {step: null};  // the epoch shown; null: the last of the chosen log_dir

// a bin's confidence or accuracy is null when it was not finite (the predictions of a diverged model)
const known = ([, , count, confidence, accuracy]) => !count || (confidence !== null && accuracy !== null);

function ece(bins) {
  const total = bins.reduce((sum, b) => sum + b[2], 0);
  if (!total || !bins.every(known)) return null;
  return bins.reduce((sum, [, , n, conf, acc]) => sum + (n / total) * Math.abs(acc - conf), 0);
}

// the record at `step`, else the last one before it, else the first
function recordAt(records, step) {
  const before = records.filter((r) => step === null || r.step <= step);
  return before.length ? before[before.length - 1] : records[0];
}

function diagram(ui, name, record, size) {
  const chart = ui.frame(size, size, [0, 1], [0, 1], {xLabel: "confidence", yLabel: "accuracy"});
  const {x, y, plot, svg} = chart;
  for (const t of [0.2, 0.4, 0.6, 0.8]) {  // the frame ticks whole numbers only (0 and 1)
    svg.appendChild(ui.svgEl("text", {x: x(t), y: y(0) + 16, "text-anchor": "middle"}, t.toFixed(1)));
  }
  plot.appendChild(ui.svgEl("line", {x1: x(0), y1: y(0), x2: x(1), y2: y(1), class: "calibration-diagonal"}));
  for (const [lower, upper, count, confidence, accuracy] of record.bins) {
    if (!count || !known([lower, upper, count, confidence, accuracy])) continue;
    // the bin [1, 1] of confidences exactly 1 (a saturated softmax) gets a sliver of width
    const left = lower === upper ? 1 - 0.012 : lower, right = upper;
    plot.appendChild(ui.svgEl("rect", {x: x(left), y: y(accuracy), width: Math.max(1, x(right) - x(left)),
      height: y(0) - y(accuracy), class: "calibration-bar"}));
    plot.appendChild(ui.svgEl("rect", {x: x(left), y: y(Math.max(accuracy, confidence)),
      width: Math.max(1, x(right) - x(left)), height: Math.abs(y(accuracy) - y(confidence)), class: "calibration-gap"}));
    svg.appendChild(ui.svgEl("text", {x: (x(left) + x(right)) / 2, y: Math.max(chart.m.top + 9, y(Math.max(accuracy,
      confidence)) - 3), "text-anchor": "middle", class: "calibration-count"}, String(Math.round(count))));
  }
  if (record.target !== null && record.target !== undefined) {
    plot.appendChild(ui.svgEl("line", {x1: x(record.target), x2: x(record.target), y1: y(0), y2: y(1),
      class: "calibration-target"}));
    svg.appendChild(ui.svgEl("text", {x: x(record.target) - 4, y: y(0) - 6, "text-anchor": "end",
      class: "calibration-count"}, `target ${ui.format(record.target)}`));
  }
  const label = name === "" ? "(served log directory)" : name;
  return ui.el("div", {class: "cell"}, [ui.el("div", {class: "chart-title",
    text: `${label}: ECE ${ui.format(ece(record.bins))} (epoch ${record.step})`}), svg]);
}

// The section: the chosen log_dir's diagram and every other log_dir's beside it, or null when none
// logged a reliability record.
export async function calibrationSection(group, width, ui) {
  const {groups} = await ui.getJson("./calibration");
  const own = groups.find((g) => g.name === group && g.records.length);
  if (!own) return null;
  const section = ui.el("section", {class: "section", id: "calibration-section"}, [ui.el("h2", {text: "Calibration"})]);
  const redraw = () => calibrationSection(group, width, ui).then((fresh) => fresh && section.replaceWith(fresh));
  const steps = own.records.map((r) => r.step);
  const picker = ui.el("select", {onchange: (event) => { chosen.step = Number(event.target.value); redraw(); }},
    steps.map((s) => ui.el("option", {value: String(s), text: `epoch ${s}`})));
  picker.value = String(chosen.step === null || !steps.includes(chosen.step) ? steps[steps.length - 1] : chosen.step);
  section.appendChild(ui.el("p", {class: "hint", text: "Held-out accuracy per confidence bin against the " +
    "diagonal (calibrated), the gap to the bin's mean confidence shaded red (dark: accuracy above confidence, " +
    "underconfident; light: overconfident), its count above; runs side by side."}));
  section.appendChild(ui.el("label", {class: "picker"}, [ui.el("span", {text: "reliability at "}), picker]));
  const step = Number(picker.value);
  const others = groups.filter((g) => g !== own && g.records.length);
  const size = Math.max(300, Math.min(420, Math.floor((width - 16) / Math.min(3, 1 + others.length))));
  section.appendChild(ui.el("div", {class: "row"},
    [own, ...others].map((g) => diagram(ui, g.name, recordAt(g.records, step), size))));
  return section;
}
