/* Yessindo live chat embed: <script src="https://HOST/livechat/widget.js" defer></script>.
   Adds one fixed iframe (inside an open shadow root) and resizes it when the chat inside asks.
   Until the frame has loaded, a look-alike launcher drawn here covers the frame's own, so one
   shows at once; a click on it asks the frame to open. Nothing leaks into the shop page but
   the double-include guard below. */
(function (w, d) {
  "use strict";
  if (w.__yessindoLivechat) return;
  w.__yessindoLivechat = true;
  var re = /\/livechat\/widget\.js([?#].*)?$/, s = d.currentScript, src = s && s.src, i, all;
  if (!src || !re.test(src)) {
    src = "";
    all = d.getElementsByTagName("script");
    for (i = all.length - 1; i >= 0; i--) if (re.test(all[i].src)) { src = all[i].src; break; }
  }
  if (!src) return;
  var base = src.replace(re, ""), origin = new URL(src).origin;

  function el(tag, at, svg) {
    var e = svg ? d.createElementNS("http://www.w3.org/2000/svg", tag) : d.createElement(tag), k;
    for (k in at) e.setAttribute(k, at[k]);
    return e;
  }

  function mount() {
    /* First the look-alike launcher, alone: it is in the shop page's next frame. The chat
       frame comes only once that frame has been drawn (two animation frames later): creating
       an iframe, and on our own pages loading its document, runs on the page's main thread
       and would hold back the very frame the launcher is waiting for. */
    var host = el("div", { id: "yessindo-livechat" }), root = host.attachShadow({ mode: "open" }),
      b = el("button", { type: "button", "aria-expanded": "false",
        "aria-label": /^en\b/i.test(navigator.language || "") ? "Open live chat" : "Buka live chat" }),
      g = el("svg", { viewBox: "0 0 24 24", width: 28, height: 28, "aria-hidden": "true", fill: "none",
        stroke: "#fff", "stroke-width": 2, "stroke-linecap": "round", "stroke-linejoin": "round" }, 1),
      f = null, want = false, later;
    b.style.cssText = "position:fixed;right:24px;bottom:24px;z-index:2147483001;display:grid;place-items:center;" +
      "width:60px;height:60px;margin:0;padding:0;border:0;border-radius:50%;background:#0b5f4a;cursor:pointer;" +
      "box-shadow:0 2px 6px rgba(0,0,0,.3)";
    g.appendChild(el("path", { d: "M21 12a8.5 8.5 0 0 1-12.3 7.6L3.5 21l1.4-5A8.5 8.5 0 1 1 21 12z" }, 1));
    b.appendChild(g);
    b.onclick = function () { want = true; };
    root.appendChild(b);
    d.body.appendChild(host);

    function frame() {
      if (f) return;
      clearTimeout(later);
      var st, mq = w.matchMedia("(max-width: 479.98px)"), open = false;
      f = el("iframe", { src: base + "/livechat/frame?host=" + encodeURIComponent(location.origin),
        title: "Live chat Yessindo", "data-yessindo": "frame", allow: "clipboard-write" });
      st = f.style;
      st.cssText = "position:fixed;border:0;margin:0;padding:0;max-width:none;max-height:none;display:block;" +
        "z-index:2147483000;background:transparent;color-scheme:normal";
      function size() {
        var full = open && mq.matches;
        st.top = st.left = full ? "0" : "auto";
        st.right = st.bottom = full ? "0" : "16px";
        st.width = full ? "100vw" : open ? "min(400px, calc(100vw - 16px))" : "76px";
        st.height = full ? "100vh" : open ? "min(640px, calc(100vh - 32px))" : "76px";
        if (full) st.height = "100dvh"; /* ignored where dvh is unknown: 100vh stays */
      }
      size();
      if (mq.addEventListener) mq.addEventListener("change", size); else mq.addListener(size);
      w.addEventListener("message", function (e) {
        var m = e.data;
        if (e.origin !== origin || e.source !== f.contentWindow || !m || m.type !== "yessindo:size") return;
        open = m.open === true;
        size();
      });
      f.onload = function () { /* the frame sends nothing when ready: its load event is the sign */
        var ph = b, raf = w.requestAnimationFrame.bind(w);
        b = null;
        if (ph) raf(function () { raf(function () { /* by now the frame's launcher is drawn under it */
          if (root.activeElement === ph || want) f.focus();
          root.removeChild(ph);
          if (want) f.contentWindow.postMessage({ type: "yessindo:open" }, origin);
        }); });
      };
      root.insertBefore(f, b); /* under the stand-in until the frame has loaded */
    }
    /* no animation frames in a hidden tab: the frame then comes after a second anyway */
    later = setTimeout(frame, 1000);
    if (w.requestAnimationFrame) w.requestAnimationFrame(function () { w.requestAnimationFrame(frame); });
    else frame();
  }
  if (d.body) mount(); else d.addEventListener("DOMContentLoaded", mount);
})(window, document);
