/* Yessindo console: private notes on the ticket page (issue 12, item 2). The form posts by
   fetch (the reply being typed stays), and colleagues' notes appear without a reload: the
   list polls its JSON (slowly while the doorbell stream works, at once when it rings).
   Note text is written with textContent only. */
"use strict";
(function () {
  const section = document.getElementById("notes-section");
  if (!section) return;
  const list = document.getElementById("notes");
  const empty = document.getElementById("notes-empty");
  const form = document.getElementById("note-form");
  const text = document.getElementById("note-text");
  const error = document.getElementById("note-error");
  const api = section.getAttribute("data-api");
  const el = window.yessindo.el;
  function lastId() { return Number(section.getAttribute("data-last-id")) || 0; }

  function add(note) {
    if (list.querySelector('.note[data-id="' + Number(note.id) + '"]')) return;
    const li = el("li", "note" + (note.mine ? " note-mine" : ""));
    li.setAttribute("data-id", String(note.id));
    const meta = el("div", "note-meta");
    meta.appendChild(el("span", "note-author", note.author));
    meta.appendChild(document.createTextNode(" · "));
    const time = el("time", null, note.time);
    if (note.time_iso) time.setAttribute("datetime", note.time_iso);
    meta.appendChild(time);
    li.appendChild(meta);
    li.appendChild(el("div", "note-text", note.text));
    list.appendChild(li);
    empty.hidden = true;
    if (note.id > lastId()) section.setAttribute("data-last-id", String(note.id));
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    event.stopPropagation();  // console.js would lock the form after one send
    const body = new URLSearchParams(new FormData(form));
    const sendButton = document.getElementById("note-add");
    sendButton.disabled = true;
    fetch(api, { method: "POST", body: body, credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (data) { return { ok: r.ok, data: data }; });
      })
      .then(function (res) {
        if (res.ok && res.data.note) {
          add(res.data.note);
          text.value = "";
          error.hidden = true;
        } else {
          error.textContent = res.data.error || "Catatan tidak tersimpan. Coba lagi.";
          error.hidden = false;
        }
      })
      .catch(function () {
        error.textContent = "Koneksi terputus: catatan tidak tersimpan. Coba lagi.";
        error.hidden = false;
      })
      .finally(function () { sendButton.disabled = false; });
  });

  window.yessindo.poll(function () { return api + "?after=" + lastId(); }, 5000,
                      function (data) { data.notes.forEach(add); }, { slow: 20000 });
})();
