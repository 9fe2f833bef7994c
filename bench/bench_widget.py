"""The live-chat widget: how many bytes a shop page pulls in, and how soon the launcher shows.

Targets (the live-chat issue): "Widget script under 30 KB gzipped; first paint of the
launcher under 100 ms after the script loads."

What it measures, against a real `yessindo-bot serve` (tests.browser.run_live_server: a
fresh database and config in a temporary directory) and Debian's headless Chromium
(/usr/bin/chromium, driven by Playwright; Playwright's own browsers are never used; with
tests/browser.py's CHROMIUM_ARGS, which keep headless Chromium from starting a renderer for its
own address-bar popup in each new context, a cost no shop visitor's page load has):
  1. size: raw and `gzip -9` bytes of widget.js, frame.js, frame.css and the rendered
     frame (GET /livechat/frame from the server), their total, and whether the widget
     script alone and everything together stay under 30 KB (30,720 bytes) gzipped; and
     whether the server itself compresses them (Accept-Encoding: gzip);
  2. first paint: /livechat/demo opened N times (default 20), each in a fresh browser
     context (cold cache), then N times more in one context (warm cache: widget.js,
     frame.js and frame.css from the HTTP cache; the frame HTML is no-store). Per run,
     in the page's own clock: from widget.js's responseEnd (PerformanceResourceTiming of
     the top page) to the first frame in which a launcher is painted and visible:
       - the real launcher: inside the iframe, [data-yessindo="launcher"] laid out 60 px
         wide in the brand green, polled with requestAnimationFrame from the frame's
         document start; "painted" is the next animation frame after the one in which it
         was first laid out (that frame has then been drawn), and the iframe element on
         the shop page is visible by then. The frame's time (its own performance clock)
         is moved into the top page's timeline through performance.timeOrigin;
       - the placeholder (if widget.js draws one): a 60 px brand-green <button> in the
         widget's open shadow root, timed the same way in the top page;
       - first launcher = whichever of the two is painted first (the target is judged on it).
     p50 / p95 / max in ms, plus the frame's own first-contentful-paint as a cross-check,
     and, to tell the widget's share from the shop page's: when widget.js ran (a `defer`
     script runs only once the page is parsed and its style sheets are in; its host element
     appearing, seen by a MutationObserver) and when the shop page's own first frame was
     painted (same animation-frame rule); no launcher can be painted before that. Diagnostics
     only (nothing is judged on them), from the top page's Navigation and Resource Timing:
     the shop page's HTML responseEnd, its style sheets' responseEnd, when it was parsed
     (domInteractive) and when the chat frame was requested (the widget's iframe created).
     The polling runs from an init script (Playwright's, exempt from the page's CSP).
  Optionally --latency MS adds that much latency to every response (Chromium's network
  emulation), to see what a shop visitor on a real network gets; the targets are judged
  on the plain localhost run.

    .venv/bin/python bench/bench_widget.py [N] [--latency MS]

To compare another widget.js (e.g. the one before a change), run this file from a copy of the
tree that has it: `git archive REV | tar -x -C DIR`, copy this file into DIR/bench, and run
`.venv/bin/python DIR/bench/bench_widget.py` (the server then serves DIR's files).
"""
from __future__ import annotations

import argparse
import gzip
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.browser import CHROMIUM, CHROMIUM_ARGS, run_live_server  # noqa: E402

STATIC = REPO / "bot" / "web" / "static" / "livechat"
LIMIT = 30 * 1024
TARGET_MS = 100.0
BRAND = "rgb(11, 95, 74)"

# Runs at the start of every document (the shop page and the iframe). Writes window.__bench.
PROBE = """
(() => {
  const inFrame = /\\/livechat\\/frame$/.test(location.pathname);
  const now = () => performance.timeOrigin + performance.now();
  const R = window.__bench = { launcher: null, launcherSeen: null, placeholder: null, placeholderSeen: null,
                               iframe: null, page: null, ran: null };
  const shown = (el) => {
    if (!el || !el.isConnected) return false;
    const r = el.getBoundingClientRect(), cs = getComputedStyle(el);
    return r.width >= 50 && r.height >= 50 && cs.display !== "none" && cs.visibility === "visible"
      && +cs.opacity > 0.5 && r.right > 0 && r.bottom > 0 && r.left < innerWidth && r.top < innerHeight;
  };
  const green = (el) => shown(el) && getComputedStyle(el).backgroundColor === "%(brand)s";
  const started = now();
  let frames = 0;
  if (!inFrame) {  // when widget.js ran: its host element added to the page
    const mo = new MutationObserver(() => {
      if (document.getElementById("yessindo-livechat")) { R.ran = now(); mo.disconnect(); }
    });
    mo.observe(document, { childList: true, subtree: true });
  }
  const tick = () => {
    const t = now();
    if (inFrame) {
      if (R.launcherSeen !== null) { R.launcher = t; return; }  // the frame with it has been drawn
      if (green(document.querySelector('[data-yessindo="launcher"]'))) R.launcherSeen = t;
    } else {
      if (++frames === 2) R.page = t;  // the page's first frame has been drawn
      const host = document.getElementById("yessindo-livechat"), sr = host && host.shadowRoot;
      if (R.placeholderSeen !== null && R.placeholder === null) R.placeholder = t;
      if (sr) {
        const b = sr.querySelector("button");
        if (R.placeholderSeen === null && green(b)) R.placeholderSeen = t;
        if (R.iframe === null && shown(sr.querySelector("iframe"))) R.iframe = t;
      }
      if (R.iframe !== null && R.page !== null && (R.placeholder !== null || t - started > 5000)) return;
    }
    if (t - started < 15000) requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
})();
""" % {"brand": BRAND}

