/*
 * The Linli definition editor (admin area): CodeMirror over the page's textarea, checked as one
 * types.
 *
 * The page works without this file: the textarea is a plain form field and the server lists the
 * problems. Here we add syntax highlighting (YAML for flows and community files, JSON for forms),
 * a debounced POST of the text to the lint endpoint (the same three gates as publishing), the
 * problems as a list and as gutter markers on their lines, and a click on a problem to jump there.
 *
 * Integration point: window.linliEditor = {getText(), setText(text), onChange(callback)} — the
 * visual form builder reads and writes the same JSON text through it. setText() is checked like
 * typing is. Messages come from the server, already translated; nothing here builds markup from
 * text (textContent only).
 */
(function () {
    "use strict";

    var DELAY = 400; // ms of quiet typing before a check

    function init() {
        var form = document.querySelector("[data-linli-editor]");
        if (!form) {
            return;
        }
        var textarea = form.querySelector("[data-linli-source]");
        var list = form.querySelector("[data-linli-problems-list]");
        var summary = form.querySelector("[data-linli-problems-summary]");
        var lintUrl = form.getAttribute("data-lint-url");
        var csrf = form.querySelector("input[name=csrfmiddlewaretoken]");
        var listeners = [];
        var cm = null;
        var marked = [];
        var timer = null;
        var pending = null;
        var lastChecked = null;

        if (window.CodeMirror) {
            var mode = form.getAttribute("data-mode") === "json" ? {name: "javascript", json: true} : "yaml";
            cm = window.CodeMirror.fromTextArea(textarea, {
                mode: mode,
                lineNumbers: true,
                indentUnit: 2,
                tabSize: 2,
                indentWithTabs: false,
                lineWrapping: false,
                gutters: ["linli-gutter", "CodeMirror-linenumbers"],
                extraKeys: {
                    // YAML forbids tabs for indentation: the Tab key indents with spaces
                    Tab: function (editor) {
                        if (editor.somethingSelected()) {
                            editor.indentSelection("add");
                        } else {
                            editor.replaceSelection("  ", "end");
                        }
                    },
                    "Shift-Tab": function (editor) { editor.indentSelection("subtract"); }
                }
            });
            cm.on("change", changed);
        } else {
            textarea.addEventListener("input", changed);
        }

        function getText() {
            return cm ? cm.getValue() : textarea.value;
        }

        function setText(text) {
            if (text === getText()) {
                return;
            }
            if (cm) {
                var scroll = cm.getScrollInfo();
                cm.setValue(text);
                cm.scrollTo(scroll.left, scroll.top);
            } else {
                textarea.value = text;
                changed();
            }
        }

        function changed() {
            if (cm) {
                cm.save(); // the textarea is what the "Save draft" form posts
            }
            var text = getText();
            listeners.forEach(function (callback) {
                try {
                    callback(text);
                } catch (error) {
                    window.console && window.console.error(error);
                }
            });
            window.clearTimeout(timer);
            timer = window.setTimeout(check, DELAY);
        }

        function check() {
            var text = getText();
            if (text === lastChecked) {
                return;
            }
            if (pending) {
                pending.abort();
            }
            var controller = window.AbortController ? new AbortController() : null;
            pending = controller;
            var body = new FormData();
            body.append("source", text);
            fetch(lintUrl, {
                method: "POST",
                body: body,
                credentials: "same-origin",
                headers: {"X-CSRFToken": csrf ? csrf.value : "", "X-Requested-With": "XMLHttpRequest"},
                signal: controller ? controller.signal : undefined
            }).then(function (response) {
                if (!response.ok) {
                    throw new Error("lint: HTTP " + response.status);
                }
                return response.json();
            }).then(function (result) {
                if (pending === controller) {
                    pending = null;
                }
                lastChecked = text;
                show(result.problems || []);
            }).catch(function (error) {
                if (error && error.name === "AbortError") {
                    return;
                }
                summary.textContent = summary.getAttribute("data-failed") || "Checking failed; the text is checked again when you save.";
            });
        }

        function clearMarks() {
            if (!cm) {
                return;
            }
            cm.clearGutter("linli-gutter");
            marked.forEach(function (handle) { cm.removeLineClass(handle, "background", "linli-line-problem"); });
            marked = [];
        }

        function show(problems) {
            clearMarks();
            while (list.firstChild) {
                list.removeChild(list.firstChild);
            }
            summary.textContent = problems.length
                ? (summary.getAttribute("data-some") || "{n} problem(s): they must be fixed before publishing.").replace("{n}", problems.length)
                : (summary.getAttribute("data-none") || "No problems found.");
            var byLine = {};
            problems.forEach(function (problem) {
                var item = document.createElement("li");
                item.className = "linli-problem" + (problem.own ? "" : " linli-problem--other");
                var where = document.createElement("span");
                where.className = "linli-problem__where";
                var message = document.createElement("span");
                message.className = "linli-problem__message";
                message.textContent = problem.message;
                if (problem.own) {
                    where.textContent = (summary.getAttribute("data-line-text") || "Line {line}, column {column}")
                        .replace("{line}", problem.line).replace("{column}", problem.column);
                    item.setAttribute("data-line", problem.line);
                    item.setAttribute("data-column", problem.column);
                    item.tabIndex = 0;
                    item.setAttribute("role", "button");
                    if (problem.line > 0) {
                        (byLine[problem.line] = byLine[problem.line] || []).push(problem.message);
                    }
                } else {
                    where.textContent = problem.path + ":" + problem.line;
                }
                item.appendChild(where);
                item.appendChild(message);
                list.appendChild(item);
            });
            if (cm) {
                Object.keys(byLine).forEach(function (line) {
                    var index = Math.min(Number(line) - 1, cm.lineCount() - 1);
                    var marker = document.createElement("span");
                    marker.className = "linli-gutter-marker";
                    marker.textContent = "●";
                    marker.title = byLine[line].join("\n");
                    cm.setGutterMarker(index, "linli-gutter", marker);
                    marked.push(cm.addLineClass(index, "background", "linli-line-problem"));
                });
            }
        }

        function jump(item) {
            var line = Number(item.getAttribute("data-line"));
            var column = Number(item.getAttribute("data-column")) || 1;
            if (!line) {
                return;
            }
            if (cm) {
                var position = {line: line - 1, ch: Math.max(column - 1, 0)};
                cm.focus();
                cm.setCursor(position);
                cm.scrollIntoView(position, 80);
            } else {
                var lines = textarea.value.split("\n");
                var offset = 0;
                for (var i = 0; i < line - 1 && i < lines.length; i++) {
                    offset += lines[i].length + 1;
                }
                textarea.focus();
                textarea.setSelectionRange(offset + column - 1, offset + column - 1);
            }
        }

        list.addEventListener("click", function (event) {
            var item = event.target.closest("[data-line]");
            if (item) {
                jump(item);
            }
        });
        list.addEventListener("keydown", function (event) {
            var item = event.target.closest("[data-line]");
            if (item && (event.key === "Enter" || event.key === " ")) {
                event.preventDefault();
                jump(item);
            }
        });
        // the server's list, shown before any typing, is clickable too
        Array.prototype.forEach.call(list.querySelectorAll("[data-line]"), function (item) {
            if (item.getAttribute("data-line")) {
                item.tabIndex = 0;
                item.setAttribute("role", "button");
            }
        });
        if (cm) {
            // mark the server's problems in the gutter at once
            lastChecked = null;
            check();
        }

        window.linliEditor = {
            getText: getText,
            setText: setText,
            onChange: function (callback) {
                listeners.push(callback);
                return function () {
                    listeners = listeners.filter(function (other) { return other !== callback; });
                };
            }
        };
        document.dispatchEvent(new CustomEvent("linli:editor-ready", {detail: window.linliEditor}));
    }

    if (document.readyState === "loading") {
        document.addEventListener("DOMContentLoaded", init);
    } else {
        init();
    }
})();
