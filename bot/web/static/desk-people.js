// People page: ask before a removal or a password reset (forms with data-confirm), and a
// "Salin" button for the generated password. No inline script (CSP): this file only.
(function () {
  "use strict";
  function init() {
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (ev) {
        if (!window.confirm(form.getAttribute("data-confirm"))) { ev.preventDefault(); }
      });
    });
    var copy = document.getElementById("copy-password");
    var code = document.getElementById("generated-password");
    if (copy && code && navigator.clipboard) {
      copy.hidden = false;
      copy.addEventListener("click", function () {
        navigator.clipboard.writeText(code.textContent).then(function () {
          copy.textContent = "Tersalin";
        }, function () {
          copy.textContent = "Salin manual";
        });
      });
    }
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