# Read in the top page once the run is over.
TOP_TIMES = """() => {
  const res = performance.getEntriesByType("resource");
  const w = res.find((e) => /\\/livechat\\/widget\\.js/.test(e.name));
  const nav = performance.getEntriesByType("navigation")[0];
  const css = res.filter((e) => e.initiatorType === "link" && /\\.css(\\?|$)/.test(e.name));
  const fr = res.find((e) => /\\/livechat\\/frame\\?/.test(e.name));
  return { origin: performance.timeOrigin, widgetEnd: w ? w.responseEnd : null,
           htmlEnd: nav ? nav.responseEnd : null, parsed: nav && nav.domInteractive ? nav.domInteractive : null,
           cssEnd: css.length ? Math.max(...css.map((e) => e.responseEnd)) : null, frameAsked: fr ? fr.startTime : null,
           ...window.__bench };
}"""
FRAME_TIMES = """() => {
  const fcp = performance.getEntriesByName("first-contentful-paint")[0];
  const css = performance.getEntriesByType("resource").find((e) => /frame\\.css/.test(e.name));
  return { origin: performance.timeOrigin, fcp: fcp ? fcp.startTime : null, cssEnd: css ? css.responseEnd : null,
           ...window.__bench };
}"""


def kb(n: int) -> str:
    return f"{n / 1024:.1f} KB"


def sizes(base: str) -> None:
    items = [(name, (STATIC / name).read_bytes()) for name in ("widget.js", "frame.js", "frame.css")]
    frame = requests.get(base + "/livechat/frame", timeout=10)
    frame.raise_for_status()
    items.append(("frame.html (rendered)", frame.content))
    print("1. size (bytes)                raw   gzip -9")
    total_raw = total_gz = 0
    for name, data in items:
        gz = len(gzip.compress(data, compresslevel=9))
        total_raw += len(data)
        total_gz += gz
        print(f"   {name:<22} {len(data):>8,} {gz:>9,}")
    print(f"   {'total':<22} {total_raw:>8,} {total_gz:>9,}")
    widget_gz = len(gzip.compress(items[0][1], compresslevel=9))
    print(f"   widget.js gzipped {kb(widget_gz)} < 30 KB: {'yes' if widget_gz < LIMIT else 'NO'};  "
          f"all four gzipped {kb(total_gz)} < 30 KB: {'yes' if total_gz < LIMIT else 'NO'}")
    enc = {}
    for path in ("/livechat/widget.js", "/livechat/static/frame.js", "/livechat/static/frame.css", "/livechat/frame"):
        r = requests.get(base + path, headers={"Accept-Encoding": "gzip"}, timeout=10, stream=True)
        enc[path.rsplit("/", 1)[1]] = r.headers.get("Content-Encoding", "none")
        r.close()
    served = ", ".join(f"{k} {v}" for k, v in enc.items())
    print(f"   as served by `serve` (Accept-Encoding: gzip): {served}")


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q * (len(s) - 1))))]


