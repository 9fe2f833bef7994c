/* Saved replies in the reply box (issue 12, item 1).
 *
 * Typing "/" at the start of #reply-text or after a space opens #canned-list, filtered as
 * the agent types ("/ter"); the #canned-pick button opens the whole list. Arrow keys move,
 * Enter or a click inserts the text the server already filled for this ticket (replacing
 * "/ter"), Escape closes. A reply whose variables cannot be filled is shown disabled with
 * the server's reason (the empty variables, named) and is never inserted.
 * Accessible: a listbox with options, the active one named by aria-activedescendant on the
 * element that has focus, and announced in #canned-status.
 * Ctrl/Meta/Alt combinations are left alone (Ctrl+Enter sends: keys.js).
 * Built with textContent/setAttribute only (the CSP allows no inline script).
 */
(function () {
  "use strict";

  var tools, box, list, pick, status, api;
  var items = [];
  var active = -1;
  var seq = 0;
  var token = null; // {start, end, q}: the "/query" being typed, or null (opened by the button)
  var caret = null; // where the button-opened list inserts
  var timer = null;
  var inserting = false;
  var TOKEN_RE = /(^|\s)\/([A-Za-z0-9_-]{0,40})$/;

  function init() {
    tools = document.getElementById("canned-tools");
    box = document.getElementById("reply-text");
    if (!tools || !box) return;
    list = document.getElementById("canned-list");
    pick = document.getElementById("canned-pick");
    status = document.getElementById("canned-status");
    api = tools.getAttribute("data-api");
    list.setAttribute("tabindex", "-1");
    box.setAttribute("aria-autocomplete", "list");
    box.setAttribute("aria-controls", "canned-list");
    box.addEventListener("input", onInput);
    box.addEventListener("keydown", onKey);
    list.addEventListener("keydown", onKey);
    list.addEventListener("mousedown", function (e) { e.preventDefault(); }); // keep the caret in the box
    list.addEventListener("click", onClick);
    pick.addEventListener("click", onPick);
    document.addEventListener("click", function (e) {
      if (!list.hidden && !tools.contains(e.target) && e.target !== box) close();
    });
  }

  function say(text) {
    status.textContent = text;
  }

  function currentToken() {
    if (box.selectionStart !== box.selectionEnd) return null;
    var pos = box.selectionStart;
    var m = TOKEN_RE.exec(box.value.slice(0, pos));
    if (!m) return null;
    return { start: pos - m[2].length - 1, end: pos, q: m[2] };
  }

  function onInput() {
    if (inserting) return;
    var t = currentToken();
    if (!t) {
      if (!list.hidden || token) close();
      return;
    }
    token = t;
    caret = null;
    clearTimeout(timer);
    timer = setTimeout(function () { load(t.q); }, 120);
  }

  function onPick() {
    if (!list.hidden && !token) {
      close();
      return;
    }
    token = null;
    caret = { start: box.selectionStart || 0, end: box.selectionEnd || 0 };
    load("", true);
  }

  function load(q, focusList) {
    var mine = ++seq;
    fetch(api + "?q=" + encodeURIComponent(q), {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (data) {
        if (mine !== seq) return; // an older answer than what the agent typed since
        render(data.items || [], q, focusList);
      })
      .catch(function () {
        if (mine !== seq) return;
        close();
        say("Balasan tersimpan tidak bisa dimuat. Muat ulang halaman lalu coba lagi.");
      });
  }

  function render(found, q, focusList) {
    items = found;
    while (list.firstChild) list.removeChild(list.firstChild);
    if (!found.length) {
      hide();
      say(q ? "Tidak ada balasan tersimpan untuk /" + q + "." : "Belum ada balasan tersimpan.");
      return;
    }
    found.forEach(function (it, i) {
      var li = document.createElement("li");
      li.id = "canned-opt-" + i;
      li.className = "canned-option" + (it.error ? " canned-blocked" : "");
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", "false");
      li.setAttribute("data-shortcut", it.shortcut);
      if (it.error) li.setAttribute("aria-disabled", "true");
      var head = document.createElement("span");
      head.className = "canned-opt-key";
      head.textContent = "/" + it.shortcut + (it.title ? " \u2014 " + it.title : "") + (it.lang === "en" ? " (EN)" : "");
      var body = document.createElement("span");
      body.className = it.error ? "canned-opt-error" : "canned-opt-text";
      body.textContent = it.error || it.text;
      li.appendChild(head);
      li.appendChild(body);
      list.appendChild(li);
    });
    list.hidden = false;
    pick.setAttribute("aria-expanded", "true");
    move(0, true);
    say(found.length + " balasan tersimpan. Panah atas/bawah untuk memilih, Enter untuk memakai, Esc untuk menutup.");
    if (focusList) list.focus();
  }

  function move(i, quiet) {
    var options = list.querySelectorAll(".canned-option");
    if (!options.length) return;
    active = (i + options.length) % options.length;
    for (var j = 0; j < options.length; j++) {
      options[j].setAttribute("aria-selected", j === active ? "true" : "false");
      options[j].classList.toggle("active", j === active);
    }
    var el = options[active];
    box.setAttribute("aria-activedescendant", el.id);
    list.setAttribute("aria-activedescendant", el.id);
    if (el.scrollIntoView) el.scrollIntoView({ block: "nearest" });
    if (!quiet) {
      var it = items[active];
      say("/" + it.shortcut + ": " + (it.error || it.text));
    }
  }

  function onKey(e) {
    if (list.hidden || e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === "ArrowDown" || e.key === "Down") {
      e.preventDefault();
      move(active + 1);
    } else if (e.key === "ArrowUp" || e.key === "Up") {
      e.preventDefault();
      move(active - 1);
    } else if (e.key === "Enter") {
      if (active < 0) return;
      e.preventDefault();
      choose(active);
    } else if (e.key === "Escape" || e.key === "Esc") {
      e.preventDefault();
      e.stopPropagation();
      close();
      box.focus();
    } else if (e.key === "Tab") {
      close();
    }
  }

  function onClick(e) {
    var li = e.target.closest ? e.target.closest(".canned-option") : null;
    if (!li) return;
    var i = Array.prototype.indexOf.call(list.querySelectorAll(".canned-option"), li);
    move(i, true);
    choose(i);
  }

  function choose(i) {
    var it = items[i];
    if (!it) return;
    if (it.error || !it.text) {
      say(it.error || "Balasan ini tidak bisa dipakai untuk tiket ini.");
      return;
    }
    var at = token || caret || { start: box.value.length, end: box.value.length };
    var before = box.value.slice(0, at.start);
    var after = box.value.slice(at.end);
    box.value = before + it.text + after;
    var end = before.length + it.text.length;
    close();
    box.focus();
    box.setSelectionRange(end, end);
    inserting = true;
    try {
      box.dispatchEvent(new Event("input", { bubbles: true })); // others listen (typing mark, drafts)
    } finally {
      inserting = false;
    }
    say("/" + it.shortcut + " dimasukkan ke kotak balasan. Periksa lalu kirim.");
  }

  function hide() {
    list.hidden = true;
    pick.setAttribute("aria-expanded", "false");
    box.removeAttribute("aria-activedescendant");
    list.removeAttribute("aria-activedescendant");
  }

  function close() {
    clearTimeout(timer);
    seq++;
    hide();
    while (list.firstChild) list.removeChild(list.firstChild);
    items = [];
    active = -1;
    token = null;
    caret = null;
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
