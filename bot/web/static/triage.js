// Triage on the ticket page (parts/ticket_triage.html): the snooze button says what it will do.
(function () {
  "use strict";
  const until = document.getElementById("snooze-until");
  const button = document.getElementById("snooze");
  if (!until || !button) return;
  function label() {
    button.textContent = until.value ? "Tunda sampai waktu ini" : "Tunda (menunggu pelanggan)";
  }
  until.addEventListener("input", label);
  label();
})();