def wait_for(page: Any, fn: Any, what: str, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        got = fn()
        if got:
            return got
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        page.wait_for_timeout(20)  # not time.sleep: Playwright must hear of frames attached meanwhile


def one_run(page: Any, url: str) -> dict[str, float | None]:
    page.goto(url, wait_until="load")

    def frame_done() -> dict | None:
        for fr in page.frames:
            if "/livechat/frame" in fr.url:
                try:
                    got = fr.evaluate(FRAME_TIMES)
                except Exception:  # navigating still
                    return None
                return got if got.get("launcher") else None
        return None

    def top_done() -> dict | None:
        t = page.evaluate(TOP_TIMES)
        return t if t.get("iframe") and t.get("page") and t.get("widgetEnd") is not None else None

    wait_for(page, frame_done, "the launcher inside the frame")
    wait_for(page, top_done, "the iframe on the shop page")
    page.wait_for_timeout(100)  # a placeholder is long painted by now, and the frame's paint timing reported
    fr = frame_done()
    top = page.evaluate(TOP_TIMES)
    start = top["origin"] + top["widgetEnd"]  # absolute ms
    real = max(fr["launcher"], top["iframe"])  # painted in the frame and the iframe shown on the page
    def in_frame(key: str) -> float | None:  # a frame-clock time, in ms after widget.js's responseEnd
        return fr["origin"] + fr[key] - start if fr.get(key) is not None else None

    out: dict[str, float | None] = {"real": real - start, "placeholder": None, "fcp": in_frame("fcp"),
                                    "css": in_frame("cssEnd")}
    if top.get("placeholder"):
        out["placeholder"] = top["placeholder"] - start
    first = min(v for v in (out["real"], out["placeholder"]) if v is not None)
    out["first"] = first
    out["page"] = top["page"] - start if top.get("page") else None
    out["ran"] = top["ran"] - start if top.get("ran") else None
    for key in ("htmlEnd", "parsed", "cssEnd", "frameAsked"):  # the shop page's own timeline, same clock
        out[key] = top[key] - top["widgetEnd"] if top.get(key) is not None else None
    out["after_ran"] = first - out["ran"] if out["ran"] is not None else None
    out["after_page"] = first - out["page"] if out["page"] is not None else None
    return out


def show(label: str, runs: list[dict[str, float | None]]) -> None:
    def line(name: str, key: str) -> None:
        vals = [r[key] for r in runs if r[key] is not None]
        if not vals:
            print(f"     {name:<52} (none)")
            return
        print(f"     {name:<52} {pct(vals, .5):6.1f} {pct(vals, .95):6.1f} {max(vals):6.1f}"
              + (f"  ({len(vals)}/{len(runs)} runs)" if len(vals) != len(runs) else ""))

    first = [r["first"] for r in runs if r["first"] is not None]
    with_page = sum(1 for r in runs if r["after_page"] is not None and r["after_page"] <= 0.0)
    print(f"   {label}, {len(runs)} runs")
    print(f"     {'ms after widget.js responseEnd':<52} {'p50':>6} {'p95':>6} {'max':>6}")
    line("FIRST LAUNCHER PAINTED (either kind)", "first")
    line("placeholder in the widget's shadow root painted", "placeholder")
    line("real launcher in the iframe painted", "real")
    line("  cross-check: the frame's first-contentful-paint", "fcp")
    line("  frame.css responseEnd", "css")
    line("  diagnostics: the shop page's HTML responseEnd", "htmlEnd")
    line("  its style sheets' responseEnd (the last one)", "cssEnd")
    line("  the shop page parsed (domInteractive)", "parsed")
    line("  the chat frame requested (the iframe created)", "frameAsked")
    line("widget.js ran (its host element added)", "ran")
    line("the shop page's own first frame painted", "page")
    line("first launcher, ms after widget.js ran", "after_ran")
    line("first launcher, ms after the page's first frame", "after_page")
    print(f"     p95 of the first launcher < {TARGET_MS:.0f} ms: {'yes' if pct(first, .95) < TARGET_MS else 'NO'};"
          f" p50 < {TARGET_MS:.0f} ms: {'yes' if pct(first, .5) < TARGET_MS else 'NO'};"
          f" a launcher in the page's own first painted frame: {with_page}/{len(runs)} runs")


def first_paint(base: str, n: int, latency: float) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            def context() -> tuple[Any, Any]:
                ctx = browser.new_context(base_url=base, locale="id-ID", timezone_id="Asia/Jakarta")
                ctx.add_init_script(PROBE)
                page = ctx.new_page()
                if latency:
                    cdp = ctx.new_cdp_session(page)
                    cdp.send("Network.enable")
                    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": latency,
                                                                  "downloadThroughput": -1, "uploadThroughput": -1})
                return ctx, page

            ctx, page = context()  # warm the server (first request of each worker), not counted
            one_run(page, "/livechat/demo")
            ctx.close()
            cold = []
            for _ in range(n):
                ctx, page = context()
                cold.append(one_run(page, "/livechat/demo"))
                ctx.close()
            ctx, page = context()
            one_run(page, "/livechat/demo")  # fills the cache
            warm = [one_run(page, "/livechat/demo") for _ in range(n)]
            ctx.close()
        finally:
            browser.close()
    where = f", every response +{latency:.0f} ms latency" if latency else ", localhost"
    print(f"2. first paint of the launcher on /livechat/demo (Chromium {browser.version}, headless{where})")
    show("cold cache (fresh context per run)", cold)
    show("warm cache (one context)", warm)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n", nargs="?", type=int, default=20, help="page loads per set (default 20)")
    ap.add_argument("--latency", type=float, default=0.0, help="emulated latency per response, ms (default 0)")
    args = ap.parse_args()
    if not os.access(CHROMIUM, os.X_OK):
        raise SystemExit(f"{CHROMIUM} is missing: `make test` apt-installs Debian's chromium")
    with tempfile.TemporaryDirectory(prefix="bench-widget-") as tmp, run_live_server(Path(tmp)) as server:
        print(f"live chat widget against `yessindo-bot serve` at {server.url} ({os.cpu_count()} cores, same machine)")
        sizes(server.url)
        first_paint(server.url, args.n, args.latency)


if __name__ == "__main__":
    main()
