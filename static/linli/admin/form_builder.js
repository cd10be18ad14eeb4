/* Linli form builder: edit a form's fields without reading JSON.

   The form's JSON text is the only state that matters: the builder parses it, shows the fields
   (by step when the form has steps), and every change is written back as text through the editor
   (window.linliEditor = {getText, setText, onChange}) or, on a page without the editor, through
   <textarea id="linli-source">. An edit in the code re-renders the builder. The parsed document is
   edited in place, so keys the builder does not know are kept, with their order; nothing is
   written until the admin changes something. Conditions use the format's own representation:
   allOf: [{if: {properties: {F: {const: V}}, required: [F]}, then: {required: [G]}}].

   Plain JavaScript, no libraries. All text from the form goes into the page as text (never HTML). */
(function () {
  "use strict";

  var FIELD_KEY = /^[a-z][a-z0-9_]{0,63}$/;
  var WIDTH = 100;
  var TYPE_KEYS = ["type", "format", "enum", "oneOf", "anyOf", "const", "items", "minLength", "maxLength", "pattern",
    "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "minItems", "maxItems", "uniqueItems",
    "properties", "required", "additionalProperties", "default", "$ref", "if", "then", "else", "allOf",
    "dependentRequired", "$defs"];
  var KINDS = ["text", "textarea", "choice", "multi", "boolean", "integer", "number", "date", "time", "datetime",
    "phone", "idcard", "email", "url", "photo", "photos", "file", "files", "unit", "post", "store-item", "team",
    "group", "repeat"];
  var NAMED_FORMATS = ["unit", "post", "store-item", "team"];
  var FORMAT_KINDS = {"date": "date", "time": "time", "date-time": "datetime", "email": "email", "uri": "url",
    "cn-id-card": "idcard", "unit": "unit", "post": "post", "store-item": "store-item", "team": "team"};
  var PHONE_PATTERN = "^1[3-9][0-9]{9}$";

  var root, strings = {}, source, state = {schema: null, error: "", selected: null, adding: null, editingStep: null,
    confirmDelete: false}, lastText = null, previewTimer = null, trailingNewline = true;

  // ------------------------------------------------------------ words

  function t(key, params) {
    var text = Object.prototype.hasOwnProperty.call(strings, key) ? strings[key] : key;
    if (params) Object.keys(params).forEach(function (name) { text = text.split("{" + name + "}").join(params[name]); });
    return text;
  }

  function loadStrings() {
    var holder = document.getElementById("linli-builder-strings");
    if (!holder) return;
    var scope = holder.content || holder;
    scope.querySelectorAll("[data-k]").forEach(function (node) { strings[node.getAttribute("data-k")] = node.textContent; });
  }

  // ------------------------------------------------------------ the text: editor or textarea

  function textareaSource() {
    var area = document.getElementById("linli-source");
    if (!area) return null;
    return {
      getText: function () { return area.value; },
      setText: function (text) { area.value = text; },
      onChange: function (callback) { area.addEventListener("input", function () { callback(area.value); }); }
    };
  }

  // ------------------------------------------------------------ JSON out: compact where short, like the examples

  function depth(value) {
    if (value === null || typeof value !== "object") return 0;
    var inner = 0;
    (Array.isArray(value) ? value : Object.keys(value).map(function (k) { return value[k]; })).forEach(function (v) {
      inner = Math.max(inner, depth(v));
    });
    return inner + 1;
  }

  function inline(value) {
    if (value === null || typeof value !== "object") return JSON.stringify(value);
    if (Array.isArray(value)) return "[" + value.map(inline).join(", ") + "]";
    return "{" + Object.keys(value).map(function (k) { return JSON.stringify(k) + ": " + inline(value[k]); }).join(", ") + "}";
  }

  function format(value, indent, lead) {
    if (value === null || typeof value !== "object") return JSON.stringify(value);
    var keys = Array.isArray(value) ? null : Object.keys(value);
    var empty = keys ? keys.length === 0 : value.length === 0;
    if (empty) return keys ? "{}" : "[]";
    if (indent > 0 && depth(value) <= 2) {
      var one = inline(value);
      if (indent * 2 + lead + one.length <= WIDTH) return one;
    }
    var pad = new Array(indent + 2).join("  "), close = new Array(indent + 1).join("  ");
    var parts = keys ? keys.map(function (k) {
      var head = JSON.stringify(k) + ": ";
      return pad + head + format(value[k], indent + 1, head.length);
    }) : value.map(function (v) { return pad + format(v, indent + 1, 0); });
    return (keys ? "{" : "[") + "\n" + parts.join(",\n") + "\n" + close + (keys ? "}" : "]");
  }

  function serialize() {
    return format(state.schema, 0, 0) + (trailingNewline ? "\n" : "");
  }

  // ------------------------------------------------------------ small helpers over the document

  function isObject(value) { return value !== null && typeof value === "object" && !Array.isArray(value); }
  function has(obj, key) { return isObject(obj) && Object.prototype.hasOwnProperty.call(obj, key); }

  /* Set obj[key]; a new key goes right after `after` (when that key exists), else at the end. */
  function put(obj, key, value, after) {
    if (has(obj, key) || !after || !has(obj, after)) { obj[key] = value; return; }
    var entries = Object.keys(obj).map(function (k) { return [k, obj[k]]; });
    Object.keys(obj).forEach(function (k) { delete obj[k]; });
    entries.forEach(function (entry) {
      obj[entry[0]] = entry[1];
      if (entry[0] === after) obj[key] = value;
    });
  }

  function renameKey(obj, old, name) {
    var entries = Object.keys(obj).map(function (k) { return [k === old ? name : k, obj[k]]; });
    Object.keys(obj).forEach(function (k) { delete obj[k]; });
    entries.forEach(function (entry) { obj[entry[0]] = entry[1]; });
  }

  function reorder(obj, keys) {
    var copy = {};
    keys.forEach(function (k) { copy[k] = obj[k]; });
    Object.keys(obj).forEach(function (k) { if (!has(copy, k)) copy[k] = obj[k]; delete obj[k]; });
    Object.keys(copy).forEach(function (k) { obj[k] = copy[k]; });
  }

  function without(list, item) { return list.filter(function (x) { return x !== item; }); }

  function readText(value) {
    if (isObject(value)) return {zh: value["zh-hans"] || "", en: value.en || ""};
    return {zh: typeof value === "string" ? value : "", en: ""};
  }

  function writeText(obj, key, zh, en, after) {
    if (!zh && !en) { delete obj[key]; return; }
    put(obj, key, en ? {"zh-hans": zh, "en": en} : zh, after);
  }

  function shown(value) {
    var text = readText(value);
    return text.zh || text.en;
  }

  function inferType(node) {
    var values = has(node, "const") ? [node["const"]] : (node["enum"] || (node.oneOf || node.anyOf || []).map(function (o) {
      return isObject(o) ? o["const"] : undefined; }));
    for (var i = 0; i < values.length; i++) {
      var v = values[i];
      if (typeof v === "boolean") return "boolean";
      if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
      if (typeof v === "string") return "string";
    }
    return null;
  }

  // ------------------------------------------------------------ fields, containers and x-ui

  function ui(create) {
    if (!isObject(state.schema["x-ui"])) {
      if (!create) return {};
      state.schema["x-ui"] = {};
    }
    return state.schema["x-ui"];
  }

  function steps() {
    var s = ui(false).steps;
    return Array.isArray(s) && s.length ? s : null;
  }

  /* The object schema holding the fields at `path` (a list of keys; [] is the form itself). */
  function container(path) {
    var node = state.schema;
    for (var i = 0; i < path.length; i++) {
      node = node.properties[path[i]];
      if (!isObject(node)) return null;
      if ((node.type || inferType(node)) === "array") node = node.items;
      if (!isObject(node) || !isObject(node.properties) || has(node, "$ref")) return null;
    }
    return node;
  }

  function fieldNode(path) {
    var holder = container(path.slice(0, -1));
    return holder ? holder.properties[path[path.length - 1]] : null;
  }

  function fieldUi(path, create) {
    var dotted = path.join(".");
    var x = ui(create);
    if (!isObject(x.fields)) {
      if (!create) return {};
      put(x, "fields", {}, null);
    }
    if (!isObject(x.fields[dotted])) {
      if (!create) return {};
      x.fields[dotted] = {};
    }
    return x.fields[dotted];
  }

  function setUi(path, key, value) {
    if (value === undefined || value === "" || value === false || value === null) {
      var options = fieldUi(path, false);
      if (!has(options, key)) return;
      delete options[key];
      tidyUi(path);
      return;
    }
    fieldUi(path, true)[key] = value;
  }

  function tidyUi(path) {
    var x = ui(false), dotted = path.join(".");
    if (isObject(x.fields) && isObject(x.fields[dotted]) && !Object.keys(x.fields[dotted]).length) delete x.fields[dotted];
    if (isObject(x.fields) && !Object.keys(x.fields).length) delete x.fields;
  }

  function kindOf(node, options) {
    if (!isObject(node)) return "other";
    if (has(node, "$ref")) return "shared";
    var type = node.type || inferType(node);
    if (type === "object") return isObject(node.properties) ? "group" : "other";
    if (type === "array") {
      var items = node.items;
      if (!isObject(items) || has(items, "$ref")) return "other";
      var itemType = items.type || inferType(items);
      if (itemType === "object") return isObject(items.properties) ? "repeat" : "other";
      if (items.format === "file") return options.widget === "file" ? "files" : "photos";
      if (items["enum"] || items.oneOf || items.anyOf) return "multi";
      return "other";
    }
    if (type === "boolean") return "boolean";
    if (node["enum"] || node.oneOf || node.anyOf) return "choice";
    if (type === "integer" || type === "number") return type;
    if (type !== "string" && type !== null) return "other";
    if (node.format === "file") return options.widget === "file" ? "file" : "photo";
    if (node.format) return FORMAT_KINDS[node.format] || "other";
    if (options.widget === "tel" || /^\^1/.test(node.pattern || "")) return "phone";
    if (options.widget === "textarea" || (!options.widget && (node.maxLength || 0) > 200)) return "textarea";
    return "text";
  }

  function choiceHolder(node, kind) { return kind === "multi" ? node.items : node; }

  function readChoices(holder) {
    if (Array.isArray(holder.oneOf) || Array.isArray(holder.anyOf)) {
      var style = Array.isArray(holder.oneOf) ? "oneOf" : "anyOf";
      return {style: style, list: holder[style].map(function (o) {
        return {value: o["const"], title: has(o, "title") ? o.title : String(o["const"])};
      })};
    }
    return {style: "enum", list: (holder["enum"] || []).map(function (v) { return {value: v, title: String(v)}; })};
  }

  function newChoices(type) {
    return [1, 2].map(function (n) {
      return {"const": type === "integer" ? n : "option_" + n, "title": t("Option {n}", {n: n})};
    });
  }

  /* What a field of `kind` starts with; `choices` carries options over from a choice field. */
  function applyKind(path, kind, choices) {
    var node = fieldNode(path), options = fieldUi(path, false);
    var removed = {};
    TYPE_KEYS.forEach(function (k) { if (has(node, k)) { removed[k] = true; delete node[k]; } });
    if (isObject(node["x-error"])) {
      Object.keys(node["x-error"]).forEach(function (k) { if (removed[k]) delete node["x-error"][k]; });
      if (!Object.keys(node["x-error"]).length) delete node["x-error"];
    }
    ["widget", "accept", "max_size_mb", "rows", "add_label", "placeholder"].forEach(function (k) { delete options[k]; });
    tidyUi(path);
    var after = has(node, "title") ? "title" : null;
    var fresh = {};
    var list = choices && choices.length ? choices : newChoices("string");
    switch (kind) {
      case "text": fresh = {type: "string", maxLength: 100}; break;
      case "textarea": fresh = {type: "string", maxLength: 1000}; setUi(path, "widget", "textarea"); break;
      case "integer": fresh = {type: "integer"}; break;
      case "number": fresh = {type: "number"}; break;
      case "date": fresh = {type: "string", format: "date"}; break;
      case "time": fresh = {type: "string", format: "time"}; break;
      case "datetime": fresh = {type: "string", format: "date-time"}; break;
      case "choice": fresh = {type: "string", oneOf: list}; break;
      case "multi": fresh = {type: "array", uniqueItems: true, items: {type: "string", oneOf: list}}; break;
      case "boolean": fresh = {type: "boolean"}; break;
      case "phone":
        fresh = {type: "string", pattern: PHONE_PATTERN,
          "x-error": {pattern: {"zh-hans": "请输入11位手机号码", "en": "Enter an 11-digit mobile number"}}};
        setUi(path, "widget", "tel");
        break;
      case "idcard": fresh = {type: "string", format: "cn-id-card"}; break;
      case "email": fresh = {type: "string", format: "email"}; break;
      case "url": fresh = {type: "string", format: "uri"}; break;
      case "photo": fresh = {type: "string", format: "file"}; setUi(path, "widget", "photo"); break;
      case "file": fresh = {type: "string", format: "file"}; setUi(path, "widget", "file"); break;
      case "photos": fresh = {type: "array", maxItems: 3, items: {type: "string", format: "file"}}; setUi(path, "widget", "photo"); break;
      case "files": fresh = {type: "array", maxItems: 3, items: {type: "string", format: "file"}}; setUi(path, "widget", "file"); break;
      case "unit": case "post": case "store-item": case "team": fresh = {type: "string", format: kind}; break;
      case "group":
        fresh = {type: "object", properties: {text_1: {title: t("New field"), type: "string", maxLength: 100}},
          additionalProperties: false};
        break;
      case "repeat":
        fresh = {type: "array", maxItems: 10, items: {type: "object",
          properties: {text_1: {title: t("New field"), type: "string", maxLength: 100}}, additionalProperties: false}};
        break;
    }
    Object.keys(fresh).forEach(function (k) { put(node, k, fresh[k], after); after = k; });
  }

  // ------------------------------------------------------------ order and steps (top level)

  function orderedNames(path) {
    var holder = container(path);
    var names = Object.keys(holder.properties);
    var order = ui(false).order;
    if (path.length === 0 && Array.isArray(order)) {
      var rank = {};
      order.forEach(function (name, i) { rank[name] = i; });
      names.sort(function (a, b) {
        return (has(rank, a) ? rank[a] : order.length) - (has(rank, b) ? rank[b] : order.length);
      });
    }
    return names;
  }

  function applyOrder(path, names) {
    var x = ui(false);
    if (path.length === 0 && Array.isArray(x.order)) {
      var nested = x.order.filter(function (n) { return names.indexOf(n) === -1; });
      x.order = names.concat(nested);
    } else {
      reorder(container(path).properties, names);
    }
  }

  function stepOf(name) {
    var list = steps() || [];
    for (var i = 0; i < list.length; i++) {
      if (Array.isArray(list[i].fields) && list[i].fields.indexOf(name) !== -1) return i;
    }
    return -1;
  }

  function move(path, delta) {
    var name = path[path.length - 1], parent = path.slice(0, -1), list = steps();
    if (parent.length === 0 && list && stepOf(name) !== -1) {
      var s = stepOf(name), fields = list[s].fields, at = fields.indexOf(name);
      if (at + delta >= 0 && at + delta < fields.length) {
        fields.splice(at, 1);
        fields.splice(at + delta, 0, name);
      } else if (delta < 0 && s > 0) {
        fields.splice(at, 1);
        list[s - 1].fields.push(name);
      } else if (delta > 0 && s < list.length - 1) {
        fields.splice(at, 1);
        list[s + 1].fields.unshift(name);
      } else {
        return false;
      }
      return true;
    }
    var names = orderedNames(parent), index = names.indexOf(name);
    if (index + delta < 0 || index + delta >= names.length) return false;
    names.splice(index, 1);
    names.splice(index + delta, 0, name);
    applyOrder(parent, names);
    return true;
  }

  function moveBefore(name, target) {
    if (name === target) return false;
    var list = steps();
    if (list && stepOf(target) !== -1) {
      var from = stepOf(name);
      if (from !== -1) list[from].fields.splice(list[from].fields.indexOf(name), 1);
      var fields = list[stepOf(target)].fields;
      fields.splice(fields.indexOf(target), 0, name);
      return true;
    }
    var names = without(orderedNames([]), name);
    names.splice(names.indexOf(target), 0, name);
    applyOrder([], names);
    return true;
  }

  function uniqueKey(names, base) {
    var n = 1;
    while (names.indexOf(base + "_" + n) !== -1) n += 1;
    return base + "_" + n;
  }

  function addField(parent, kind, stepIndex) {
    var holder = container(parent);
    var key = uniqueKey(Object.keys(holder.properties), kind.replace("-", "_"));
    holder.properties[key] = {title: t("New field")};
    var path = parent.concat([key]);
    applyKind(path, kind);
    if (parent.length === 0) {
      var list = steps();
      if (list) list[stepIndex >= 0 && stepIndex < list.length ? stepIndex : list.length - 1].fields.push(key);
      if (Array.isArray(ui(false).order)) ui(false).order.push(key);
    }
    return path;
  }

  // ------------------------------------------------------------ conditions

  function blocksOf(holder) {
    var blocks = [];
    if (has(holder, "if")) blocks.push({block: holder, index: -1});
    (Array.isArray(holder.allOf) ? holder.allOf : []).forEach(function (block, index) {
      if (isObject(block) && has(block, "if")) blocks.push({block: block, index: index});
    });
    return blocks;
  }

  function tests(block) {
    var props = isObject(block["if"]) && isObject(block["if"].properties) ? block["if"].properties : {};
    return Object.keys(props).map(function (name) {
      var test = props[name] || {};
      return {field: name, values: has(test, "const") ? [test["const"]] : (Array.isArray(test["enum"]) ? test["enum"] : [])};
    });
  }

  function conditionsFor(path) {
    var holder = container(path.slice(0, -1)), name = path[path.length - 1];
    return blocksOf(holder).filter(function (b) {
      return isObject(b.block.then) && Array.isArray(b.block.then.required) && b.block.then.required.indexOf(name) !== -1;
    });
  }

  function sameValues(a, b) {
    return a.length === b.length && a.every(function (v) { return b.indexOf(v) !== -1; });
  }

  function addCondition(path, field, values) {
    var holder = container(path.slice(0, -1)), name = path[path.length - 1];
    var found = blocksOf(holder).filter(function (b) {
      var ts = tests(b.block);
      return b.index >= 0 && ts.length === 1 && ts[0].field === field && sameValues(ts[0].values, values) &&
        !has(b.block, "else");
    })[0];
    if (found) {
      if (!isObject(found.block.then)) found.block.then = {};
      if (!Array.isArray(found.block.then.required)) found.block.then.required = [];
      if (found.block.then.required.indexOf(name) === -1) found.block.then.required.push(name);
    } else {
      var test = {};
      test[field] = values.length === 1 ? {"const": values[0]} : {"enum": values};
      if (!Array.isArray(holder.allOf)) put(holder, "allOf", [], has(holder, "required") ? "required" : "properties");
      holder.allOf.push({"if": {properties: test, required: [field]}, then: {required: [name]}});
    }
    if (Array.isArray(holder.required) && holder.required.indexOf(name) !== -1) {
      holder.required = without(holder.required, name);  // needed only when the condition holds
    }
  }

  function tidyBlocks(holder) {
    if (Array.isArray(holder.allOf)) {
      holder.allOf = holder.allOf.filter(function (block) {
        ["then", "else"].forEach(function (branch) {
          var sub = block[branch];
          if (!isObject(sub)) return;
          if (Array.isArray(sub.required) && !sub.required.length) delete sub.required;
          if (isObject(sub.properties) && !Object.keys(sub.properties).length) delete sub.properties;
          if (!Object.keys(sub).filter(function (k) { return k !== "$comment"; }).length) delete block[branch];
        });
        return has(block, "then") || has(block, "else");
      });
      if (!holder.allOf.length) delete holder.allOf;
    }
  }

  function removeCondition(path, index) {
    var holder = container(path.slice(0, -1)), name = path[path.length - 1];
    var block = index === -1 ? holder : holder.allOf[index];
    block.then.required = without(block.then.required, name);
    if (index === -1) {
      if (!block.then.required.length) delete block.then.required;
      if (!Object.keys(block.then).length && !has(block, "else")) { delete holder["if"]; delete holder.then; }
    }
    tidyBlocks(holder);
  }

  // ------------------------------------------------------------ renaming and removing a field everywhere

  function renameIn(list, old, name) {
    return Array.isArray(list) ? list.map(function (x) { return x === old ? name : x; }) : list;
  }

  function replaceField(path, name) {
    /* name null: remove the field and everything that mentions it; else rename it. */
    var parent = path.slice(0, -1), old = path[path.length - 1], holder = container(parent);
    if (name === null) delete holder.properties[old]; else renameKey(holder.properties, old, name);
    if (Array.isArray(holder.required)) {
      holder.required = name === null ? without(holder.required, old) : renameIn(holder.required, old, name);
      if (!holder.required.length) delete holder.required;
    }
    blocksOf(holder).forEach(function (b) {
      var block = b.block, props = block["if"].properties || {};
      if (has(props, old)) {
        if (name === null) {
          if (b.index === -1) { delete holder["if"]; delete holder.then; delete holder["else"]; }
          else holder.allOf[b.index] = null;
          return;
        }
        renameKey(props, old, name);
        block["if"].required = renameIn(block["if"].required, old, name);
      }
      ["then", "else"].forEach(function (branch) {
        var sub = block[branch];
        if (!isObject(sub)) return;
        if (Array.isArray(sub.required)) sub.required = name === null ? without(sub.required, old) : renameIn(sub.required, old, name);
        if (isObject(sub.properties) && has(sub.properties, old)) {
          if (name === null) delete sub.properties[old]; else renameKey(sub.properties, old, name);
        }
      });
    });
    if (Array.isArray(holder.allOf)) holder.allOf = holder.allOf.filter(function (b) { return b !== null; });
    tidyBlocks(holder);
    if (isObject(holder.dependentRequired)) {
      var deps = holder.dependentRequired;
      if (has(deps, old)) { if (name === null) delete deps[old]; else renameKey(deps, old, name); }
      Object.keys(deps).forEach(function (k) {
        deps[k] = name === null ? without(deps[k], old) : renameIn(deps[k], old, name);
        if (!deps[k].length) delete deps[k];
      });
      if (!Object.keys(deps).length) delete holder.dependentRequired;
    }
    var x = ui(false), dotted = path.join("."), fresh = parent.concat([name]).join(".");
    if (isObject(x.fields)) {
      Object.keys(x.fields).forEach(function (k) {
        if (k === dotted || k.indexOf(dotted + ".") === 0) {
          if (name === null) delete x.fields[k]; else renameKey(x.fields, k, fresh + k.slice(dotted.length));
        }
      });
      if (!Object.keys(x.fields).length) delete x.fields;
    }
    if (Array.isArray(x.order)) {
      x.order = x.order.filter(function (k) { return name !== null || (k !== dotted && k.indexOf(dotted + ".") !== 0); })
        .map(function (k) { return k === dotted || k.indexOf(dotted + ".") === 0 ? fresh + k.slice(dotted.length) : k; });
    }
    if (parent.length === 0 && Array.isArray(x.steps)) {
      x.steps.forEach(function (step) {
        if (Array.isArray(step.fields)) step.fields = name === null ? without(step.fields, old) : renameIn(step.fields, old, name);
      });
    }
  }

  // ------------------------------------------------------------ writing back

  function commit(render_) {
    var text = serialize();
    lastText = text;
    source.setText(text);
    schedulePreview();
    if (render_ !== false) render();
  }

  function load(text) {
    lastText = text;
    trailingNewline = /\n$/.test(text) || !text;
    state.error = "";
    try {
      var data = JSON.parse(text);
      if (!isObject(data) || !isObject(data.properties)) {
        state.schema = null;
        state.error = t("This code is not a form yet: a form is an object with \"properties\".");
      } else {
        state.schema = data;
        if (state.selected && !fieldNode(state.selected)) state.selected = null;
      }
    } catch (error) {
      state.schema = null;
      state.error = t("The code has a mistake, so the fields cannot be shown: {reason}", {reason: error.message});
    }
    render();
  }

  function schedulePreview() {
    var form = root.querySelector("[data-preview-form]");
    if (!form) return;
    clearTimeout(previewTimer);
    previewTimer = setTimeout(function () {
      form.elements.schema.value = source.getText();
      form.submit();
    }, 700);
  }

  // ------------------------------------------------------------ DOM helpers

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      var value = attrs[name];
      if (value === null || value === undefined || value === false) return;
      if (name === "text") node.textContent = value;
      else if (name.slice(0, 2) === "on") node.addEventListener(name.slice(2), value);
      else if (name === "value") node.value = value;
      else if (name === "checked") node.checked = !!value;
      else node.setAttribute(name, value === true ? "" : value);
    });
    (children || []).forEach(function (child) {
      if (child === null || child === undefined) return;
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function button(label, onclick, attrs) {
    return el("button", Object.assign({type: "button", "class": "lb-button", onclick: onclick, text: label}, attrs || {}));
  }

  var uid = 0;
  function labelled(label, input, hint) {
    uid += 1;
    input.id = input.id || "lb-input-" + uid;
    var children = [el("label", {"for": input.id, text: label}), input];
    if (hint) {
      var hintNode = el("p", {"class": "lb-hint", id: input.id + "-hint", text: hint});
      input.setAttribute("aria-describedby", hintNode.id);
      children.push(hintNode);
    }
    return el("div", {"class": "lb-row"}, children);
  }

  function textInput(value, oninput, attrs) {
    return el("input", Object.assign({type: "text", value: value || "", oninput: function (e) { oninput(e.target.value); }},
      attrs || {}));
  }

  function checkbox(label, checked, onchange, focus) {
    uid += 1;
    var id = "lb-check-" + uid;
    return el("div", {"class": "lb-row lb-check"}, [
      el("input", {type: "checkbox", id: id, checked: checked, "data-focus": focus,
        onchange: function (e) { onchange(e.target.checked); }}),
      el("label", {"for": id, text: label})
    ]);
  }

  /* Chinese and English boxes for a text that may have both. */
  function bilingual(label, value, write, focus, multiline) {
    var text = readText(value), zh = text.zh, en = text.en;
    var tag = multiline ? "textarea" : "input";
    var zhBox = el(tag, {type: multiline ? null : "text", value: zh, "data-focus": focus + "-zh", rows: multiline ? 2 : null,
      oninput: function (e) { zh = e.target.value; write(zh, en); commit(false); }});
    var enBox = el(tag, {type: multiline ? null : "text", value: en, "data-focus": focus + "-en", lang: "en",
      rows: multiline ? 2 : null, oninput: function (e) { en = e.target.value; write(zh, en); commit(false); }});
    return el("fieldset", {"class": "lb-bilingual"}, [
      el("legend", {text: label}),
      labelled(t("Chinese"), zhBox),
      labelled(t("English (optional)"), enBox)
    ]);
  }

  /* A number box; `write` gets the number, or undefined when the box is emptied. */
  function numberInput(label, current, write, focus, integer, hint) {
    var input = el("input", {type: "number", inputmode: integer ? "numeric" : "decimal", min: integer ? 0 : null,
      step: integer ? 1 : "any", value: current === undefined ? "" : String(current), "data-focus": focus,
      oninput: function (e) {
        var raw = e.target.value.trim();
        var number = integer ? parseInt(raw, 10) : parseFloat(raw);
        if (raw !== "" && isNaN(number)) return;
        write(raw === "" ? undefined : number);
        commit(false);
      }});
    return labelled(label, input, hint);
  }

  function nodeNumber(label, node, key, focus, integer, hint) {
    return numberInput(label, node[key], function (n) { if (n === undefined) delete node[key]; else node[key] = n; },
      focus, integer, hint);
  }

  // ------------------------------------------------------------ rendering

  function kindLabel(kind) { return t("kind:" + kind); }

  function render() {
    var focused = document.activeElement && document.activeElement.getAttribute &&
      root.contains(document.activeElement) ? document.activeElement.getAttribute("data-focus") : null;
    var body = root.querySelector("[data-builder-body]");
    body.textContent = "";
    if (!state.schema) {
      body.appendChild(el("p", {"class": "lb-error", role: "alert", text: state.error || t("No form to show.")}));
      return;
    }
    body.appendChild(renderSettings());
    body.appendChild(renderStepsSwitch());
    var list = steps();
    if (list) {
      list.forEach(function (step, index) { body.appendChild(renderStep(step, index, list.length)); });
      var loose = Object.keys(state.schema.properties).filter(function (n) { return stepOf(n) === -1; });
      if (loose.length) {
        body.appendChild(el("section", {"class": "lb-step lb-loose"}, [
          el("h3", {text: t("Fields in no step (residents will not see them)")}),
          renderFieldList([], loose, -2)
        ]));
      }
      body.appendChild(el("div", {"class": "lb-actions"}, [button(t("Add a step"), addStep, {"data-focus": "add-step"})]));
    } else {
      body.appendChild(el("section", {"class": "lb-step"}, [renderFieldList([], orderedNames([]), -1),
        renderAdd([], -1)]));
    }
    if (focused) {
      var again = root.querySelector('[data-focus="' + focused.replace(/["\\]/g, "") + '"]');
      if (again) again.focus();
    }
  }

  function renderSettings() {
    var schema = state.schema, x = ui(false);
    var title = textInput(typeof schema.title === "string" ? schema.title : "", function (v) {
      if (v) put(schema, "title", v, "$schema"); else delete schema.title;
      commit(false);
    }, {"data-focus": "form-title"});
    var description = el("textarea", {rows: 3, value: typeof schema.description === "string" ? schema.description : "",
      "data-focus": "form-description", oninput: function (e) {
        if (e.target.value) put(schema, "description", e.target.value, "title"); else delete schema.description;
        commit(false);
      }});
    var prefix = textInput(x.reference_prefix || "", function (v) {
      if (v) ui(true).reference_prefix = v.toUpperCase(); else delete ui(true).reference_prefix;
      commit(false);
    }, {"data-focus": "form-prefix", maxlength: 6, autocapitalize: "characters"});
    return el("details", {"class": "lb-settings"}, [
      el("summary", {text: t("Form settings: title, button, message after submitting")}),
      labelled(t("Form title"), title),
      labelled(t("Introduction"), description),
      bilingual(t("Text on the submit button"), x.submit_label, function (zh, en) { writeText(ui(true), "submit_label", zh, en); },
        "submit-label"),
      bilingual(t("Message after submitting"), x.success_message, function (zh, en) {
        writeText(ui(true), "success_message", zh, en); }, "success", true),
      checkbox(t("People who are not signed in may fill it in"), !!x.anonymous, function (on) {
        if (on) ui(true).anonymous = true; else delete ui(true).anonymous;
        commit();
      }, "anonymous"),
      labelled(t("Reference number prefix"), prefix, t("1 to 6 capital letters, e.g. MQ"))
    ]);
  }

  function renderStepsSwitch() {
    return checkbox(t("Fill in step by step (several pages)"), !!steps(), function (on) {
      var x = ui(true);
      if (on) {
        put(x, "steps", [{key: "step_1", title: t("Step {n}", {n: 1}), fields: orderedNames([])}], "order");
      } else {
        var names = [];
        steps().forEach(function (step) { names = names.concat(step.fields || []); });
        delete x.steps;
        Object.keys(state.schema.properties).forEach(function (n) { if (names.indexOf(n) === -1) names.push(n); });
        applyOrder([], names);
        if (!Object.keys(x).length) delete state.schema["x-ui"];
      }
      commit();
    }, "steps-switch");
  }

  function addStep() {
    var list = steps(), keys = list.map(function (s) { return s.key; });
    list.push({key: uniqueKey(keys, "step"), title: t("Step {n}", {n: list.length + 1}), fields: []});
    state.editingStep = list.length - 1;
    commit();
  }

  function renderStep(step, index, count) {
    var editing = state.editingStep === index;
    var head = el("div", {"class": "lb-step-head"}, [
      el("h3", {text: t("Step {n}", {n: index + 1}) + (shown(step.title) ? "：" + shown(step.title) : "")}),
      el("div", {"class": "lb-tools"}, [
        button(editing ? t("Done") : t("Edit step"), function () { state.editingStep = editing ? null : index; render(); },
          {"aria-expanded": editing ? "true" : "false", "data-focus": "step-edit-" + index}),
        button("↑", function () { swapSteps(index, -1); }, {disabled: index === 0, "aria-label": t("Move step up"),
          "data-focus": "step-up-" + index}),
        button("↓", function () { swapSteps(index, 1); }, {disabled: index === count - 1, "aria-label": t("Move step down"),
          "data-focus": "step-down-" + index})
      ])
    ]);
    var parts = [head];
    if (editing) parts.push(renderStepEditor(step, index, count));
    if (!Array.isArray(step.fields) || !step.fields.length) {
      parts.push(el("p", {"class": "lb-hint", text: t("This step has no fields yet: add one, or move one here.")}));
    }
    parts.push(renderFieldList([], Array.isArray(step.fields) ? step.fields.filter(function (n) {
      return has(state.schema.properties, n); }) : [], index));
    parts.push(renderAdd([], index));
    return el("section", {"class": "lb-step", "aria-label": t("Step {n}", {n: index + 1})}, parts);
  }

  function swapSteps(index, delta) {
    var list = steps(), step = list.splice(index, 1)[0];
    list.splice(index + delta, 0, step);
    state.editingStep = state.editingStep === index ? index + delta : state.editingStep;
    commit();
  }

  function renderStepEditor(step, index, count) {
    var remove = count > 1 ? button(t("Remove this step (its fields move to the step next to it)"), function () {
      var list = steps(), target = list[index === 0 ? 1 : index - 1];
      target.fields = index === 0 ? (step.fields || []).concat(target.fields) : target.fields.concat(step.fields || []);
      list.splice(index, 1);
      state.editingStep = null;
      commit();
    }, {"class": "lb-button lb-danger"}) : null;
    return el("div", {"class": "lb-editor"}, [
      bilingual(t("Step title"), step.title, function (zh, en) { writeText(step, "title", zh, en, "key"); }, "step-title-" + index),
      bilingual(t("Step introduction"), step.description, function (zh, en) {
        writeText(step, "description", zh, en, "title"); }, "step-description-" + index, true),
      remove
    ]);
  }

  function renderFieldList(parent, names, stepIndex) {
    var list = el("ol", {"class": "lb-fields"});
    names.forEach(function (name, position) {
      list.appendChild(renderField(parent.concat([name]), position, names.length, stepIndex));
    });
    return list;
  }

  function samePath(a, b) { return !!a && !!b && a.join(".") === b.join("."); }

  function renderField(path, position, count, stepIndex) {
    var node = fieldNode(path), options = fieldUi(path, false), kind = kindOf(node, options);
    var holder = container(path.slice(0, -1)), name = path[path.length - 1], dotted = path.join(".");
    var required = Array.isArray(holder.required) && holder.required.indexOf(name) !== -1;
    var conditional = conditionsFor(path).length > 0;
    var open = samePath(state.selected, path);
    var title = (node && typeof node.title === "string" && node.title) || name;
    var badges = [el("span", {"class": "lb-kind", text: kindLabel(kind)})];
    if (required) badges.push(el("span", {"class": "lb-badge", text: t("required")}));
    if (conditional) badges.push(el("span", {"class": "lb-badge", text: t("only sometimes")}));
    var top = path.length === 1, list = steps();
    var first = top && list ? stepIndex <= 0 && position === 0 : position === 0;
    var last = top && list ? (stepIndex === list.length - 1 || stepIndex < 0) && position === count - 1 : position === count - 1;
    var item = el("li", {"class": "lb-field" + (open ? " lb-open" : ""), "data-path": dotted,
      draggable: top ? "true" : null}, [
      el("div", {"class": "lb-field-head"}, [
        el("button", {type: "button", "class": "lb-field-main", "aria-expanded": open ? "true" : "false",
          "data-focus": "open-" + dotted, onclick: function () {
            state.selected = open ? null : path; state.confirmDelete = false; render(); }},
          [el("span", {"class": "lb-field-title", text: title})].concat(badges)),
        el("div", {"class": "lb-tools"}, [
          button("↑", function () { if (move(path, -1)) commit(); }, {disabled: first,
            "aria-label": t("Move “{name}” up", {name: title}), "data-focus": "up-" + dotted}),
          button("↓", function () { if (move(path, 1)) commit(); }, {disabled: last,
            "aria-label": t("Move “{name}” down", {name: title}), "data-focus": "down-" + dotted})
        ])
      ])
    ]);
    if (top) {
      item.addEventListener("dragstart", function (e) { e.dataTransfer.setData("text/plain", name); item.classList.add("lb-dragging"); });
      item.addEventListener("dragend", function () { item.classList.remove("lb-dragging"); });
      item.addEventListener("dragover", function (e) { e.preventDefault(); });
      item.addEventListener("drop", function (e) {
        e.preventDefault();
        var dragged = e.dataTransfer.getData("text/plain");
        if (has(state.schema.properties, dragged) && moveBefore(dragged, name)) commit();
      });
    }
    if (open) item.appendChild(renderEditor(path, node, options, kind));
    if ((kind === "group" || kind === "repeat") && container(path)) {
      item.appendChild(el("div", {"class": "lb-children"}, [
        el("p", {"class": "lb-hint", text: t("Fields in this group:")}),
        renderFieldList(path, orderedNames(path), -1),
        renderAdd(path, -1)
      ]));
    }
    return item;
  }

  function renderAdd(parent, stepIndex) {
    var here = state.adding && samePath(state.adding.parent, parent) && state.adding.step === stepIndex;
    var id = "add-" + (parent.join(".") || "form") + "-" + stepIndex;
    var toggle = button(here ? t("Cancel") : (parent.length ? t("+ Add a field to this group") :
      (stepIndex >= 0 ? t("+ Add a field to this step") : t("+ Add a field"))), function () {
      state.adding = here ? null : {parent: parent, step: stepIndex};
      render();
    }, {"class": "lb-button lb-add", "aria-expanded": here ? "true" : "false", "data-focus": id});
    if (!here) return el("div", {"class": "lb-actions"}, [toggle]);
    var kinds = KINDS.filter(function (k) { return parent.length === 0 || (k !== "group" && k !== "repeat"); });
    return el("div", {"class": "lb-actions"}, [toggle, el("div", {"class": "lb-kinds", role: "group",
      "aria-label": t("What kind of field?")}, [el("p", {text: t("What kind of field?")})].concat(kinds.map(function (kind) {
        return button(kindLabel(kind), function () {
          state.selected = addField(parent, kind, stepIndex);
          state.adding = null;
          commit();
          var title = root.querySelector('[data-focus="title-' + state.selected.join(".") + '"]');
          if (title) { title.focus(); title.select(); }
        }, {"data-kind": kind, "data-focus": "kind-" + kind});
      })))]);
  }

  // ------------------------------------------------------------ the editor of one field

  function renderEditor(path, node, options, kind) {
    var holder = container(path.slice(0, -1)), name = path[path.length - 1], dotted = path.join(".");
    var parts = [];
    var titleBox = textInput(typeof node.title === "string" ? node.title : "", function (v) {
      if (v) put(node, "title", v, "$ref"); else delete node.title;
      var label = root.querySelector('[data-path="' + dotted + '"] .lb-field-title');
      if (label) label.textContent = v || name;
      commit(false);
    }, {"data-focus": "title-" + dotted});
    parts.push(labelled(t("Question (what residents read)"), titleBox,
      t("English titles are not part of the form format; help texts can have both.")));

    var keyBox = el("input", {type: "text", value: name, "data-focus": "key-" + dotted, autocapitalize: "off",
      spellcheck: "false", pattern: "[a-z][a-z0-9_]*"});
    var keyError = el("p", {"class": "lb-error", role: "alert", hidden: true});
    keyBox.addEventListener("change", function () {
      var fresh = keyBox.value.trim();
      if (fresh === name) return;
      if (!FIELD_KEY.test(fresh)) {
        keyError.textContent = t("Use small English letters, digits and _, starting with a letter.");
        keyError.hidden = false;
        return;
      }
      if (has(holder.properties, fresh)) {
        keyError.textContent = t("Another field already has this code.");
        keyError.hidden = false;
        return;
      }
      replaceField(path, fresh);
      state.selected = path.slice(0, -1).concat([fresh]);
      commit();
    });
    parts.push(el("div", {}, [labelled(t("Code name (used by flows and exports)"), keyBox,
      t("Small English letters, digits and _. Changing it can break flows that use this field.")), keyError]));

    var kindSelect = el("select", {"data-focus": "kind-" + dotted});
    var choices = kind === "choice" || kind === "multi" ? readChoices(choiceHolder(node, kind)).list : null;
    (KINDS.indexOf(kind) === -1 ? [kind] : []).concat(KINDS).forEach(function (k) {
      if (path.length > 1 && (k === "group" || k === "repeat") && k !== kind) return;
      kindSelect.appendChild(el("option", {value: k, text: kindLabel(k)}));
    });
    kindSelect.value = kind;
    kindSelect.addEventListener("change", function () {
      var carried = choices && (kindSelect.value === "choice" || kindSelect.value === "multi") ? choices.map(function (c) {
        return {"const": c.value, "title": String(c.title)}; }) : null;
      applyKind(path, kindSelect.value, carried);
      commit();
    });
    parts.push(labelled(t("Kind of answer"), kindSelect, kind === "shared" ? t("This field uses a shared definition (“{ref}”): its rules are set there.", {ref: node.$ref}) :
      (kind === "other" ? t("This field is set up in a way only the code editor can change; its texts can be edited here.") : null)));

    var conditions = conditionsFor(path);
    parts.push(checkbox(t("Must be filled in"), Array.isArray(holder.required) && holder.required.indexOf(name) !== -1,
      function (on) {
        var list = Array.isArray(holder.required) ? holder.required : [];
        list = on ? (list.indexOf(name) === -1 ? list.concat([name]) : list) : without(list, name);
        if (list.length) put(holder, "required", list, "properties"); else delete holder.required;
        commit();
      }, "required-" + dotted));
    parts.push(checkbox(t("Personal information (never shown in public)"), !!options["private"], function (on) {
      setUi(path, "private", on || undefined); commit();
    }, "private-" + dotted));

    parts.push(bilingual(t("Help text under the question"), options.help, function (zh, en) {
      if (!zh && !en) setUi(path, "help", undefined);
      else writeText(fieldUi(path, true), "help", zh, en);
    }, "help-" + dotted, true));
    if (["text", "textarea", "integer", "number", "phone", "idcard", "email", "url"].indexOf(kind) !== -1) {
      parts.push(bilingual(t("Example shown in the empty box"), options.placeholder, function (zh, en) {
        if (!zh && !en) setUi(path, "placeholder", undefined);
        else writeText(fieldUi(path, true), "placeholder", zh, en);
      }, "placeholder-" + dotted));
    }
    if (kind === "choice" || kind === "multi") parts.push(renderChoices(path, node, kind, options));
    var limits = renderLimits(path, node, kind, options);
    if (limits) parts.push(limits);
    if (kind === "repeat") {
      parts.push(bilingual(t("Text on the “add” button"), options.add_label, function (zh, en) {
        if (!zh && !en) setUi(path, "add_label", undefined);
        else writeText(fieldUi(path, true), "add_label", zh, en);
      }, "add-label-" + dotted));
    }
    parts.push(renderConditions(path, conditions));

    var remove = state.confirmDelete ? el("div", {"class": "lb-confirm", role: "group"}, [
      el("p", {text: t("Remove “{name}” from the form?", {name: node.title || name})}),
      button(t("Yes, remove it"), function () {
        replaceField(path, null);
        state.selected = null; state.confirmDelete = false;
        commit();
      }, {"class": "lb-button lb-danger", "data-focus": "remove-yes-" + dotted}),
      button(t("Keep it"), function () { state.confirmDelete = false; render(); }, {"data-focus": "remove-no-" + dotted})
    ]) : button(t("Remove this field"), function () { state.confirmDelete = true; render(); },
      {"class": "lb-button lb-danger", "data-focus": "remove-" + dotted});
    parts.push(el("div", {"class": "lb-actions"}, [remove, button(t("Done"), function () {
      state.selected = null; state.confirmDelete = false; render();
      var again = root.querySelector('[data-focus="open-' + dotted + '"]');
      if (again) again.focus();
    }, {"data-focus": "done-" + dotted})]));
    return el("div", {"class": "lb-editor", role: "group", "aria-label": t("Edit “{name}”", {name: node.title || name})}, parts);
  }

  function renderChoices(path, node, kind, options) {
    var holder = choiceHolder(node, kind), read = readChoices(holder), dotted = path.join(".");
    var typed = holder.type || inferType(holder) || "string";
    function save(list) {
      if (read.style === "enum") holder["enum"] = list.map(function (c) { return c.value; });
      else holder[read.style] = list.map(function (c, i) {
        var old = holder[read.style][i], option = isObject(old) ? old : {};
        var fresh = {"const": c.value, "title": c.title};
        Object.keys(option).forEach(function (k) { if (k !== "const" && k !== "title") fresh[k] = option[k]; });
        var ordered = {};
        Object.keys(option).forEach(function (k) { ordered[k] = fresh[k]; });
        Object.keys(fresh).forEach(function (k) { ordered[k] = fresh[k]; });
        return ordered;
      });
    }
    function value(raw) {
      if (typed === "integer") { var n = parseInt(raw, 10); return isNaN(n) ? raw : n; }
      if (typed === "number") { var f = parseFloat(raw); return isNaN(f) ? raw : f; }
      return raw;
    }
    var rows = read.list.map(function (choice, index) {
      var parts = [labelled(t("Choice {n}", {n: index + 1}), textInput(String(choice.title), function (v) {
        var list = readChoices(holder).list;
        list[index].title = v;
        if (read.style === "enum") list[index].value = value(v);
        save(list); commit(false);
      }, {"data-focus": "choice-" + dotted + "-" + index}))];
      if (read.style !== "enum") {
        parts.push(labelled(t("Code saved (used by flows)"), textInput(String(choice.value), function (v) {
          var list = readChoices(holder).list;
          list[index].value = value(v);
          save(list); commit(false);
        }, {"data-focus": "choice-value-" + dotted + "-" + index, "class": "lb-small", autocapitalize: "off"})));
      }
      parts.push(el("div", {"class": "lb-tools"}, [
        button("↑", function () { var l = readChoices(holder).list; l.splice(index - 1, 0, l.splice(index, 1)[0]); save(l); commit(); },
          {disabled: index === 0, "aria-label": t("Move choice {n} up", {n: index + 1}), "data-focus": "choice-up-" + dotted + "-" + index}),
        button("↓", function () { var l = readChoices(holder).list; l.splice(index + 1, 0, l.splice(index, 1)[0]); save(l); commit(); },
          {disabled: index === read.list.length - 1, "aria-label": t("Move choice {n} down", {n: index + 1}),
            "data-focus": "choice-down-" + dotted + "-" + index}),
        button(t("Remove"), function () { var l = readChoices(holder).list; l.splice(index, 1); save(l); commit(); },
          {disabled: read.list.length <= 1, "class": "lb-button lb-danger", "aria-label": t("Remove choice {n}", {n: index + 1}),
            "data-focus": "choice-remove-" + dotted + "-" + index})
      ]));
      return el("li", {"class": "lb-choice"}, parts);
    });
    var add = button(t("+ Add a choice"), function () {
      var list = readChoices(holder).list, n = list.length + 1;
      var values = list.map(function (c) { return c.value; });
      var fresh;
      if (read.style === "enum") { fresh = t("Option {n}", {n: n}); while (values.indexOf(fresh) !== -1) { n += 1; fresh = t("Option {n}", {n: n}); } }
      else if (typed === "integer" || typed === "number") { fresh = 1; while (values.indexOf(fresh) !== -1) fresh += 1; }
      else fresh = uniqueKey(values.map(String), "option");
      list.push({value: fresh, title: read.style === "enum" ? fresh : t("Option {n}", {n: n})});
      save(list); commit();
      var box = root.querySelector('[data-focus="choice-' + dotted + "-" + (list.length - 1) + '"]');
      if (box) { box.focus(); box.select(); }
    }, {"data-focus": "choice-add-" + dotted});
    var parts = [el("legend", {text: t("Choices")}), el("ol", {"class": "lb-choices"}, rows), add];
    if (kind === "choice") {
      var shape = el("select", {"data-focus": "widget-" + dotted, onchange: function (e) {
        setUi(path, "widget", e.target.value || undefined); commit(); }});
      var widgets = [["", t("Automatic (round buttons up to 5 choices, else a list)")], ["radio", t("Round buttons")],
        ["select", t("Drop-down list")]];
      if (typed === "integer") widgets.push(["rating", t("Stars")]);
      widgets.forEach(function (w) { shape.appendChild(el("option", {value: w[0], text: w[1]})); });
      shape.value = options.widget || "";
      parts.push(labelled(t("Show the choices as"), shape));
    }
    return el("fieldset", {"class": "lb-group"}, parts);
  }

  function renderLimits(path, node, kind, options) {
    var dotted = path.join("."), rows = [];
    if (kind === "text" || kind === "textarea") {
      rows.push(nodeNumber(t("At least how many characters"), node, "minLength", "min-length-" + dotted, true));
      rows.push(nodeNumber(t("At most how many characters"), node, "maxLength", "max-length-" + dotted, true));
      rows.push(labelled(t("Pattern the answer must match (advanced)"), textInput(node.pattern || "", function (v) {
        if (v) node.pattern = v; else delete node.pattern;
        commit(false);
      }, {"data-focus": "pattern-" + dotted, spellcheck: "false", autocapitalize: "off"}),
        t("A regular expression, e.g. ^[0-9]{6}$ for six digits. Leave empty if unsure.")));
    }
    if (kind === "textarea") {
      rows.push(numberInput(t("Height of the box (lines)"), options.rows, function (n) { setUi(path, "rows", n); },
        "rows-" + dotted, true));
    }
    if (kind === "integer" || kind === "number") {
      rows.push(nodeNumber(t("Smallest allowed"), node, "minimum", "minimum-" + dotted, false));
      rows.push(nodeNumber(t("Largest allowed"), node, "maximum", "maximum-" + dotted, false));
    }
    if (kind === "multi" || kind === "repeat") {
      rows.push(nodeNumber(kind === "multi" ? t("Choose at least") : t("At least how many entries"), node, "minItems",
        "min-items-" + dotted, true));
      rows.push(nodeNumber(kind === "multi" ? t("Choose at most") : t("At most how many entries"), node, "maxItems",
        "max-items-" + dotted, true));
    }
    if (kind === "photos" || kind === "files") {
      rows.push(nodeNumber(t("At most how many files"), node, "maxItems", "max-items-" + dotted, true));
    }
    if (["photo", "photos", "file", "files"].indexOf(kind) !== -1) {
      rows.push(numberInput(t("Largest file size (MB, up to 20)"), options.max_size_mb, function (n) {
        setUi(path, "max_size_mb", n); }, "size-" + dotted, false));
    }
    if (!rows.length) return null;
    return el("fieldset", {"class": "lb-group"}, [el("legend", {text: t("Limits")})].concat(rows));
  }

  function describeValue(field, value) {
    var node = container([]) && fieldNode(field.path) || {};
    var kind = kindOf(node, fieldUi(field.path, false));
    if (typeof value === "boolean") return value ? t("Yes") : t("No");
    if (kind === "choice") {
      var match = readChoices(node).list.filter(function (c) { return c.value === value; })[0];
      if (match) return String(match.title);
    }
    return String(value);
  }

  function renderConditions(path, conditions) {
    var holder = container(path.slice(0, -1)), parent = path.slice(0, -1), dotted = path.join(".");
    var lines = conditions.map(function (found) {
      var sentence = tests(found.block).map(function (test) {
        var other = holder.properties[test.field] || {};
        var field = {path: parent.concat([test.field])};
        return t("“{field}” is {values}", {field: other.title || test.field,
          values: test.values.map(function (v) { return "“" + describeValue(field, v) + "”"; }).join(t(" or "))});
      }).join(t(" and "));
      return el("li", {}, [el("span", {text: t("Shown and needed when {condition}", {condition: sentence})}),
        button(t("Remove condition"), function () { removeCondition(path, found.index); commit(); },
          {"class": "lb-button lb-danger", "data-focus": "condition-remove-" + dotted + "-" + found.index})]);
    });
    var parts = [el("legend", {text: t("Only ask this when…")})];
    if (!lines.length) parts.push(el("p", {"class": "lb-hint", text: t("Always asked.")}));
    else parts.push(el("ul", {"class": "lb-conditions"}, lines));
    var candidates = Object.keys(holder.properties).filter(function (other) {
      if (other === path[path.length - 1]) return false;
      var kind = kindOf(holder.properties[other], fieldUi(parent.concat([other]), false));
      return kind === "choice" || kind === "boolean";
    });
    if (!candidates.length) {
      parts.push(el("p", {"class": "lb-hint", text: t("Add a choice or yes/no question first: a condition depends on its answer.")}));
      return el("fieldset", {"class": "lb-group"}, parts);
    }
    var fieldSelect = el("select", {"data-focus": "condition-field-" + dotted});
    candidates.forEach(function (other) {
      fieldSelect.appendChild(el("option", {value: other, text: holder.properties[other].title || other}));
    });
    var valuesBox = el("div", {"class": "lb-values", role: "group", "aria-label": t("Answers")});
    function fillValues() {
      valuesBox.textContent = "";
      var other = holder.properties[fieldSelect.value];
      var kind = kindOf(other, fieldUi(parent.concat([fieldSelect.value]), false));
      var values = kind === "boolean" ? [{value: true, title: t("Yes")}, {value: false, title: t("No")}] : readChoices(other).list;
      values.forEach(function (choice, index) {
        var box = checkbox(String(choice.title), false, function () {}, "condition-value-" + dotted + "-" + index);
        box.querySelector("input").linliValue = choice.value;
        valuesBox.appendChild(box);
      });
    }
    fieldSelect.addEventListener("change", fillValues);
    fillValues();
    var message = el("p", {"class": "lb-error", role: "alert", hidden: true});
    parts.push(el("div", {"class": "lb-new-condition"}, [
      labelled(t("Ask it only when the answer to"), fieldSelect),
      el("p", {text: t("is one of:")}), valuesBox, message,
      button(t("Add this condition"), function () {
        var chosen = [];
        valuesBox.querySelectorAll("input").forEach(function (input) { if (input.checked) chosen.push(input.linliValue); });
        if (!chosen.length) { message.textContent = t("Tick at least one answer."); message.hidden = false; return; }
        addCondition(path, fieldSelect.value, chosen);
        commit();
      }, {"data-focus": "condition-add-" + dotted})
    ]));
    return el("fieldset", {"class": "lb-group"}, parts);
  }

  // ------------------------------------------------------------ start

  /* Follow `next` (the editor, or the textarea until the editor is ready): read it, listen to it. */
  function attach(next) {
    source = next;
    next.onChange(function (text) {
      if (source !== next || text === lastText) return;
      load(text);
      schedulePreview();
    });
    load(next.getText());
    schedulePreview();
  }

  function start() {
    root = document.querySelector("[data-linli-builder]");
    if (!root) return;
    loadStrings();
    window.linliBuilder = {
      serialize: function () { return state.schema ? serialize() : null; },
      load: load,
      schema: function () { return state.schema; }
    };
    if (!window.linliEditor) {
      // the editor may start after us: it says so with an event
      document.addEventListener("linli:editor-ready", function (event) {
        if (event.detail && event.detail !== source) attach(event.detail);
      });
    }
    var first = window.linliEditor || textareaSource();
    if (first) attach(first);
    else root.querySelector("[data-builder-body]").textContent = t("Loading the form…");
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
