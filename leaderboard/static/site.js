// Sorting, filtering and the selection-source switch of the leaderboard's tables.
// Plain DOM, no dependencies, no network: it works from file://.
"use strict";

function sortKey(cell) {
  const raw = cell.dataset.sort === undefined ? cell.textContent : cell.dataset.sort;
  const num = Number(raw);
  return raw !== "" && !Number.isNaN(num) ? { n: num } : { s: raw.toLowerCase() };
}

function compare(a, b) {
  if (a.n !== undefined && b.n !== undefined) return a.n - b.n;
  if (a.n !== undefined) return -1;  // numbers before blanks and text
  if (b.n !== undefined) return 1;
  return a.s < b.s ? -1 : a.s > b.s ? 1 : 0;
}

function sortTable(table, index, th) {
  const body = table.tBodies[0];
  const next = th.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending";
  for (const other of table.tHead.rows[0].cells) other.removeAttribute("aria-sort");
  th.setAttribute("aria-sort", next);
  const sign = next === "ascending" ? 1 : -1;
  const rows = Array.from(body.rows).map((row, i) => ({ row, i, key: sortKey(row.cells[index]) }));
  rows.sort((x, y) => {
    // blanks (no value) always last, whatever the direction
    const xb = x.key.n === undefined && x.key.s === "", yb = y.key.n === undefined && y.key.s === "";
    if (xb !== yb) return xb ? 1 : -1;
    return sign * compare(x.key, y.key) || x.i - y.i;
  });
  for (const r of rows) body.appendChild(r.row);
}

function applyFilters() {
  const form = document.getElementById("controls");
  if (!form) return;
  const source = (form.querySelector('input[name="source"]:checked') || {}).value || "";
  const mode = form.elements.mode.value;
  const words = form.elements.q.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
  for (const table of document.querySelectorAll("table.leaderboard")) {
    let shown = 0;
    for (const row of table.tBodies[0].rows) {
      const text = row.textContent.toLowerCase();
      const ok = (!source || row.dataset.source === source) && (!mode || row.dataset.mode === mode)
        && words.every((w) => text.includes(w));
      row.hidden = !ok;
      if (ok) shown += 1;
    }
    const count = table.querySelector(".count");
    if (count) count.textContent = `${shown} of ${table.tBodies[0].rows.length} rows shown.`;
  }
  const warning = document.getElementById("oracle-warning");
  if (warning) warning.hidden = source !== "oracle";
}

document.addEventListener("DOMContentLoaded", () => {
  for (const table of document.querySelectorAll("table.leaderboard")) {
    const cells = table.tHead.rows[0].cells;
    Array.from(cells).forEach((th, index) => {
      const button = th.querySelector("button.sort");
      if (button) button.addEventListener("click", () => sortTable(table, index, th));
    });
  }
  const form = document.getElementById("controls");
  if (form) {
    form.addEventListener("input", applyFilters);
    form.addEventListener("change", applyFilters);
    form.addEventListener("submit", (e) => e.preventDefault());
    applyFilters();
  }
});
