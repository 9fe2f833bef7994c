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
  function set(at) {
    return fetch("/try/clock", { method: "POST", headers: { "Content-Type": "application/json" },
                                 body: JSON.stringify({ at: at }) }).then(show);
  }
  fetch("/try/clock").then(show).catch(function () { form.hidden = true; });
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var at = document.getElementById("demo-clock-at").value;
    if (at) set(at);
  });
  document.getElementById("demo-clock-reset").addEventListener("click", function () { set(null); });
})();
