/* Yessindo live chat embed: <script src="https://HOST/livechat/widget.js" defer></script>.
   Adds one fixed iframe (inside an open shadow root) and resizes it when the chat inside asks.
   No styles or globals leak into the shop page except the double-include guard below. */
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

  function mount() {
    var host = d.createElement("div"), f = d.createElement("iframe"), st = f.style, open = false,
      mq = w.matchMedia("(max-width: 479.98px)");
    host.id = "yessindo-livechat";
    f.src = base + "/livechat/frame?host=" + encodeURIComponent(location.origin);
    f.title = "Live chat Yessindo";
    f.setAttribute("data-yessindo", "frame");
    f.setAttribute("allow", "clipboard-write");
    st.position = "fixed";
    st.border = "0";
    st.margin = st.padding = "0";
    st.maxWidth = st.maxHeight = "none";
    st.display = "block";
    st.zIndex = "2147483000";
    st.background = "transparent";
    st.colorScheme = "normal";
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
    host.attachShadow({ mode: "open" }).appendChild(f);
    d.body.appendChild(host);
  }
  if (d.body) mount(); else d.addEventListener("DOMContentLoaded", mount);
})(window, document);
