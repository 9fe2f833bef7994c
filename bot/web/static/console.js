/* Yessindo agent console: live updates by polling (no inline script: the page's CSP
   allows only this file). Everything that comes from the server is written with
   textContent / setAttribute, never innerHTML: customer text stays text. */
"use strict";
(function () {
  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  // The doorbell (server-sent events from /console/api/stream): something changed, poll now.
  // While it rings, the polls below are only a slow safety net; without it they run every few seconds.
  const bells = [];
  let live = false;
  if (window.EventSource && !document.getElementById("login-name")) {
    const stream = new EventSource("/console/api/stream");
    stream.addEventListener("open", function () { live = true; });
    stream.addEventListener("error", function () { live = false; });
    stream.addEventListener("changed", function () { bells.forEach(function (ring) { ring(); }); });
  }

  // Poll `url()` every `ms`, at least every `options.slow` ms (15 s) while the tab is hidden or the
  // doorbell works, slower after failures; 401 -> back to the login page. `options.now`: the first
  // poll at once. Returns `ring`: poll now (or right after the poll under way); the doorbell rings it.
  function poll(url, ms, handle, options) {
    const slow = (options && options.slow) || 15000;
    let failures = 0, timer = null, busy = false, again = false;
    async function tick() {
      clearTimeout(timer);
      busy = true;
      let wait = document.hidden || live ? Math.max(ms, slow) : ms;
      try {
        const r = await fetch(url(), { headers: { "Accept": "application/json" }, credentials: "same-origin",
                                       cache: "no-store" });
        if (r.status === 401) {
          const next = location.pathname + location.search;
          location.assign("/console/login?next=" + encodeURIComponent(next));
          return;
        }
        if (r.ok) {
          handle(await r.json());
          failures = 0;
        } else {
          failures += 1;
        }
      } catch (err) {
        failures += 1;  // server restarting or network gone: try again, slower
      }
      if (failures) wait = Math.min(ms * Math.pow(2, failures), 60000);
      busy = false;
      if (again) { again = false; wait = 0; }
      timer = setTimeout(tick, wait);
    }
    function ring() { if (busy) { again = true; } else { tick(); } }
    timer = setTimeout(tick, options && options.now ? 0 : ms);
    bells.push(ring);
    return ring;
  }
  // for the other console scripts (notes.js, notify.js), loaded after this one
  window.yessindo = { el: el, poll: poll };

  // -- forms: one click sends once (the desk also ignores the same text sent again within a minute)
  document.addEventListener("submit", function (event) {
    const form = event.target;
    if ((form.getAttribute("method") || "get").toLowerCase() !== "post") return;
    if (form.dataset.sent) { event.preventDefault(); return; }
    form.dataset.sent = "1";
    form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
  });

  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) return;  // back to a page kept in memory: its forms work again
    document.querySelectorAll("form[data-sent]").forEach(function (form) {
      delete form.dataset.sent;
      form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = false; });
    });
  });

  // -- the filters: apply on change -----------------------------------------------------------
  const filters = document.getElementById("filters");
  if (filters) {
    filters.addEventListener("change", function () { filters.submit(); });
    // A filter changed before this deferred script ran (a quick click on a slow phone, or
    // the browser restoring a form on "back") fired no handler: the list would not match
    // what the controls show. Apply it now.
    const changedEarly = Array.prototype.some.call(filters.elements, function (el) {
      if (el.type === "checkbox" || el.type === "radio") return el.checked !== el.defaultChecked;
      if (el.tagName === "SELECT" && el.options.length) {
        // as rendered: the option marked selected, else the first one
        const rendered = Array.prototype.find.call(el.options, function (o) { return o.defaultSelected; }) || el.options[0];
        return el.value !== rendered.value;
      }
      return false;
    });
    if (changedEarly) filters.submit();
  }

  // -- the queue ------------------------------------------------------------------------------
  const queue = document.getElementById("queue");
  if (queue && queue.dataset.api) {
    const body = queue.tBodies[0];
    const baseTitle = document.title.replace(/^\(\d+\) /, "");
    const empty = document.getElementById("queue-empty");

    function row(r) {
      const tr = el("tr");
      tr.setAttribute("data-ref", r.ref);
      tr.className = r.classes;

      const ref = el("td", "ref");
      const link = el("a", null, r.ref);
      link.setAttribute("href", "/console/t/" + encodeURIComponent(r.ref));
      ref.appendChild(link);
      tr.appendChild(ref);
      tr.appendChild(el("td", "channel", r.channel_label));
      tr.appendChild(el("td", "customer", r.customer));
      const intent = el("td", "intent", r.intent_label);
      (r.labels || []).forEach(function (l) {  // labels (bot/desk_triage.py)
        intent.appendChild(document.createTextNode(" "));
        intent.appendChild(el("span", "tag", l));
      });
      tr.appendChild(intent);

      const prio = el("td", "priority");
      prio.appendChild(el("span", "badge prio-" + r.priority, r.priority_label));
      if (r.supervisor) {
        prio.appendChild(document.createTextNode(" "));
        prio.appendChild(el("span", "badge supervisor", "Supervisor"));
      }
      tr.appendChild(prio);

      const status = el("td", "status", r.status_label);
      if (r.agent) {
        status.appendChild(document.createTextNode(" · "));
        status.appendChild(el("span", "agent", r.agent));
      }
      tr.appendChild(status);

      const due = el("td", "due");
      const time = el("time", null, r.due);
      if (r.due_iso) time.setAttribute("datetime", r.due_iso);
      due.appendChild(time);
      tr.appendChild(due);

      const sla = el("td", "sla");
      const mark = r.sla_state === "late" ? "⚠ " : (r.sla_state === "at_risk" ? "⏳ " : "");
      sla.appendChild(el("span", "sla-" + r.sla_state, mark + r.sla_label));
      tr.appendChild(sla);

      const preview = el("td", "preview");
      if (r.preview_who) {
        preview.appendChild(el("span", "who", r.preview_who + ":"));
        preview.appendChild(document.createTextNode(" "));
      }
      preview.appendChild(el("span", "text", r.preview));
      tr.appendChild(preview);
      // on a phone each row is a card that names its cells (the same words as queue.html's data-label)
      const names = { ref: "Tiket", channel: "Saluran", customer: "Pelanggan", intent: "Kategori", priority: "Prioritas",
                      status: "Status", due: "Batas waktu", sla: "SLA", preview: "Pesan terakhir" };
      Array.prototype.forEach.call(tr.cells, function (td) {
        if (names[td.className] && !td.hasAttribute("data-label")) td.setAttribute("data-label", names[td.className]);
      });
      return tr;
    }

    function setCount(id, value) {
      const node = document.getElementById(id);
      if (node && value !== undefined) node.textContent = String(value);
    }

    poll(function () { return queue.dataset.api; }, Number(queue.dataset.poll) || 3000, function (data) {
      setCount("count-open", data.counts.open);
      setCount("count-claimed", data.counts.claimed);
      setCount("count-mine", data.counts.mine);
      // The tab says how many wait, so an agent working elsewhere sees new tickets come in.
      const waiting = Number(data.counts.open) || 0;
      document.title = (waiting ? "(" + waiting + ") " : "") + baseTitle;
      if (data.version === queue.dataset.version) return;
      const fresh = document.createDocumentFragment();
      data.rows.forEach(function (r) { fresh.appendChild(row(r)); });
      body.replaceChildren(fresh);
      queue.dataset.version = data.version;
      if (empty) empty.hidden = data.rows.length > 0;
    });
  }

  // -- one ticket -----------------------------------------------------------------------------
  const ticket = document.getElementById("ticket");
  const transcript = document.getElementById("transcript");
  if (ticket && transcript && ticket.dataset.api) {
    let lastId = Number(ticket.dataset.lastId) || 0;

    function setDelivery(node, d) {
      node.className = "delivery delivery-" + d.cls;
      node.setAttribute("data-status", d.status);
      node.textContent = d.label + (d.reason ? ": " + d.reason : "");
    }

    // The hrefs the server renders (bot/web/console_format.py safe_href / attachment_view): an
    // http(s) URL, or a file kept in our database, served by the console (/console/files/<id>).
    function linkable(href) {
      return typeof href === "string" && (/^https?:\/\//i.test(href) || /^\/console\/files\/\d+$/.test(href));
    }

    function message(m) {
      const div = el("div", "msg " + m.cls);
      div.setAttribute("data-id", String(m.id));
      const meta = el("div", "meta");
      meta.appendChild(el("span", "author", m.author));
      meta.appendChild(document.createTextNode(" · "));
      const time = el("time", null, m.time);
      if (m.time_iso) time.setAttribute("datetime", m.time_iso);
      meta.appendChild(time);
      if (m.via) {
        meta.appendChild(document.createTextNode(" · "));
        meta.appendChild(el("span", "via", m.via));
      }
      div.appendChild(meta);
      if (m.text) div.appendChild(el("div", "text", m.text));
      if (m.attachments && m.attachments.length) {
        const list = el("ul", "attachments");
        m.attachments.forEach(function (a) {
          const li = el("li", "att-" + a.kind);
          if (linkable(a.href)) {
            const link = el("a", null, a.label);
            link.setAttribute("href", a.href);
            link.setAttribute("target", "_blank");
            link.setAttribute("rel", "noopener noreferrer nofollow");
            li.appendChild(link);
          } else {
            li.appendChild(el("span", null, a.label));
            if (a.url_text) {
              li.appendChild(document.createTextNode(" "));
              li.appendChild(el("code", null, a.url_text));
            }
          }
          li.appendChild(document.createTextNode(" "));
          li.appendChild(el("span", "ctype", "(" + a.content_type + ")"));
          list.appendChild(li);
        });
        div.appendChild(list);
      }
      if (m.delivery) {
        const d = el("div");
        setDelivery(d, m.delivery);
        div.appendChild(d);
      }
      return div;
    }

    function url() {
      return ticket.dataset.api + "?after=" + encodeURIComponent(String(lastId));
    }

    // The promises (first response, next reply, resolution: `#sla-first`, `#sla-next`,
    // `#sla-resolution`, each a <dd> after its <dt>) move with the clock and the ticket: the
    // next-reply line comes when the customer writes again and goes when someone answers.
    const PROMISE_IDS = ["sla-first", "sla-next", "sla-resolution"];
    function updatePromises(promises) {
      const wanted = {};
      promises.forEach(function (p) { wanted[p.id] = p; });
      PROMISE_IDS.forEach(function (id) {
        const node = document.getElementById(id);
        if (!node || wanted[id]) return;
        const label = node.previousElementSibling;
        if (label && label.tagName === "DT") label.remove();
        node.remove();
      });
      promises.forEach(function (p) {
        let node = document.getElementById(p.id);
        if (!node) {
          const later = PROMISE_IDS.slice(PROMISE_IDS.indexOf(p.id) + 1)
            .map(function (id) { return document.getElementById(id); }).filter(Boolean)[0];
          const facts = later ? later.parentNode : ticket.querySelector("dl.facts");
          if (!facts) return;
          const before = later ? later.previousElementSibling : null;  // its <dt>
          node = el("dd");
          node.id = p.id;
          facts.insertBefore(el("dt", null, p.name), before);
          facts.insertBefore(node, before);
        }
        node.textContent = p.text;
        node.className = "sla-" + p.state;
      });
    }

    // live chat: the customer's widget shows "... is typing" while the agent types here
    const replyBox = document.getElementById("reply-text");
    const typingMark = document.getElementById("customer-typing");
    if (ticket.dataset.channel === "web" && replyBox && ticket.dataset.typing) {
      let lastSent = 0, stopTimer = null;
      function sendTyping(on) {
        const csrf = replyBox.form && replyBox.form.querySelector("input[name=csrf_token]");
        const body = new FormData();
        body.append("csrf_token", csrf ? csrf.value : "");
        body.append("typing", on ? "1" : "0");
        fetch(ticket.dataset.typing, { method: "POST", body: body, credentials: "same-origin" }).catch(function () {});
      }
      replyBox.addEventListener("input", function () {
        const now = Date.now();
        if (replyBox.value && now - lastSent > 3000) { lastSent = now; sendTyping(true); }
        clearTimeout(stopTimer);
        stopTimer = setTimeout(function () { lastSent = 0; sendTyping(false); }, 5000);
      });
      replyBox.addEventListener("blur", function () { if (lastSent) { lastSent = 0; sendTyping(false); } });
    }

    poll(url, Number(ticket.dataset.poll) || 3000, function (data) {
      if (typingMark) typingMark.hidden = !data.customer_typing;
      const nearBottom = transcript.scrollHeight - transcript.scrollTop - transcript.clientHeight < 80;
      data.messages.forEach(function (m) {
        if (m.id <= lastId || transcript.querySelector('.msg[data-id="' + Number(m.id) + '"]')) return;
        transcript.appendChild(message(m));
        lastId = Math.max(lastId, m.id);
      });
      if (data.messages.length && nearBottom) transcript.scrollTop = transcript.scrollHeight;
      lastId = Math.max(lastId, Number(data.last_id) || 0);
      ticket.dataset.lastId = String(lastId);

      data.deliveries.forEach(function (d) {
        const node = transcript.querySelector('.msg[data-id="' + Number(d.id) + '"] .delivery');
        if (node) setDelivery(node, d);
      });

      const holder = document.getElementById("holder");
      if (holder) holder.textContent = data.ticket.holder;
      const status = document.getElementById("status");
      if (status) status.textContent = data.ticket.status_label;
      const stale = document.getElementById("stale");
      if (stale) stale.hidden = data.ticket.key === ticket.dataset.state;
      if (data.promises) updatePromises(data.promises);

      const viewers = document.getElementById("viewers");
      if (viewers) {
        viewers.textContent = data.viewers.length ? "Juga melihat: " + data.viewers.join(", ") : "";
        viewers.hidden = data.viewers.length === 0;
      }
    });

    transcript.scrollTop = transcript.scrollHeight;
  }
})();
