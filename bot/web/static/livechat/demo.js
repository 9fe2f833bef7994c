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
  /* the clock is not needed for the first paint: ask once the page has been drawn, so its
     request and answer do not compete with the page's (and the live-chat launcher's) first frame */
  function ask() {
    fetch("/try/clock").then(function (r) { if (!asked) return show(r); }).catch(function () { form.hidden = true; });
  }
  requestAnimationFrame(function () { setTimeout(ask, 50); });
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var at = document.getElementById("demo-clock-at").value;
    if (at) set(at);
  });
  document.getElementById("demo-clock-reset").addEventListener("click", function () { set(null); });
})();
