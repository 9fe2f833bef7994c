/* Yessindo console: the bell (issue 12, item 7). Polls /console/api/notifications every few
   seconds (slower while the doorbell stream works, at once when it rings: console.js's poll),
   shows the count and the list, sets the tab title to "(N) <title>", and on something new
   plays a short tone (Web Audio, only after the agent has used the page) and shows a browser
   notification (only when the agent allowed them, asked only on a click).
   Everything from the server is written with textContent / setAttribute. */
"use strict";
(function () {
  const root = document.getElementById("notify");
  if (!root) return;
  const button = document.getElementById("notify-button");
  const countEl = document.getElementById("notify-count");
  const panel = document.getElementById("notify-panel");
  const list = document.getElementById("notify-list");
  const empty = document.getElementById("notify-empty");
  const readAll = document.getElementById("notify-read-all");
  const allow = document.getElementById("notify-allow");
  const who = document.getElementById("who");
  const notesSection = document.getElementById("notes-section");
  const STORE_KEY = "yessindo.notify." + (who ? who.getAttribute("data-agent") : "");
  const FAST_MS = 4000, SLOW_MS = 20000;

  let count = 0;
  let state = load();  // {keys: [...], latest: newest message id}: what this tab has already announced

  function load() {
    try { return JSON.parse(sessionStorage.getItem(STORE_KEY) || "null"); } catch (err) { return null; }
  }
  function save(value) {
    try { sessionStorage.setItem(STORE_KEY, JSON.stringify(value)); } catch (err) { /* private mode */ }
  }
  const el = window.yessindo.el;

  // -- the tab title: "(N) <title>"; other scripts may rewrite the title, the count stays ours
  function applyTitle() {
    const base = document.title.replace(/^\(\d+\+?\) /, "");
    const want = (count ? "(" + count + ") " : "") + base;
    if (document.title !== want) document.title = want;
  }
  const titleNode = document.querySelector("title");
  if (titleNode && window.MutationObserver) {
    new MutationObserver(applyTitle).observe(titleNode, { childList: true, characterData: true, subtree: true });
  }

  // -- sound: only once the agent has used the page (browsers refuse audio before a gesture)
  let audio = null;
  function unlock() {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return;
    try {
      if (!audio) audio = new Ctx();
      if (audio.state === "suspended") audio.resume();
    } catch (err) { audio = null; }
  }
  document.addEventListener("pointerdown", unlock, { passive: true });
  document.addEventListener("keydown", unlock);
  function chime() {
    if (!audio || audio.state !== "running") return;
    const t = audio.currentTime;
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.type = "sine";
    osc.frequency.setValueAtTime(880, t);
    osc.frequency.setValueAtTime(1175, t + 0.12);
    gain.gain.setValueAtTime(0.0001, t);
    gain.gain.exponentialRampToValueAtTime(0.15, t + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.3);
    osc.connect(gain).connect(audio.destination);
    osc.start(t);
    osc.stop(t + 0.32);
  }

  // -- browser notifications: asked only when the agent clicks "Izinkan"
  function canNotify() { return "Notification" in window; }
  function showAllow() {
    if (allow) allow.hidden = !(canNotify() && Notification.permission === "default");
  }
  showAllow();
  if (allow) {
    allow.addEventListener("click", function () {
      unlock();
      if (!canNotify()) return;
      const asked = Notification.requestPermission(showAllow);  // old browsers: a callback
      if (asked && asked.then) asked.then(showAllow);
    });
  }
  function announce(items) {
    chime();
    if (!canNotify() || Notification.permission !== "granted") return;
    items.slice(0, 3).forEach(function (item) {
      try {
        const n = new Notification(item.title, { body: item.text || "", tag: item.key });
        n.addEventListener("click", function () { window.focus(); location.assign(item.url); n.close(); });
      } catch (err) { /* some browsers allow notifications only from a service worker */ }
    });
  }

  // -- the list
  function post(url, fields, keepalive) {
    const body = new URLSearchParams(fields);
    body.set("csrf_token", root.getAttribute("data-csrf") || "");
    return fetch(url, { method: "POST", body: body, credentials: "same-origin", keepalive: !!keepalive,
                        headers: { "Accept": "application/json" } });
  }
  function render(data) {
    count = Number(data.count) || 0;
    countEl.textContent = count > 49 ? "50+" : String(count);
    countEl.setAttribute("data-count", String(count));
    countEl.hidden = count === 0;
    button.setAttribute("aria-label", "Pemberitahuan: " + count + " menunggu");
    applyTitle();
    const fresh = document.createDocumentFragment();
    data.items.forEach(function (item) {
      const li = el("li", "notify-item notify-" + item.kind + (item.unread ? " unread" : ""));
      li.setAttribute("data-kind", item.kind);
      li.setAttribute("data-key", item.key);
      li.setAttribute("data-ref", item.ref);
      const link = el("a");
      link.setAttribute("href", item.url);
      link.appendChild(el("span", "notify-title", item.title));
      if (item.text) link.appendChild(el("span", "notify-text", item.text));
      link.appendChild(el("span", "notify-time", item.time));
      if (item.kind === "mention" || item.kind === "assigned") {
        link.addEventListener("click", function () {
          post(root.getAttribute("data-read"), { ids: String(item.id) }, true).catch(function () {});
        });
      }
      li.appendChild(link);
      fresh.appendChild(li);
    });
    list.replaceChildren(fresh);
    empty.hidden = data.items.length > 0;
  }
  function handle(data) {
    render(data);
    const known = new Set(state ? state.keys : []);
    const news = state ? data.items.filter(function (item) {
      if (known.has(item.key)) return false;
      // a message older than the last look (e.g. a ticket just claimed) is not news
      return !(item.kind === "message" && item.id <= state.latest);
    }) : [];
    state = { keys: data.items.map(function (item) { return item.key; }), latest: data.latest_message };
    save(state);
    if (news.length) announce(news);
    // a mention on the ticket open in this tab is read by being here
    if (notesSection) {
      const ref = notesSection.getAttribute("data-ref");
      if (data.items.some(function (i) { return (i.kind === "mention" || i.kind === "assigned") && i.unread && i.ref === ref; })) {
        post(root.getAttribute("data-read"), { ref: ref }).then(function () { ring(); }).catch(function () {});
      }
    }
  }

  // -- polling (console.js): at once, then every few seconds; the doorbell and a tab coming back ring it
  const ring = window.yessindo.poll(function () { return root.getAttribute("data-api"); }, FAST_MS, handle,
                                    { slow: SLOW_MS, now: true });
  document.addEventListener("visibilitychange", function () { if (!document.hidden) ring(); });

  // -- the panel
  function setOpen(open) {
    panel.hidden = !open;
    button.setAttribute("aria-expanded", open ? "true" : "false");
  }
  button.addEventListener("click", function () { setOpen(panel.hidden); });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && !panel.hidden) { setOpen(false); button.focus(); }
  });
  document.addEventListener("click", function (event) {
    if (!panel.hidden && !root.contains(event.target)) setOpen(false);
  });
  readAll.addEventListener("click", function () {
    post(root.getAttribute("data-read"), { all: "1" }).then(ring).catch(function () {});
  });
})();
