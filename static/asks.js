/* The submission form: the fields of what a proposal asks households to give are shown only when
   "Proposal" is chosen (or when they hold a value or an error). Without JavaScript they are always shown,
   in a fieldset that says they apply to proposals. */
(function () {
  "use strict";
  function update(form) {
    var box = form.querySelector("#asks");
    if (!box) { return; }
    var chosen = form.querySelector("input[name=kind]:checked");
    var filled = Array.prototype.some.call(box.querySelectorAll("input"), function (el) { return el.value; });
    box.hidden = !(chosen && chosen.value === "proposal") && !filled && !box.querySelector(".error");
  }
  function start() {
    var box = document.getElementById("asks");
    var form = box && box.form || (box && box.closest("form"));
    if (!form) { return; }
    update(form);
    form.addEventListener("change", function (e) { if (e.target.name === "kind") { update(form); } });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
