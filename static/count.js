/* The count and roll screens: the search box filters the households of the page as one types, and the
   tally follows the radio buttons before saving. Optional: without JavaScript the search is a plain GET
   and the tally is the one saved. */
(function () {
  "use strict";
  // As civic.items.rules.fold: lower case, no diacritics (đ → d), one space between words.
  function fold(text) {
    return text.replace(/[đĐ]/g, "d").normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase()
      .replace(/\s+/g, " ").trim();
  }
  var box = document.querySelector("input[data-filter]");
  var list = box && document.getElementById(box.getAttribute("data-filter"));
  if (box && list) {
    box.addEventListener("input", function () {
      var words = fold(box.value);
      list.querySelectorAll("li[data-search]").forEach(function (li) {
        li.hidden = words !== "" && li.getAttribute("data-search").indexOf(words) < 0;
      });
    });
  }
  var spans = document.querySelectorAll("[data-tally]");
  if (!spans.length || !list) { return; }
  var base = {};
  spans.forEach(function (s) { base[s.getAttribute("data-tally")] = parseInt(s.textContent, 10) || 0; });
  list.addEventListener("change", function () {
    var now = {};
    Object.keys(base).forEach(function (k) { now[k] = base[k]; });
    list.querySelectorAll("input[type=radio]").forEach(function (r) {
      if (r.checked !== r.defaultChecked && r.value in now) { now[r.value] += r.checked ? 1 : -1; }
    });
    spans.forEach(function (s) { s.textContent = now[s.getAttribute("data-tally")]; });
  });
})();
