// A horizontal bar chart of SPARQL JSON results, drawn as inline SVG with no library and
// no network. It draws when the results have one column whose every value is a number
// (the counts) and at least one other column (the labels): the shape of a GROUP BY query.
(function () {
  "use strict";

  const SVG = "http://www.w3.org/2000/svg";
  const MAX_BARS = 40;
  const ROW_HEIGHT = 22;
  const LABEL_WIDTH = 220;
  const BAR_WIDTH = 360;
  const NUMBER_TYPES = /#(integer|decimal|double|float|long|int|short|nonNegativeInteger)$/;

  function isNumber(term) {
    return Boolean(term) && term.type === "literal" && NUMBER_TYPES.test(term.datatype || "");
  }

  // Return the names of the label column and the count column, or null for other shapes.
  function chartColumns(variables, bindings) {
    if (bindings.length === 0) {
      return null;
    }
    const numeric = variables.filter((name) => bindings.every((row) => isNumber(row[name])));
    if (numeric.length !== 1) {
      return null;
    }
    const count = numeric[0];
    const others = variables.filter((name) => name !== count);
    const label = others.find((name) => bindings.some((row) => row[name] && row[name].type === "literal")) || others[0];
    return label ? { label: label, count: count } : null;
  }

  function element(name, attributes, text) {
    const node = document.createElementNS(SVG, name);
    Object.entries(attributes).forEach(([key, value]) => node.setAttribute(key, String(value)));
    if (text !== undefined) {
      node.textContent = text;
    }
    return node;
  }

  function shortLabel(term) {
    if (!term) {
      return "(none)";
    }
    const text = term.type === "uri" ? term.value.replace(/^.*[/#]/, "") : term.value;
    return text.length > 30 ? text.slice(0, 29) + "…" : text;
  }

  function clear(target) {
    target.replaceChildren();
  }

  function draw(target, variables, bindings) {
    clear(target);
    const columns = chartColumns(variables, bindings);
    if (!columns) {
      return;
    }

    const rows = bindings.slice(0, MAX_BARS);
    const maximum = Math.max(...rows.map((row) => Number(row[columns.count].value)), 1);
    const height = rows.length * ROW_HEIGHT + 10;
    const width = LABEL_WIDTH + BAR_WIDTH + 60;
    const svg = element("svg", {
      viewBox: `0 0 ${width} ${height}`,
      role: "img",
      "aria-labelledby": "results-chart-title",
      class: "bar-chart",
    });
    svg.append(element("title", { id: "results-chart-title" }, `${columns.count} per ${columns.label}`));

    rows.forEach((row, index) => {
      const value = Number(row[columns.count].value);
      const y = index * ROW_HEIGHT + 5;
      const length = Math.max(1, (value / maximum) * BAR_WIDTH);
      svg.append(element("text", { x: LABEL_WIDTH - 8, y: y + 14, "text-anchor": "end" }, shortLabel(row[columns.label])));
      svg.append(element("rect", { x: LABEL_WIDTH, y: y + 2, width: length, height: ROW_HEIGHT - 6, class: "bar" }));
      svg.append(element("text", { x: LABEL_WIDTH + length + 6, y: y + 14 }, String(value)));
    });

    const heading = document.createElement("p");
    heading.className = "chart-caption";
    heading.textContent = `Bar chart: ${columns.count} per ${columns.label}` +
      (bindings.length > MAX_BARS ? ` (first ${MAX_BARS} of ${bindings.length} rows)` : "");
    target.append(heading, svg);
  }

  window.notekgChart = { draw: draw, clear: clear, chartColumns: chartColumns };
})();
