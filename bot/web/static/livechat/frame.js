/* Yessindo live chat: the app inside the iframe (/livechat/frame), same origin as /livechat/api.
   Plain JS, no dependencies. The shop page only ever receives {type: "yessindo:size", open}.
   All server, agent and customer text goes into the page with textContent, never as HTML. */
(() => {
  "use strict";
  const T = {
    id: {
      open: "Buka live chat", close: "Tutup live chat", hide: "Tutup jendela chat", panel: "Live chat {shop}",
      connecting: "Menghubungkan…", log: "Percakapan", input: "Tulis pesan", placeholder: "Tulis pesan, Kak…",
      send: "Kirim", attach: "Kirim gambar", contactOpen: "Tinggalkan kontak",
      contactIntro: "Agar tim bisa membalas setelah Kakak menutup halaman ini: nama, email atau nomor WhatsApp.",
      name: "Nama", email: "Email", phone: "Nomor WhatsApp",
      save: "Simpan", later: "Nanti saja", contactEmpty: "Isi salah satu dulu ya, Kak: nama, email atau nomor WhatsApp.",
      sending: "Mengirim…", sent: "Terkirim", read: "Dibaca", failed: "Gagal — ketuk untuk kirim ulang",
      offline: "Koneksi terputus. Pesan Kakak disimpan dan akan dikirim otomatis.",
      typing: "{name} sedang mengetik…", team: "Tim {shop}", you: "Kakak:", bot: "Bot {shop}:",
      empty: "Halo Kak! Ada yang bisa kami bantu? Tulis pertanyaan Kakak di bawah, ya.",
      tooLong: "Pesannya terlalu panjang, Kak (maksimal {n} karakter). Boleh dibagi jadi beberapa pesan.",
      badType: "Maaf Kak, file ini tidak bisa dikirim. Yang bisa dikirim: gambar {types}.",
      tooBig: "Maaf Kak, gambarnya terlalu besar (maksimal {n} MB).",
      generic: "Pesan belum terkirim. Kami coba kirim ulang otomatis, Kak.",
      image: "Gambar", imageFail: "Gambar tidak bisa dimuat", code: "Kode 6 angka dari email", verify: "Kirim kode",
      verified: "Terima kasih, Kak. Email Kakak sudah terverifikasi, tim kami juga bisa membalas lewat email.",
    },
    en: {
      open: "Open live chat", close: "Close live chat", hide: "Close chat window", panel: "Live chat {shop}",
      connecting: "Connecting…", log: "Conversation", input: "Write a message", placeholder: "Write a message…",
      send: "Send", attach: "Send a picture", contactOpen: "Leave your contact details",
      contactIntro: "So our team can reply after you close this page: your name, email or WhatsApp number.",
      name: "Name", email: "Email", phone: "WhatsApp number",
      save: "Save", later: "Not now", contactEmpty: "Please fill in your name, email or WhatsApp number first.",
      sending: "Sending…", sent: "Sent", read: "Read", failed: "Failed — tap to resend",
      offline: "Connection lost. Your messages are saved and will be sent automatically.",
      typing: "{name} is typing…", team: "{shop} team", you: "You:", bot: "{shop} bot:",
      empty: "Hi! How can we help? Type your question below.",
      tooLong: "Your message is too long (at most {n} characters). You can split it into several messages.",
      badType: "Sorry, this file can't be sent. You can send {types} pictures.",
      tooBig: "Sorry, the picture is too large (at most {n} MB).",
      generic: "Your message wasn't sent yet. We'll retry automatically.",
      image: "Picture", imageFail: "The picture could not be loaded", code: "6-digit code from the email",
      verify: "Send code", verified: "Thank you, your email is verified: our team can also reply by email.",
    },
  };
  const K = { token: "yessindo.visitor", pending: "yessindo.pending", draft: "yessindo.draft", offered: "yessindo.offered" };
  const RANK = { sending: 0, failed: 0, sent: 1, read: 2 };

  const doc = document, root = doc.documentElement, body = doc.body;
  const $ = (k) => doc.querySelector(`[data-yessindo="${k}"]`);
  const panel = doc.getElementById("panel"), launcher = $("launcher"), log = $("log"), scroller = $("scroll"),
    input = $("input"), composer = $("composer"), fileIn = $("file"), typingEl = $("typing"), statusEl = $("status"),
    offlineEl = $("offline"), errEl = $("error"), noteEl = $("note"), emptyEl = $("empty"), badge = $("unread"),
    cform = $("contact"), cerr = $("contact-error"), vform = $("verify"), verr = $("verify-error");
  const shop = body.dataset.shop || "Yessindo";
  const API = location.pathname.replace(/\/frame\/?$/, "") + "/api";
  const hostParam = new URLSearchParams(location.search).get("host") || "";
  const hostHeader = hostParam.replace(/[^\x20-\x7e]/g, "").slice(0, 300);
  let target = "*"; // the size message carries no data, so "*" is safe when the host is unknown
  try { if (hostParam && new URL(hostParam).origin === hostParam) target = hostParam; } catch (e) { /* keep "*" */ }
  const navEn = /^en\b/i.test(navigator.language || "");

  // localStorage can be blocked for third-party frames: fall back to memory for this page view.
  const mem = {};
  const ls = (k, v) => {
    try {
      if (v === undefined) return localStorage.getItem(k);
      if (v === null) localStorage.removeItem(k); else localStorage.setItem(k, v);
    } catch (e) {
      if (v === undefined) return k in mem ? mem[k] : null;
      mem[k] = v;
    }
    return null;
  };

  let lang = navEn ? "en" : body.dataset.lang === "en" ? "en" : "id", L = T[lang];
  let token = ls(K.token), ready = false, starting = false, open = false, offline = false;
  let limits = { max_text: 4000, max_upload_bytes: 5242880, upload_types: ["image/jpeg", "image/png", "image/webp", "image/gif"] };
  let lastId = 0, newestOther = 0, readSent = 0, unread = 0, typingName = "", typingTimer = 0;
  let typingOn = false, typingAt = 0, flushing = false, holdUntil = 0, holdTimer = 0, lastResession = 0;
  let wantStream = false, streaming = false, backoff = 0, retryTimer = 0, pollTimer = 0, ctrl = null;
  const els = new Map(), byCid = new Map(), queue = [];

  const t = (k, vars) => (L[k] || T.id[k] || k).replace(/\{(\w+)\}/g, (_, v) => (vars && v in vars ? vars[v] : v === "shop" ? shop : ""));
  const h = (tag, cls, text) => {
    const e = doc.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  };
  const rid = () => Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => b.toString(16).padStart(2, "0")).join("");
  const pad = (n) => String(n).padStart(2, "0");

  // -- language -------------------------------------------------------------------------------
  function setLang(l, force) {
    if ((l !== "id" && l !== "en") || (l === lang && !force)) return;
    lang = l; L = T[l]; root.lang = l;
    doc.querySelectorAll("[data-t]").forEach((e) => { e.textContent = t(e.dataset.t); });
    doc.querySelectorAll("[data-ta]").forEach((e) => {
      e.setAttribute("aria-label", t(e.dataset.ta));
      if (e.title) e.title = t(e.dataset.ta);
    });
    doc.querySelectorAll("[data-tp]").forEach((e) => { e.placeholder = t(e.dataset.tp); });
    panel.setAttribute("aria-label", t("panel"));
    doc.title = t("panel");
    launcher.setAttribute("aria-label", t(open ? "close" : "open"));
    if (offline) offlineEl.textContent = t("offline");
    if (!typingEl.hidden) typingEl.textContent = t("typing", { name: typingName });
  }

  // -- requests ---------------------------------------------------------------------------------
  function headers() {
    const hd = { "X-Yessindo-Host": hostHeader };
    if (token) hd.Authorization = "Bearer " + token;
    return hd;
  }

  /** One API call. {off: true} on a network error or 503; quiet calls never touch the offline banner. */
  async function api(method, path, data, quiet) {
    const hd = headers(), opt = { method, headers: hd, cache: "no-store", credentials: "omit" };
    if (data instanceof FormData) opt.body = data;
    else if (data !== undefined) { hd["Content-Type"] = "application/json"; opt.body = JSON.stringify(data); }
    let r;
    try { r = await fetch(API + path, opt); } catch (e) {
      if (!quiet) setOffline(true);
      return { off: true, status: 0, data: {} };
    }
    if (r.status === 503) {
      if (!quiet) setOffline(true);
      return { off: true, status: 503, data: {} };
    }
    if (!quiet) setOffline(false);
    let d = {};
    if (r.status !== 204) { try { d = (await r.json()) || {}; } catch (e) { d = {}; } }
    return { status: r.status, data: d };
  }

  function setOffline(v) {
    if (v === offline) return;
    offline = v;
    offlineEl.textContent = v ? t("offline") : "";
    if (v) queue.forEach((i) => setState(i.el, "failed"));
    else { flush(); ensureStream(); }
  }

  const setText = (el, text) => { el.textContent = text || ""; };
  const setError = (text) => setText(errEl, text);

  // -- session ----------------------------------------------------------------------------------
  async function start() {
    if (ready || starting) return;
    starting = true;
    const before = token;
    const r = await api("POST", "/session", { token: token || null, lang });
    starting = false;
    if (r.off) return; // the 10 s tick tries again
    const d = r.data;
    if (r.status !== 200 || !d.token) {
      if (token && r.status >= 400 && r.status < 500 && r.status !== 429) {
        token = null; ls(K.token, null);
        return start();
      }
      setError(d.error || t("generic"));
      return;
    }
    if (before && d.token !== before) clearHistory(); // a new conversation: the old one is not ours any more
    token = d.token; ls(K.token, token);
    if (d.limits) limits = Object.assign(limits, d.limits);
    fillContact(d.contact);
    if (d.status) setStatus(d.status);
    const msgs = Array.isArray(d.messages) ? d.messages : [];
    msgs.forEach((m) => addMsg(m, false));
    setLang(!msgs.length && navEn ? "en" : d.lang);
    ready = true;
    setError("");
    scrollDown(true);
    if (msgs.length || queue.length || open) wantStream = true;
    flush();
    ensureStream();
    markSeen();
  }

  function resession() {
    if (Date.now() - lastResession < 10000) return;
    lastResession = Date.now();
    ready = false;
    if (ctrl) ctrl.abort();
    start();
  }

  function clearHistory() {
    els.forEach((el) => { if (!queue.some((i) => i.el === el)) removeEl(el); });
    els.clear();
    lastId = newestOther = readSent = 0;
  }

  function setStatus(s) {
    if (!s || typeof s !== "object") return;
    delete statusEl.dataset.t;
    setText(statusEl, s.text);
    root.classList.toggle("off-hours", s.open_now === false);
  }

  // -- messages -----------------------------------------------------------------------------------
  function hhmm(iso) {
    const d = new Date(iso);
    return isNaN(d) ? "" : pad(d.getHours()) + "." + pad(d.getMinutes());
  }

  function build(m, preview) {
    const author = m.author === "customer" || m.author === "agent" ? m.author : "bot";
    const el = h("div", "msg " + author);
    el.dataset.yessindo = "message";
    el.dataset.author = author;
    if (m.id) el.dataset.id = m.id;
    if (author === "agent") {
      const who = h("div", "who", m.name || t("team"));
      if (!m.name) who.dataset.t = "team";
      el.append(who);
    } else {
      const sr = h("span", "sr", t(author === "bot" ? "bot" : "you"));
      sr.dataset.t = author === "bot" ? "bot" : "you";
      el.append(sr);
    }
    if (m.text) el.append(h("div", "text", m.text));
    for (const a of Array.isArray(m.attachments) ? m.attachments : []) {
      const img = h("img", "img");
      img.alt = a.name || t("image");
      img.addEventListener("load", () => scrollDown(false, img.height + 120));
      if (a.url) loadImg(img, a.url);
      else if (preview) { img.src = preview; img.dataset.blob = preview; }
      el.append(img);
    }
    const meta = h("div", "meta"), tm = h("time", "", hhmm(m.at));
    tm.dateTime = m.at || "";
    const d = new Date(m.at);
    if (!isNaN(d)) tm.title = d.toLocaleString(lang === "en" ? "en-GB" : "id-ID");
    meta.append(tm);
    el.append(meta);
    if (author === "customer") {
      meta.append(h("span", "state"));
      el.dataset.state = "sending";
      setState(el, RANK[m.state] !== undefined ? m.state : "sent");
    }
    return el;
  }

  async function loadImg(img, url) {
    try {
      if (new URL(url, location.href).origin !== location.origin) throw new Error("foreign");
      const r = await fetch(url, { headers: headers(), credentials: "omit" });
      if (!r.ok) throw new Error(String(r.status));
      const u = URL.createObjectURL(await r.blob());
      if (img.closest("[data-gone]")) { URL.revokeObjectURL(u); return; }
      img.src = u;
      img.dataset.blob = u;
    } catch (e) {
      img.alt = t("imageFail");
      img.classList.add("broken");
    }
  }

  function setState(el, s) {
    const cur = el.dataset.state;
    if (RANK[s] === undefined || RANK[cur] > RANK[s]) return; // never back from sent/read
    el.dataset.state = s;
    const old = el.querySelector(".state"), tag = s === "failed" ? "button" : "span";
    let lab = old;
    if (old.localName !== tag) {
      lab = h(tag, "state");
      if (tag === "button") lab.type = "button";
      const refocus = doc.activeElement === old;
      old.replaceWith(lab);
      if (refocus) input.focus();
    }
    lab.dataset.t = s;
    lab.textContent = t(s);
  }

  /** Put el in server-id order; local bubbles without an id stay at the end. */
  function place(el, id) {
    let ref = null;
    for (let c = log.lastElementChild; c; c = c.previousElementSibling) {
      if (c === el) continue;
      if (!c.dataset.id || +c.dataset.id > id) ref = c; else break;
    }
    if (el.parentNode !== log || el.nextElementSibling !== ref) log.insertBefore(el, ref);
  }

  function addMsg(m, live) {
    if (!m || typeof m.id !== "number") return;
    if (m.id > lastId) lastId = m.id;
    const near = nearBottom();
    let el = els.get(m.id) || (m.client_id ? byCid.get(m.client_id) : null);
    if (el) { // known: the server's copy of a local bubble, or a repeat
      const fresh = !el.dataset.id;
      el.dataset.id = m.id;
      els.set(m.id, el);
      if (fresh) place(el, m.id);
      if (m.author === "customer") setState(el, m.state || "sent");
      const q = queue.find((i) => i.el === el && !i.busy);
      if (q) unqueue(q);
      return;
    }
    el = build(m);
    place(el, m.id);
    els.set(m.id, el);
    if (m.client_id) byCid.set(m.client_id, el);
    emptyEl.hidden = true;
    if (m.author !== "customer") {
      if (m.id > newestOther) newestOther = m.id;
      if (live) {
        if (m.author === "agent") hideTyping();
        if (!open || doc.hidden) { unread++; showBadge(); }
        if (m.author === "bot" && m.handoff) offerContact();
      }
    }
    if (live) { scrollDown(near); markSeen(); }
  }

  function removeEl(el) {
    el.dataset.gone = "1";
    el.querySelectorAll("img[data-blob]").forEach((i) => URL.revokeObjectURL(i.dataset.blob));
    el.remove();
    for (const [k, v] of byCid) if (v === el) byCid.delete(k);
    emptyEl.hidden = log.childElementCount > 0;
  }

  function markRead(upTo) {
    if (typeof upTo !== "number") return;
    els.forEach((el, id) => { if (id <= upTo && el.dataset.author === "customer") setState(el, "read"); });
  }

  function nearBottom() { return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80; }
  function scrollDown(force, slack) {
    if (force || scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < (slack || 80)) {
      scroller.scrollTop = scroller.scrollHeight;
    }
  }

  // -- sending ----------------------------------------------------------------------------------
  function savePending() {
    const list = queue.filter((i) => !i.file).map((i) => ({ cid: i.cid, text: i.text, at: i.at }));
    ls(K.pending, list.length ? JSON.stringify(list) : null);
  }
  function unqueue(item) {
    const k = queue.indexOf(item);
    if (k >= 0) queue.splice(k, 1);
    savePending();
  }

  function enqueue(item, preview) {
    item.el = build({ id: 0, author: "customer", text: item.text, at: item.at, state: "sending",
      attachments: item.file ? [{ name: item.file.name }] : [] }, preview);
    log.append(item.el);
    byCid.set(item.cid, item.el);
    emptyEl.hidden = true;
    queue.push(item);
    savePending();
    if (offline || !ready) setState(item.el, offline ? "failed" : "sending");
    scrollDown(true);
    wantStream = true;
    flush();
  }

  async function flush() {
    if (flushing || !ready || !queue.length) return;
    const wait = holdUntil - Date.now();
    if (wait > 0) {
      clearTimeout(holdTimer);
      holdTimer = setTimeout(flush, wait + 50);
      return;
    }
    flushing = true;
    try {
      while (queue.length && ready) {
        const item = queue[0];
        if (item.el.dataset.id) { unqueue(item); continue; } // the server already has it
        setState(item.el, "sending");
        item.busy = true;
        let r;
        if (item.file) {
          const fd = new FormData();
          fd.append("file", item.file, item.file.name);
          fd.append("client_id", item.cid);
          if (item.text) fd.append("text", item.text);
          r = await api("POST", "/upload", fd);
        } else {
          r = await api("POST", "/messages", { text: item.text, client_id: item.cid });
        }
        item.busy = false;
        const d = r.data;
        if (r.status === 200 && d.message) {
          unqueue(item);
          setError("");
          accept(d, item);
          continue;
        }
        if (r.status >= 400 && r.status < 500 && ![401, 408, 409, 429].includes(r.status)) {
          // refused for good (too long, wrong file...): say why, give the text back as a draft
          unqueue(item);
          removeEl(item.el);
          if (item.text && !input.value) { input.value = item.text; saveDraft(); }
          setError(d.error || t("generic"));
          continue;
        }
        queue.forEach((i) => setState(i.el, "failed"));
        if (r.off) break;
        if (r.status === 429) {
          holdUntil = Date.now() + Math.max(1, Number(d.retry_after) || 5) * 1000;
          setError(d.error || t("generic"));
          clearTimeout(holdTimer);
          holdTimer = setTimeout(flush, holdUntil - Date.now() + 50);
        } else if (r.status === 401) {
          resession();
        } else {
          setError(d.error || t("generic"));
        }
        break;
      }
    } finally {
      flushing = false;
    }
  }

  function accept(d, item) {
    if (d.lang) setLang(d.lang);
    const m = d.message;
    if (item && !m.client_id) m.client_id = item.cid;
    addMsg(m, false);
    (Array.isArray(d.replies) ? d.replies : []).forEach((x) => addMsg(x, true));
    scrollDown(true);
  }

  function submit() {
    const text = input.value.trim();
    if (!text) return;
    if ([...text].length > limits.max_text) { setError(t("tooLong", { n: limits.max_text })); return; }
    setError("");
    setText(noteEl, "");
    input.value = "";
    saveDraft();
    sendTyping(false);
    enqueue({ cid: rid(), text, at: new Date().toISOString() });
    input.focus();
  }

  function pickFile(f) {
    if (!f) return;
    const types = limits.upload_types || [];
    if (!types.includes(f.type)) {
      const names = types.map((x) => x.split("/")[1].toUpperCase().replace("JPEG", "JPG")).join(", ");
      setError(t("badType", { types: names }));
      return;
    }
    if (f.size > limits.max_upload_bytes) {
      setError(t("tooBig", { n: Math.round(limits.max_upload_bytes / 104857.6) / 10 }));
      return;
    }
    setError("");
    enqueue({ cid: rid(), text: "", file: f, at: new Date().toISOString() }, URL.createObjectURL(f));
  }

  function saveDraft() { ls(K.draft, input.value ? input.value : null); }

  function sendTyping(on) {
    if (!ready) return;
    if (on) {
      const now = Date.now();
      if (now - typingAt < 3000) return;
      typingAt = now;
    } else {
      if (!typingOn) return;
      typingAt = 0;
    }
    typingOn = on;
    api("POST", "/typing", { typing: on }, true);
  }

  // -- live updates -------------------------------------------------------------------------------
  function ensureStream() {
    if (wantStream && ready && !streaming && !pollTimer && !retryTimer) stream(false);
  }

  /** Read the SSE stream with fetch (EventSource cannot send the Authorization header). */
  async function stream(catchUp) {
    streaming = true;
    const began = Date.now(), c = (ctrl = new AbortController());
    let clean = false, dog = 0;
    const pet = () => { clearTimeout(dog); dog = setTimeout(() => c.abort(), 75000); };
    try {
      if (catchUp && (await poll()).off) throw new Error("offline");
      pet();
      const r = await fetch(`${API}/stream?after=${lastId}`, { headers: headers(), cache: "no-store", credentials: "omit", signal: c.signal });
      if (r.status === 401) { resession(); throw new Error("401"); }
      if (r.status === 503) { setOffline(true); throw new Error("503"); }
      if (r.status === 429) { // the server holds all the streams it may: poll for a while, then try again
        startPolling();
        setTimeout(() => { clearInterval(pollTimer); pollTimer = 0; ensureStream(); }, 30000);
        return;
      }
      if ([404, 405, 406, 501].includes(r.status) || (r.ok && !(r.body && r.body.getReader))) {
        startPolling();
        return;
      }
      if (!r.ok) throw new Error(String(r.status));
      setOffline(false);
      const reader = r.body.getReader(), dec = new TextDecoder();
      let buf = "", ev = "", data = [];
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        pet();
        backoff = 0;
        buf += dec.decode(value, { stream: true });
        let i;
        while ((i = buf.indexOf("\n")) >= 0) {
          let line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          if (line.endsWith("\r")) line = line.slice(0, -1);
          if (!line) {
            if (data.length) handle(ev || "message", data.join("\n"));
            ev = ""; data = [];
          } else if (line[0] !== ":") {
            const k = line.indexOf(":"), f = k < 0 ? line : line.slice(0, k);
            let v = k < 0 ? "" : line.slice(k + 1);
            if (v[0] === " ") v = v.slice(1);
            if (f === "event") ev = v; else if (f === "data") data.push(v);
          }
        }
      }
      clean = Date.now() - began > 1000; // a stream that ends at once is treated as an error
    } catch (e) {
      if (e && e.name === "TypeError") setOffline(true);
    } finally {
      clearTimeout(dog);
      if (ctrl === c) streaming = false;
    }
    if (ctrl !== c || !wantStream || pollTimer) return; // replaced by a newer stream, or polling
    if (clean) { ensureStream(); return; }
    const wait = [1, 2, 4, 8, 15][Math.min(backoff++, 4)];
    clearTimeout(retryTimer);
    retryTimer = setTimeout(() => {
      retryTimer = 0;
      if (ready && !streaming) stream(true);
    }, wait * 1000);
  }

  function startPolling() {
    if (!pollTimer) pollTimer = setInterval(poll, 3000);
  }

  async function poll() {
    const r = await api("GET", `/messages?after=${lastId}`);
    if (r.status === 200 && Array.isArray(r.data.messages)) r.data.messages.forEach((m) => addMsg(m, true));
    else if (r.status === 401) resession();
    return r;
  }

  function handle(ev, raw) {
    let d;
    try { d = JSON.parse(raw); } catch (e) { return; }
    if (!d) return;
    if (ev === "message") addMsg(d, true);
    else if (ev === "typing") showTyping(d);
    else if (ev === "read") markRead(d.up_to);
    else if (ev === "status") setStatus(d);
  }

  function showTyping(d) {
    clearTimeout(typingTimer);
    if (!d.typing) { hideTyping(); return; }
    typingName = d.name || t("team");
    typingEl.textContent = t("typing", { name: typingName });
    typingEl.hidden = false;
    typingTimer = setTimeout(hideTyping, 6000);
  }
  function hideTyping() {
    clearTimeout(typingTimer);
    typingEl.hidden = true;
    typingEl.textContent = "";
  }

  function markSeen() {
    if (!open || doc.visibilityState !== "visible") return;
    unread = 0;
    showBadge();
    if (ready && newestOther > readSent) {
      readSent = newestOther;
      api("POST", "/read", { up_to: readSent }, true);
    }
  }
  function showBadge() {
    badge.textContent = unread > 9 ? "9+" : String(unread);
    badge.hidden = !unread || open;
  }

  // -- contact form ---------------------------------------------------------------------------------
  const FIELDS = ["name", "email", "phone"];
  function fillContact(c) {
    if (!c || typeof c !== "object") return;
    FIELDS.forEach((k) => { if (c[k] && !cform.elements[k].value) cform.elements[k].value = c[k]; });
  }
  function hasContact() { return FIELDS.some((k) => cform.elements[k].value.trim()); }
  function showContact(focus) {
    cform.hidden = false;
    setText(cerr, "");
    if (focus) cform.elements.name.focus();
  }
  function offerContact() {
    if (ls(K.offered) === (token || "1") || hasContact()) return;
    ls(K.offered, token || "1");
    showContact(false);
  }
  cform.addEventListener("submit", async (e) => {
    e.preventDefault();
    const data = {};
    FIELDS.forEach((k) => { data[k] = cform.elements[k].value.trim(); });
    if (!FIELDS.some((k) => data[k])) { setText(cerr, t("contactEmpty")); return; }
    if (!ready) { setText(cerr, t("offline")); return; }
    const r = await api("POST", "/contact", data);
    if (r.off) { setText(cerr, t("offline")); return; }
    if (r.status === 200) {
      fillContact(r.data.contact);
      cform.hidden = true;
      setText(noteEl, r.data.note);
      if (r.data.code_sent) { // the server mailed a code that proves the address is the visitor's
        vform.hidden = false;
        setText(verr, "");
        vform.elements.code.focus();
      } else input.focus();
    } else {
      setText(cerr, r.data.error || t("generic"));
    }
  });
  vform.addEventListener("submit", async (e) => {
    e.preventDefault();
    const code = vform.elements.code.value.replace(/\D/g, "");
    if (code.length !== 6) { setText(verr, t("code")); return; }
    const r = await api("POST", "/verify", { code });
    if (r.off) { setText(verr, t("offline")); return; }
    if (r.status === 200) {
      vform.hidden = true;
      vform.elements.code.value = "";
      setText(noteEl, t("verified"));
      input.focus();
    } else setText(verr, r.data.error || t("generic"));
  });
  $("verify-later").addEventListener("click", () => { vform.hidden = true; input.focus(); });
  $("contact-later").addEventListener("click", () => { cform.hidden = true; input.focus(); });
  $("contact-open").addEventListener("click", () => {
    if (cform.hidden) showContact(true); else { cform.hidden = true; input.focus(); }
  });

  // -- panel --------------------------------------------------------------------------------------
  function setOpen(v, refocus) {
    open = v;
    panel.hidden = !v;
    root.classList.toggle("open", v);
    launcher.setAttribute("aria-expanded", String(v));
    launcher.setAttribute("aria-label", t(v ? "close" : "open"));
    try { window.parent.postMessage({ type: "yessindo:size", open: v }, target); } catch (e) { /* no parent */ }
    if (v) {
      wantStream = true;
      ensureStream();
      markSeen();
      requestAnimationFrame(() => {
        scrollDown(true);
        if (matchMedia("(pointer: coarse)").matches) panel.focus(); else input.focus();
      });
    } else {
      if (refocus) launcher.focus();
      sendTyping(false);
    }
    showBadge();
  }

  function fitScreen() { root.classList.toggle("full", screen.width < 480); }

  // -- wiring -------------------------------------------------------------------------------------
  launcher.addEventListener("click", () => setOpen(!open, false));
  $("close").addEventListener("click", () => setOpen(false, true));
  doc.addEventListener("keydown", (e) => {
    if (e.key !== "Escape" || !open) return;
    const f = [cform, vform].find((x) => !x.hidden && x.contains(doc.activeElement));
    if (f) { f.hidden = true; input.focus(); return; }
    setOpen(false, true);
  });
  composer.addEventListener("submit", (e) => { e.preventDefault(); submit(); });
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing && e.keyCode !== 229) { e.preventDefault(); submit(); }
  });
  input.addEventListener("input", () => { saveDraft(); sendTyping(!!input.value.trim()); });
  input.addEventListener("blur", () => sendTyping(false));
  input.addEventListener("paste", (e) => {
    const f = e.clipboardData && e.clipboardData.files && e.clipboardData.files[0];
    if (f && f.type.startsWith("image/") && !e.clipboardData.getData("text/plain")) { e.preventDefault(); pickFile(f); }
  });
  $("attach").addEventListener("click", () => fileIn.click());
  fileIn.addEventListener("change", () => {
    pickFile(fileIn.files && fileIn.files[0]);
    fileIn.value = "";
  });
  log.addEventListener("click", (e) => {
    const m = e.target.closest('[data-state="failed"]');
    if (m) flush();
  });
  doc.addEventListener("visibilitychange", markSeen);
  window.addEventListener("online", () => {
    if (!ready) { start(); return; }
    flush();
    clearTimeout(retryTimer);
    retryTimer = 0;
    if (wantStream && !streaming && !pollTimer) stream(true);
  });
  window.addEventListener("resize", fitScreen);
  setInterval(() => {
    if (!ready) start();
    else { flush(); ensureStream(); }
  }, 10000);

  // -- start --------------------------------------------------------------------------------------
  fitScreen();
  setLang(lang, true);
  input.value = ls(K.draft) || "";
  try {
    const saved = JSON.parse(ls(K.pending) || "[]");
    if (Array.isArray(saved)) {
      saved.forEach((p) => {
        if (p && typeof p.cid === "string" && typeof p.text === "string" && p.text) {
          enqueue({ cid: p.cid, text: p.text, at: typeof p.at === "string" ? p.at : new Date().toISOString() });
        }
      });
    }
  } catch (e) { ls(K.pending, null); }
  // a click on widget.js's stand-in launcher before this frame was ready
  window.addEventListener("message", (e) => {
    if (e.source !== window.parent || !e.data || e.data.type !== "yessindo:open" || open) return;
    if (target !== "*" && e.origin !== target) return;
    setOpen(true, false);
  });
  start();
})();
