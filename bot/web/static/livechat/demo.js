/* The demo shop page's "pretend it is" clock (simulator only): POST /try/clock. */
"use strict";
(function () {
  var form = document.getElementById("demo-clock");
  if (!form) return;
  var out = document.getElementById("demo-clock-now");
  function show(r) {
    return r.json().then(function (d) {
      out.textContent = d.error ? d.error : (d.pretending ? "Pura-pura: " : "Sekarang: ") + d.now.replace("T", " ");
    });
  }
  var asked = false;
  function set(at) {
    asked = true;
    return fetch("/try/clock", { method: "POST", headers: { "Content-Type": "application/json" },
                                 body: JSON.stringify({ at: at }) }).then(show);
  }
  /* The clock is not needed for the page's first paint, which the live-chat launcher shares:
     only once the page's first two frames have been drawn is it asked for, and does its field become a date-time
     control (in a fresh Chromium renderer that control's inner fields, style sheet and picker
     icon cost ~12 ms of main-thread CPU, a third of the page's first frame; a value already
     typed, 2026-11-28T22:00, stays). */
  function later() {
    var at = document.getElementById("demo-clock-at");
    try { at.type = "datetime-local"; } catch (e) { /* stays a text field: the same format works */ }
    fetch("/try/clock").then(function (r) { if (!asked) return show(r); }).catch(function () { form.hidden = true; });
  }
  requestAnimationFrame(function () { requestAnimationFrame(function () { setTimeout(later, 0); }); });
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var at = document.getElementById("demo-clock-at").value;
    if (at) set(at);
  });
  document.getElementById("demo-clock-reset").addEventListener("click", function () { set(null); });
})();
