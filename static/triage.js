// The triage screen's action area (templates/triage/item_triage.html): without JavaScript each action is a
// collapsed <details> with its own form; with it, the actions become one group of radio buttons and only the
// chosen action's fields are shown. The forms are the same either way.
(function () {
  "use strict";
  var area = document.querySelector(".decide");
  if (!area) { return; }
  var acts = Array.prototype.slice.call(area.querySelectorAll("details.act"));
  if (acts.length < 2) { return; }
  var group = document.createElement("fieldset");
  group.className = "act-choice";
  var legend = document.createElement("legend");
  legend.textContent = area.getAttribute("data-choose") || "";
  group.appendChild(legend);
  acts.forEach(function (act, n) {
    var summary = act.querySelector("summary");
    var label = document.createElement("label");
    var radio = document.createElement("input");
    radio.type = "radio";
    radio.name = "triage-choice";
    radio.id = "act-choice-" + n;
    radio.checked = act.open;
    radio.addEventListener("change", function () {
      acts.forEach(function (other) { other.open = other === act; });
      var first = act.querySelector("input:not([type=hidden]), textarea, select");
      if (first) { first.focus(); }
    });
    label.htmlFor = radio.id;
    label.appendChild(radio);
    label.appendChild(document.createTextNode(" " + summary.textContent));
    group.appendChild(label);
  });
  acts[0].parentNode.insertBefore(group, acts[0]);
  area.classList.add("js-acts");
}());
