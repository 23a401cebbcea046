(function () {
  "use strict";
  var root = document.documentElement;

  // Choosing KPIs: the columns and the chart of a KPI not chosen are hidden by one style.
  var boxes = Array.prototype.slice.call(document.querySelectorAll("#kpis input[data-kpi]"));
  function applyChoice() {
    var selectors = [];
    var shown = 0;
    boxes.forEach(function (box) {
      if (box.checked) { shown += 1; return; }
      box.getAttribute("data-positions").split(" ").forEach(function (position) {
        if (/^[0-9]+$/.test(position)) { selectors.push("table.report tr>:nth-child(" + position + ")"); }
      });
      var name = box.getAttribute("data-kpi");
      if (/^[A-Za-z0-9_]+$/.test(name)) { selectors.push('figure[data-kpi="' + name + '"]'); }
    });
    document.getElementById("hidden-kpis").textContent =
      selectors.length ? selectors.join(",") + "{display:none}" : "";
    document.getElementById("kpi-count").textContent = String(shown);
  }
  boxes.forEach(function (box) { box.addEventListener("change", applyChoice); });
  Array.prototype.forEach.call(document.querySelectorAll("#kpis button[data-choose]"), function (button) {
    button.addEventListener("click", function () {
      var how = button.getAttribute("data-choose");
      var first = Number(button.getAttribute("data-first") || 0);
      boxes.forEach(function (box, index) {
        box.checked = how === "all" || (how === "first" && index < first);
      });
      applyChoice();
    });
  });

  // Drill-downs: a parent's button shows its children; hiding them hides their own too.
  function rowsOf(tbody) { return Array.prototype.slice.call(tbody.rows); }
  function setExpanded(tbody, row, open) {
    var button = row.querySelector("button.toggle");
    if (button) {
      button.setAttribute("aria-expanded", open ? "true" : "false");
      button.textContent = open ? "\u25BE" : "\u25B8";
    }
    var name = row.getAttribute("data-segment");
    rowsOf(tbody).forEach(function (other) {
      if (other.getAttribute("data-parent") === name && other !== row) {
        other.hidden = !open;
        if (!open) { setExpanded(tbody, other, false); }
      }
    });
  }
  Array.prototype.forEach.call(document.querySelectorAll("table.report button.toggle"), function (button) {
    button.addEventListener("click", function () {
      var row = button.closest("tr");
      setExpanded(row.parentNode, row, button.getAttribute("aria-expanded") !== "true");
    });
  });

  // Sorting: siblings are ordered among themselves, children stay under their parent, and
  // the all-users baseline stays first. Empty values go last either way.
  function sortKey(row, position) {
    // The label alone: not the drill-down button's arrow nor the mark of a changed definition.
    if (position === "label") { return row.cells[0].querySelector(".label").textContent.trim().toLowerCase(); }
    var value = row.cells[Number(position)].getAttribute("data-v");
    if (value === null || value === "") { return null; }
    var number = Number(value);
    return isNaN(number) ? value : number;
  }
  function sortTable(table, header) {
    var position = header.getAttribute("data-sort");
    var descending = header.getAttribute("aria-sort") !== "descending";
    Array.prototype.forEach.call(table.querySelectorAll("th[aria-sort]"), function (th) { th.removeAttribute("aria-sort"); });
    header.setAttribute("aria-sort", descending ? "descending" : "ascending");
    var tbody = table.tBodies[0];
    var rows = rowsOf(tbody);
    var names = {};
    rows.forEach(function (row) { names[row.getAttribute("data-segment")] = true; });
    var children = {};
    var roots = [];
    rows.forEach(function (row, index) {
      var parent = row.getAttribute("data-parent");
      if (index > 0 && parent && names[parent]) {
        (children[parent] = children[parent] || []).push(row);
      } else if (index > 0 || !row.classList.contains("baseline")) {
        roots.push(row);
      }
    });
    function compare(a, b) {
      var x = sortKey(a, position), y = sortKey(b, position);
      if (x === null || y === null) { return x === y ? 0 : (x === null ? 1 : -1); }
      var order = x < y ? -1 : (x > y ? 1 : 0);
      return descending ? -order : order;
    }
    var ordered = rows[0].classList.contains("baseline") ? [rows[0]] : [];
    function place(list) {
      list.slice().sort(compare).forEach(function (row) {
        ordered.push(row);
        place(children[row.getAttribute("data-segment")] || []);
      });
    }
    place(roots);
    ordered.forEach(function (row) { tbody.appendChild(row); });
  }
  Array.prototype.forEach.call(document.querySelectorAll("table.report th[data-sort]"), function (header) {
    header.addEventListener("click", function () { sortTable(header.closest("table"), header); });
  });

  // A month series: one table per month, chosen here.
  var period = document.getElementById("period");
  if (period) {
    period.addEventListener("change", function () {
      Array.prototype.forEach.call(document.querySelectorAll("#segments div.period"), function (div) {
        div.hidden = div.getAttribute("data-index") !== period.value;
      });
    });
  }

  // Line charts: the line nearest the pointer, its month and value.
  var tooltip = document.getElementById("tooltip");
  Array.prototype.forEach.call(document.querySelectorAll("svg.lines"), function (svg) {
    var months = svg.getAttribute("data-months").split("|");
    var left = Number(svg.getAttribute("data-left"));
    var step = Number(svg.getAttribute("data-step"));
    var paths = Array.prototype.slice.call(svg.querySelectorAll("path.line"));
    // The y of a line's point in month `index`, read from its `d` (`M x y L x y …`).
    function pointAt(path, index) {
      var numbers = path.getAttribute("d").replace(/[ML]/g, " ").trim().split(/\s+/).map(Number);
      for (var i = 0; i + 1 < numbers.length; i += 2) {
        if (Math.round((numbers[i] - left) / (step || 1)) === index) { return numbers[i + 1]; }
      }
      return null;
    }
    svg.addEventListener("mousemove", function (event) {
      var point = svg.createSVGPoint();
      point.x = event.clientX;
      point.y = event.clientY;
      var local = point.matrixTransform(svg.getScreenCTM().inverse());
      var index = step > 0 ? Math.round((local.x - left) / step) : 0;
      index = Math.max(0, Math.min(months.length - 1, index));
      var best = null, distance = Infinity;
      paths.forEach(function (path) {
        var y = pointAt(path, index);
        if (y === null) { return; }
        var d = Math.abs(y - local.y);
        if (d < distance) { distance = d; best = path; }
      });
      paths.forEach(function (path) { path.classList.toggle("active", path === best); });
      if (!best) { tooltip.hidden = true; return; }
      tooltip.textContent = best.querySelector("title").textContent + " \u00B7 " + months[index] + ": " +
        best.getAttribute("data-values").split("|")[index];
      tooltip.style.left = (event.pageX + 12) + "px";
      tooltip.style.top = (event.pageY + 12) + "px";
      tooltip.hidden = false;
    });
    svg.addEventListener("mouseleave", function () {
      tooltip.hidden = true;
      paths.forEach(function (path) { path.classList.remove("active"); });
    });
  });

  root.setAttribute("data-ready", "1");
})();
