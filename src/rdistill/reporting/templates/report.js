// Filter the examples table: every word typed must occur in the row, and each
// select must match the row's data-* attribute. Rows are only hidden or shown;
// no text from the data is ever written back as HTML.
(function () {
  "use strict";
  const table = document.getElementById("examples");
  if (!table) {
    return;
  }
  const rows = Array.from(table.tBodies[0].rows);
  const haystacks = rows.map((row) => row.textContent.toLowerCase());
  const box = document.getElementById("example-filter");
  const selects = Array.from(document.querySelectorAll("select[data-filter]"));
  const count = document.getElementById("example-count");

  function apply() {
    const words = box.value.toLowerCase().split(/\s+/).filter(Boolean);
    let shown = 0;
    rows.forEach((row, i) => {
      const visible =
        words.every((word) => haystacks[i].includes(word)) &&
        selects.every((select) => !select.value || row.dataset[select.dataset.filter] === select.value);
      row.hidden = !visible;
      if (visible) {
        shown += 1;
      }
    });
    count.textContent = shown + " of " + rows.length + " examples shown";
  }

  box.addEventListener("input", apply);
  selects.forEach((select) => select.addEventListener("change", apply));
  apply();
})();
