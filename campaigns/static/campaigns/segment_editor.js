/* The segment condition editor: groups (AND / OR, optionally NOT) of conditions, nested, kept as
 * JSON in the form's hidden `definition` field; after each change the page asks the server for
 * the live count and a sample (POST to the preview URL). No library: plain DOM. */
(function () {
  "use strict";

  var root = document.getElementById("segment-editor");
  if (!root) return;
  // Without the form field (a user who may only view segments) the page still shows who the
  // segment matches, from the definition as saved; nothing can be edited.
  var input = document.getElementById("id_definition");
  var readOnly = !input;
  if (readOnly) {
    input = { value: document.getElementById("segment-definition").textContent };
  }
  var catalog = JSON.parse(document.getElementById("segment-catalog").textContent);
  var labels = JSON.parse(document.getElementById("segment-labels").textContent);
  var fields = {};
  catalog.forEach(function (f) { fields[f.name] = f; });
  var cmpLabels = { ">=": "≥", "<=": "≤", ">": ">", "<": "<", "=": "=",
                    "between": labels.between, "in": labels.in };

  function fromJSON(node) {
    if (node && node.all) return group("all", false, node.all.map(fromJSON));
    if (node && node.any) return group("any", false, node.any.map(fromJSON));
    if (node && node.not) {
      var inner = fromJSON(node.not);
      if (inner.type === "group" && !inner.not) { inner.not = true; return inner; }
      return group("all", true, [inner]);
    }
    if (node && node.field) return { type: "cond", field: node.field, cmp: node.cmp, value: node.value };
    return group("all", false, []);
  }

  function group(op, not, items) { return { type: "group", op: op, not: not, items: items }; }

  function toJSON(node) {
    if (node.type === "cond") return { field: node.field, cmp: node.cmp, value: node.value };
    var out = {};
    out[node.op] = node.items.map(toJSON);
    return node.not ? { not: out } : out;
  }

  var tree;
  try { tree = fromJSON(JSON.parse(input.value || "{}")); } catch (e) { tree = group("all", false, []); }
  if (tree.type !== "group") tree = group("all", false, [tree]);

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k];
      else if (k === "className") node.className = attrs[k];
      else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { node.appendChild(c); });
    return node;
  }

  function button(text, className, onClick) {
    var b = el("button", { type: "button", className: "button " + className, text: text });
    b.addEventListener("click", function (e) { e.preventDefault(); onClick(); });
    return b;
  }

  function newCondition() {
    var f = catalog[0];
    return { type: "cond", field: f.name, cmp: f.cmps[0], value: defaultValue(f, f.cmps[0]) };
  }

  function defaultValue(f, cmp) {
    if (f.kind === "choice" || f.kind === "codes") return [];
    if (cmp === "between") return [f.min || 0, f.min || 0];
    return f.min || 0;
  }

  function renderCondition(node, parent) {
    var f = fields[node.field] || catalog[0];
    var row = el("div", { className: "seg-condition" });
    var fieldSelect = el("select", { className: "seg-field", "aria-label": labels.field });
    var groups = {};
    catalog.forEach(function (c) {
      if (!groups[c.group]) {
        groups[c.group] = el("optgroup", { label: c.group });
        fieldSelect.appendChild(groups[c.group]);
      }
      var o = el("option", { value: c.name, text: c.label });
      if (c.name === f.name) o.selected = true;
      groups[c.group].appendChild(o);
    });
    fieldSelect.addEventListener("change", function () {
      var nf = fields[fieldSelect.value];
      node.field = nf.name; node.cmp = nf.cmps[0]; node.value = defaultValue(nf, node.cmp);
      changed();
    });
    var cmpSelect = el("select", { className: "seg-cmp", "aria-label": labels.compare });
    f.cmps.forEach(function (c) {
      var o = el("option", { value: c, text: cmpLabels[c] || c });
      if (c === node.cmp) o.selected = true;
      cmpSelect.appendChild(o);
    });
    cmpSelect.addEventListener("change", function () {
      node.cmp = cmpSelect.value; node.value = defaultValue(f, node.cmp); changed();
    });
    row.appendChild(fieldSelect);
    row.appendChild(cmpSelect);
    row.appendChild(renderValue(node, f));
    row.appendChild(button(labels.remove, "seg-remove", function () {
      parent.items.splice(parent.items.indexOf(node), 1); changed();
    }));
    return row;
  }

  function numberInput(value, onChange) {
    var i = el("input", { type: "number", step: "any", className: "seg-value vIntegerField" });
    i.value = value;
    i.addEventListener("input", function () { onChange(i.value === "" ? "" : Number(i.value)); });
    return i;
  }

  function renderValue(node, f) {
    if (f.kind === "choice" || f.kind === "codes") {
      var s = el("select", { multiple: "multiple", size: "4", className: "seg-value seg-choices" });
      var chosen = (node.value || []).map(String);
      f.choices.forEach(function (c) {
        var o = el("option", { value: c[0], text: c[1] });
        if (chosen.indexOf(String(c[0])) >= 0) o.selected = true;
        s.appendChild(o);
      });
      s.addEventListener("change", function () {
        node.value = Array.prototype.filter.call(s.options, function (o) { return o.selected; })
          .map(function (o) { return f.name === "birthday_month" ? Number(o.value) : o.value; });
        sync();
      });
      return s;
    }
    if (node.cmp === "between") {
      var pair = Array.isArray(node.value) ? node.value : [node.value, node.value];
      node.value = pair;
      return el("span", { className: "seg-between" }, [
        numberInput(pair[0], function (v) { node.value[0] = v; sync(); }),
        el("span", { text: " – " }),
        numberInput(pair[1], function (v) { node.value[1] = v; sync(); })
      ]);
    }
    return numberInput(node.value, function (v) { node.value = v; sync(); });
  }

  function renderGroup(node, parent) {
    var box = el("div", { className: "seg-group" + (node.not ? " seg-not" : "") });
    var head = el("div", { className: "seg-head" });
    var op = el("select", { className: "seg-op", "aria-label": labels.join });
    [["all", labels.and], ["any", labels.or]].forEach(function (pair) {
      var o = el("option", { value: pair[0], text: pair[1] });
      if (pair[0] === node.op) o.selected = true;
      op.appendChild(o);
    });
    op.addEventListener("change", function () { node.op = op.value; changed(); });
    var not = el("input", { type: "checkbox", className: "seg-not-box" });
    not.checked = !!node.not;
    not.addEventListener("change", function () { node.not = not.checked; changed(); });
    head.appendChild(op);
    head.appendChild(el("label", { className: "seg-not-label" }, [not, document.createTextNode(" " + labels.not)]));
    head.appendChild(button(labels.addCondition, "seg-add-condition", function () {
      node.items.push(newCondition()); changed();
    }));
    head.appendChild(button(labels.addGroup, "seg-add-group", function () {
      node.items.push(group(node.op === "all" ? "any" : "all", false, [newCondition()])); changed();
    }));
    if (parent) {
      head.appendChild(button(labels.remove, "seg-remove", function () {
        parent.items.splice(parent.items.indexOf(node), 1); changed();
      }));
    }
    box.appendChild(head);
    var list = el("div", { className: "seg-items" });
    if (!node.items.length) list.appendChild(el("p", { className: "help", text: labels.empty }));
    node.items.forEach(function (item) {
      list.appendChild(item.type === "group" ? renderGroup(item, node) : renderCondition(item, node));
    });
    box.appendChild(list);
    return box;
  }

  function render() {
    root.innerHTML = "";
    root.appendChild(renderGroup(tree, null));
  }

  var timer = null;
  var asked = 0;
  function sync() {
    if (!readOnly) input.value = JSON.stringify(toJSON(tree));
    clearTimeout(timer);
    timer = setTimeout(preview, 350);
  }

  function changed() { render(); sync(); }

  function preview() {
    var url = root.getAttribute("data-preview-url");
    var token = document.querySelector("input[name=csrfmiddlewaretoken]");
    var body = new FormData();
    body.append("definition", input.value);
    var mine = ++asked;
    document.getElementById("segment-count").textContent = "…";
    fetch(url, { method: "POST", body: body, credentials: "same-origin",
                 headers: { "X-CSRFToken": token ? token.value : "" } })
      .then(function (r) { return r.json(); })
      .then(function (data) { if (mine === asked) show(data); })
      .catch(function () { if (mine === asked) show({ errors: [labels.failed] }); });
  }

  function show(data) {
    var errors = document.getElementById("segment-errors");
    errors.innerHTML = "";
    (data.errors || []).forEach(function (e) { errors.appendChild(el("li", { text: e })); });
    var count = document.getElementById("segment-count");
    count.textContent = data.errors && data.errors.length ? "-" :
      Number(data.count).toLocaleString("en-US");
    document.getElementById("segment-described").textContent = data.described || "";
    var body = document.querySelector("#segment-sample tbody");
    body.innerHTML = "";
    (data.sample || []).forEach(function (m) {
      body.appendChild(el("tr", {}, ["member_no", "name", "phone", "store", "tier", "last_visit",
        "visits_90", "spend_365", "cell", "stage"].map(function (k) {
        return el("td", { text: m[k] === null || m[k] === undefined ? "" : String(m[k]) });
      })));
    });
  }

  if (readOnly) {
    root.style.display = "none";
    preview();
  } else {
    render();
    sync();
  }
})();
