/* Yessindo agent console: keyboard shortcuts, so an agent can work the queue without the mouse.
   Ctrl+Enter / Cmd+Enter in a textarea sends its form (requestSubmit: the double-submit guard and
   the form's own checks run); "/" focuses the search box #search; j / k move through the queue rows
   and Enter opens the selected one; "?" shows the list. Keys are never taken while the agent types
   in a field or holds Ctrl, Alt or Cmd. No innerHTML: the help is built with textContent. */
"use strict";
(function () {
  const SHORTCUTS = [
    ["Ctrl + Enter", "Kirim isi kotak teks (balasan, catatan, email)"],
    ["/", "Ke kotak pencarian"],
    ["j / k", "Tiket berikutnya / sebelumnya di antrean"],
    ["Enter", "Buka tiket yang dipilih"],
    ["?", "Tampilkan atau tutup daftar pintasan ini"],
  ];
  let selectedRef = null;  // the queue row chosen with j/k (kept across the queue's live refresh)

  // Whether the key goes to a field the agent is typing in (then it is theirs, never a shortcut).
  function typing(target) {
    if (!target || !target.tagName) return false;
    const tag = target.tagName.toLowerCase();
    if (tag === "textarea" || tag === "select" || target.isContentEditable) return true;
    if (tag !== "input") return false;
    const type = (target.getAttribute("type") || "text").toLowerCase();
    return ["checkbox", "radio", "button", "submit", "reset", "image", "range", "color", "file"].indexOf(type) === -1;
  }

  function submitFrom(textarea) {
    const form = textarea.form;
    if (!form) return false;
    const button = form.querySelector("button[type=submit], button:not([type]), input[type=submit]");
    if (button && button.disabled) return true;  // already sent (console.js disabled it): do nothing
    if (typeof form.requestSubmit === "function") {
      form.requestSubmit(button || undefined);
    } else if (button) {
      button.click();
    }
    return true;
  }

  // -- the queue ---------------------------------------------------------------------------------
  function rows() {
    return Array.prototype.filter.call(document.querySelectorAll("#queue tr[data-ref]"), function (tr) {
      return tr.getClientRects().length > 0;
    });
  }

  function linkOf(tr) {
    return tr.querySelector("td.ref a") || tr.querySelector("a[href]");
  }

  function mark(tr, focus) {
    document.querySelectorAll("#queue tr.selected").forEach(function (other) {
      if (other !== tr) {
        other.classList.remove("selected");
        other.removeAttribute("aria-selected");
      }
    });
    tr.classList.add("selected");
    tr.setAttribute("aria-selected", "true");
    selectedRef = tr.getAttribute("data-ref");
    const link = linkOf(tr);
    if (focus && link) link.focus();
    if (focus && tr.scrollIntoView) tr.scrollIntoView({ block: "nearest" });
  }

  function move(step) {
    const list = rows();
    if (!list.length) return false;
    let at = list.findIndex(function (tr) { return tr.getAttribute("data-ref") === selectedRef; });
    if (at === -1) {
      at = step > 0 ? 0 : list.length - 1;
    } else {
      at = Math.min(list.length - 1, Math.max(0, at + step));
    }
    mark(list[at], true);
    return true;
  }

  function openSelected() {
    if (!selectedRef) return false;
    const tr = rows().find(function (row) { return row.getAttribute("data-ref") === selectedRef; });
    const link = tr && linkOf(tr);
    if (!link) return false;
    location.assign(link.getAttribute("href"));
    return true;
  }

  // console.js rebuilds the rows when the queue changes: keep the chosen ticket chosen (and focused).
  const queue = document.getElementById("queue");
  if (queue && queue.tBodies.length && window.MutationObserver) {
    new MutationObserver(function () {
      if (!selectedRef) return;
      const tr = rows().find(function (row) { return row.getAttribute("data-ref") === selectedRef; });
      if (!tr) return;
      const lost = !document.activeElement || document.activeElement === document.body;
      mark(tr, lost);
    }).observe(queue.tBodies[0], { childList: true });
  }

  // -- the list of shortcuts ---------------------------------------------------------------------
  let help = null;
  function toggleHelp() {
    if (!help) {
      help = document.createElement("dialog");
      help.id = "shortcuts";
      help.setAttribute("aria-labelledby", "shortcuts-title");
      const title = document.createElement("h2");
      title.id = "shortcuts-title";
      title.textContent = "Pintasan papan ketik";
      help.appendChild(title);
      const list = document.createElement("dl");
      list.className = "facts";
      SHORTCUTS.forEach(function (pair) {
        const dt = document.createElement("dt");
        const key = document.createElement("kbd");
        key.textContent = pair[0];
        dt.appendChild(key);
        const dd = document.createElement("dd");
        dd.textContent = pair[1];
        list.appendChild(dt);
        list.appendChild(dd);
      });
      help.appendChild(list);
      const form = document.createElement("form");
      form.setAttribute("method", "dialog");
      const close = document.createElement("button");
      close.id = "shortcuts-close";
      close.textContent = "Tutup";
      form.appendChild(close);
      help.appendChild(form);
      document.body.appendChild(help);
    }
    if (help.open) {
      help.close();
    } else if (typeof help.showModal === "function") {
      help.showModal();
    } else {
      help.setAttribute("open", "");
    }
  }

  // -- the keys ----------------------------------------------------------------------------------
  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.isComposing) return;
    const target = event.target;

    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && !event.altKey && !event.shiftKey) {
      if (target && target.tagName && target.tagName.toLowerCase() === "textarea" && submitFrom(target)) {
        event.preventDefault();
      }
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || typing(target)) return;
    if (help && help.open && event.key !== "?") return;  // the dialog has the keyboard

    let handled = false;
    if (event.key === "/") {
      const search = document.getElementById("search");
      if (search) {
        search.focus();
        if (typeof search.select === "function") search.select();
        handled = true;
      }
    } else if ((event.key === "j" || event.key === "k") && !event.shiftKey) {
      handled = move(event.key === "j" ? 1 : -1);
    } else if (event.key === "Enter" && !event.shiftKey) {
      // on the chosen row's own link Enter already follows it; from nowhere in particular, open it here
      const idle = !document.activeElement || document.activeElement === document.body;
      handled = idle && openSelected();
    } else if (event.key === "?") {
      toggleHelp();
      handled = true;
    }
    if (handled) event.preventDefault();
  });
})();
