/* Linli forms: show fields when a condition needs them, add and remove repeat-group rows,
   keep one submit per click, big text. Plain JavaScript, no libraries; the form works without it. */
(function () {
  "use strict";
  var form = document.querySelector("[data-linli-form]");
  var root = document.documentElement;

  // Big text for older residents, remembered on this device.
  try { if (localStorage.getItem("linli-big-text") === "1") root.classList.add("big-text"); } catch (e) {}
  document.querySelectorAll("[data-big-text]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      var on = root.classList.toggle("big-text");
      button.setAttribute("aria-pressed", on ? "true" : "false");
      try { localStorage.setItem("linli-big-text", on ? "1" : "0"); } catch (e) {}
    });
  });

  if (!form) return;
  var summary = document.getElementById("error-summary");
  if (summary) summary.focus();

  // Answers given on earlier steps that a condition tests (the fields are not on this page).
  var answersNode = document.getElementById("linli-answers");
  var answers = answersNode ? JSON.parse(answersNode.textContent) : {};

  function valueOf(name) {
    var inputs = form.querySelectorAll('[name$="-' + name + '"], [name="' + name + '"]');
    if (!inputs.length) return Object.prototype.hasOwnProperty.call(answers, name) ? answers[name] : null;
    var values = [];
    inputs.forEach(function (input) {
      if ((input.type === "radio" || input.type === "checkbox")) {
        if (input.checked) values.push(input.type === "checkbox" && input.value === "on" ? true : input.value);
      } else if (input.value !== "") {
        values.push(input.value);
      }
    });
    return values.length ? values[0] : null;
  }

  var conditionsNode = document.getElementById("linli-conditions");
  var conditions = conditionsNode ? JSON.parse(conditionsNode.textContent) : [];

  function holds(condition) {
    return condition.tests.every(function (test) {
      var value = valueOf(test[0]);
      return value !== null && test[1].map(String).indexOf(String(value)) !== -1;
    });
  }

  function refresh() {
    var needed = {}, conditional = {};
    conditions.forEach(function (condition) {
      var active = holds(condition);
      condition.then.forEach(function (name) { conditional[name] = true; if (active) needed[name] = true; });
      condition["else"].forEach(function (name) { conditional[name] = true; if (!active) needed[name] = true; });
    });
    Object.keys(conditional).forEach(function (name) {
      var box = form.querySelector('[data-field="' + name + '"]');
      if (!box) return;
      var keep = needed[name] || box.classList.contains("has-error");
      box.hidden = !keep;
      var marker = box.querySelector("[data-required-marker]");
      if (marker) marker.hidden = !needed[name];
    });
  }
  form.addEventListener("change", refresh);
  form.addEventListener("input", refresh);
  refresh();

  // Repeat groups: an "add" button clones the empty last row with the next index.
  form.querySelectorAll('[data-repeat="1"]').forEach(function (group) {
    var name = group.getAttribute("data-name");
    var count = group.querySelector("[data-row-count]");
    var add = group.querySelector("[data-add-row]");
    if (!add || !count) return;
    add.hidden = false;
    add.addEventListener("click", function () {
      var rows = group.querySelectorAll(".group-row");
      var last = rows[rows.length - 1];
      var index = parseInt(count.value, 10);
      var from = name + "__" + (index - 1) + "__", to = name + "__" + index + "__";
      var clone = last.cloneNode(true);
      clone.setAttribute("data-row", String(index));
      clone.querySelectorAll("[name], [id], [for]").forEach(function (node) {
        ["name", "id", "for"].forEach(function (attribute) {
          var value = node.getAttribute(attribute);
          if (value) node.setAttribute(attribute, value.split(from).join(to));
        });
        // the row cloned may have been filled in: a textarea or select keeps its value when cloned
        if (node.tagName === "TEXTAREA" || node.tagName === "SELECT" ||
            (node.tagName === "INPUT" && node.type !== "checkbox" && node.type !== "radio")) node.value = "";
        if (node.checked) node.checked = false;
      });
      clone.querySelectorAll(".uploaded").forEach(function (node) { node.remove(); });
      var title = clone.querySelector(".row-title");
      if (title) title.textContent = title.textContent.replace(/\d+/, String(index + 1));
      last.parentNode.insertBefore(clone, add);
      count.value = String(index + 1);
      var first = clone.querySelector("input, select, textarea");
      if (first) first.focus();
    });
  });

  // Removing an uploaded file drops its token.
  form.addEventListener("change", function (event) {
    var box = event.target.closest && event.target.closest("[data-remove-upload]");
    if (!box) return;
    var holder = box.closest(".uploaded");
    var token = holder && holder.querySelector('input[type="hidden"]');
    if (token) token.disabled = box.checked;
  });

  // One submission per click; the server's idempotency key covers what gets through anyway.
  form.addEventListener("submit", function (event) {
    var button = event.submitter;
    if (button && button.hasAttribute("data-submit-once")) {
      setTimeout(function () { button.disabled = true; }, 0);
    }
  });
})();
