/* Campaign index: click a column header to sort by it (again to reverse).
   Verdict columns sort invalid → unknown → not checked → valid; empty cells always last. */
(function () {
  "use strict";
  var RANK = { invalid: 0, unknown: 1, "not checked": 2, valid: 3 };
  var table = document.getElementById("runs");
  var headers = Array.prototype.slice.call(table.querySelectorAll("th.sortable"));
  function cellValue(row, i) {
    var cell = row.children[i];
    return cell.hasAttribute("data-sort") ? cell.getAttribute("data-sort") : cell.textContent.trim();
  }
  function compare(type, a, b) {
    if (a === "" || b === "") return a === b ? 0 : a === "" ? 1 : -1;
    if (type === "verdict") return (RANK[a] === undefined ? 1.5 : RANK[a]) - (RANK[b] === undefined ? 1.5 : RANK[b]);
    if (type === "number") return parseFloat(a) - parseFloat(b);
    return a.localeCompare(b);
  }
  headers.forEach(function (th) {
    th.addEventListener("click", function () {
      var i = Array.prototype.indexOf.call(th.parentNode.children, th);
      var asc = !th.classList.contains("sorted-asc");
      headers.forEach(function (h) { h.classList.remove("sorted-asc", "sorted-desc"); });
      th.classList.add(asc ? "sorted-asc" : "sorted-desc");
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (ra, rb) {
        var a = cellValue(ra, i), b = cellValue(rb, i);
        if (a === "" || b === "") return compare(th.dataset.type, a, b);
        var c = compare(th.dataset.type, a, b);
        return asc ? c : -c;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
  // "#sort=<header>" or "#sort=<header>:desc" sorts on load, so a sorted view can be linked.
  var wanted = /^#sort=([^:]+)(:desc)?$/.exec(decodeURIComponent(location.hash));
  if (wanted) {
    headers.forEach(function (th) {
      if (th.textContent.trim() !== wanted[1]) return;
      th.click();
      if (wanted[2]) th.click();
    });
  }
  var done = document.createElement("div");
  done.id = "rendered"; done.hidden = true;
  document.body.appendChild(done);
})();
