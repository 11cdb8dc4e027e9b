#!/usr/bin/env python3
"""Checks a txw report page (txw-run --report) in headless Chromium.

    check_page.py PAGE --blocks N --heads H --labels LABELS.json
                  [--exact EXACT.json] [--cell B H Q K [WEIGHT]] [--screenshot PNG]

The page must show, with no script error (none recorded by the page's error
hook, no SEVERE browser log):
  - N x H heatmap canvases, one per (block, head), each drawn: the cell of
    query 0, key 0 (weight 1 in every causal pattern) in the darkest colour,
    a masked cell (key after query) grey;
  - the input tokens' labels, in order, equal to LABELS.json (a JSON list);
  - on a synthetic mouse move over the cell (block B, head H, query Q, key K;
    default the last head, last query, key 0), a tooltip naming that block,
    head, query and key (EXACT.json: the exact token texts the tooltip must
    show, a JSON list) and the weight: WEIGHT when given, else the weight
    decoded here from the page's embedded data, to 4 decimals.
Saves a full-page screenshot to PNG (with the tooltip shown).

Prints one JSON line of what was measured; exit 0 when every check passes,
1 with the failures on stderr, 77 with the reason when the browser is not
available (a skip). check_page() is the same check, for other scripts.
"""

import argparse
import base64
import json
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import browser  # noqa: E402

DARK = (8, 48, 107)     # weight 1 (the page's colour scale: white 0 -> dark blue 1)
MASKED = (236, 236, 236)


def embedded(driver):
    """The page's data (JSON) and its weights, decoded here: codes / scale."""
    data = json.loads(driver.execute_script("return document.getElementById('txw-data').textContent"))
    raw = base64.b64decode(driver.execute_script("return document.getElementById('txw-weights').textContent"))
    codes = [raw[2 * i] | raw[2 * i + 1] << 8 for i in range(len(raw) // 2)]
    return data, codes


def decoded_weight(data, codes, b, h, q, k):
    """The weight of (block b, head h, query q, key k) in the page's data."""
    m, n_head = data["m"], data["nHead"]
    if data["triangular"]:
        if k > q:
            return 0.0
        code = codes[(b * n_head + h) * (m * (m + 1) // 2) + q * (q + 1) // 2 + k]
    else:
        code = codes[(b * n_head + h) * m * m + q * m + k]
    return float("nan") if code == data["nonFinite"] else code / data["scale"]


def check_page(path, n_block, n_head, labels, exact=None, cell=None, screenshot=None):
    """Opens PAGE and runs the checks; returns (failures, measured)."""
    failures = []
    measured = {}
    with browser.chromium() as driver:  # Unavailable (a skip) without selenium or the browser
        from selenium.webdriver.common.action_chains import ActionChains

        browser.open_page(driver, path)
        data, codes = embedded(driver)
        m = data["m"]
        measured["m"] = m
        measured["drawn_ms"] = driver.execute_script(
            "var e=performance.getEntriesByName('txw-drawn');return e.length?e[0].startTime:null;")

        # Heatmaps: one canvas per (block, head), each drawn.
        canvases = driver.execute_script("""
            var out=[];document.querySelectorAll('canvas.heatmap').forEach(function(c){
              var cell=+c.dataset.cell,mg=+c.dataset.margin,ctx=c.getContext('2d');
              function px(q,k){var d=ctx.getImageData(Math.floor(mg+(k+0.5)*cell),Math.floor(mg+(q+0.5)*cell),1,1).data;return [d[0],d[1],d[2]];}
              var img=ctx.getImageData(mg,mg,c.width-mg,c.height-mg).data,inked=0;
              for(var i=0;i<img.length;i+=4)if(img[i]<200)inked++;
              out.push({block:+c.dataset.block,head:+c.dataset.head,m:+c.dataset.m,first:px(0,0),
                        masked:+c.dataset.m>1?px(0,1):null,inked:inked,width:c.width});});
            return out;""")
        measured["heatmaps"] = len(canvases)
        pairs = sorted((c["block"], c["head"]) for c in canvases)
        expected_pairs = [(b, h) for b in range(n_block) for h in range(n_head)]
        if pairs != expected_pairs:
            failures.append(f"heatmaps for (block, head) {pairs}, expected {expected_pairs}")
        for c in canvases:
            where = f"heatmap block {c['block']} head {c['head']}"
            if c["m"] != len(labels):
                failures.append(f"{where}: data-m {c['m']}, expected {len(labels)} tokens")
            if any(abs(a - b) > 2 for a, b in zip(c["first"], DARK)):
                failures.append(f"{where}: cell (0, 0) has colour {c['first']}, expected {DARK} (weight 1)")
            if data["triangular"] and c["masked"] is not None and tuple(c["masked"]) != MASKED:
                failures.append(f"{where}: masked cell (0, 1) has colour {c['masked']}, expected {MASKED}")
            if c["inked"] == 0:
                failures.append(f"{where}: blank")

        # Token labels.
        shown = driver.execute_script(
            "return Array.from(document.querySelectorAll('#txw-tokens .tok'),function(e){return e.textContent;});")
        measured["labels"] = len(shown)
        if shown != labels:
            failures.append(f"token labels {shown!r}, expected {labels!r}")
        if data["labels"] != labels:
            failures.append(f"embedded labels {data['labels']!r}, expected {labels!r}")

        # Full-page window, then hover (the tooltip shows in the screenshot).
        for _ in range(2):  # the height depends on the width: measure again after the first resize
            size = driver.execute_script(
                "var r=document.body.getBoundingClientRect();"
                "return [document.documentElement.scrollWidth,Math.ceil(r.bottom+window.scrollY)+24];")
            inner = driver.execute_script("return [window.innerWidth,window.innerHeight];")
            outer = driver.get_window_size()
            driver.set_window_size(max(1400, min(size[0], 4000)) + outer["width"] - inner[0],
                                   min(size[1], 8000) + outer["height"] - inner[1])
        b, h, q, k = (cell[:4] if cell else (n_block - 1, n_head - 1, m - 1, 0))
        canvas = None if n_block * n_head == 0 and not cell else driver.execute_script(
            "return document.querySelector('canvas.heatmap[data-block=\"'+arguments[0]+'\"][data-head=\"'+arguments[1]+'\"]');", b, h)
        if canvas is None and n_block * n_head == 0 and not cell:
            pass  # no heatmap to hover
        elif canvas is None:
            failures.append(f"no heatmap for block {b} head {h} to hover")
        else:
            driver.execute_script("arguments[0].scrollIntoView({block:'center',inline:'center'});", canvas)
            geometry = driver.execute_script(
                "var c=arguments[0],r=c.getBoundingClientRect();return [r.width,r.height,+c.dataset.cell,+c.dataset.margin];", canvas)
            width, height, cell_px, margin = geometry
            # WebDriver offsets from the element's in-view centre point, which
            # it floors (W3C WebDriver, "in-view center point"): offset from
            # that same point, or a cell of 2 px can be missed by one.
            x = margin + (k + 0.5) * cell_px - math.floor(width / 2)
            y = margin + (q + 0.5) * cell_px - math.floor(height / 2)
            ActionChains(driver).move_to_element_with_offset(canvas, int(round(x)), int(round(y))).perform()
            tip = driver.execute_script("""
                var t=document.getElementById('txw-tip');
                return {hidden:t.hidden,text:t.textContent,block:t.dataset.block,head:t.dataset.head,
                        query:t.dataset.query,key:t.dataset.key,weight:t.dataset.weight,
                        lit:Array.from(document.querySelectorAll('#txw-tokens .tok.q, #txw-tokens .tok.k'),function(e){return [e.className,+e.dataset.pos];})};""")
            measured["tooltip"] = tip["text"]
            if tip["hidden"]:
                failures.append(f"no tooltip after moving the mouse over block {b} head {h} query {q} key {k}")
            else:
                got = (tip["block"], tip["head"], tip["query"], tip["key"])
                if got != (str(b), str(h), str(q), str(k)):
                    failures.append(f"tooltip names block/head/query/key {got}, expected {(b, h, q, k)}")
                if len(cell or []) == 5:
                    weight = float(cell[4])
                else:
                    weight = decoded_weight(data, codes, b, h, q, k)
                try:
                    if abs(float(tip["weight"]) - weight) > 5.1e-5:
                        failures.append(f"tooltip weight {tip['weight']}, expected {weight:.6f}")
                except ValueError:
                    failures.append(f"tooltip weight {tip['weight']!r} is not a number")
                if exact is not None:
                    for role, position in (("query", q), ("key", k)):
                        line = f"{role} {position}: {exact[position]}" if role == "query" else f"key   {position}: {exact[position]}"
                        if line not in tip["text"].split("\n"):
                            failures.append(f"tooltip {tip['text']!r} has no line {line!r}")
                lit = sorted(tip["lit"], key=lambda e: e[1])
                want = sorted([["tok q", q], ["tok k", k]] if q != k else [["tok q k", q]], key=lambda e: e[1])
                if lit != want:
                    failures.append(f"highlighted tokens {lit}, expected {want}")

        if screenshot:
            os.makedirs(os.path.dirname(os.path.abspath(screenshot)), exist_ok=True)
            if not driver.save_screenshot(screenshot):
                failures.append(f"could not save the screenshot {screenshot}")
            measured["screenshot"] = screenshot

        # Script errors: the page's own hook, then the browser's log.
        recorded = driver.execute_script(
            "return [document.documentElement.getAttribute('data-errors'),document.getElementById('txw-errors').textContent];")
        if recorded[0] or recorded[1]:
            failures.append(f"script errors recorded by the page: {recorded[1]!r}")
        severe = [entry["message"] for entry in driver.get_log("browser") if entry.get("level") == "SEVERE"]
        if severe:
            failures.append(f"browser console errors: {severe}")
        drawn = driver.execute_script("return document.documentElement.getAttribute('data-drawn')")
        if drawn != str(n_block * n_head):
            failures.append(f"data-drawn {drawn!r}, expected {n_block * n_head}")
    return failures, measured


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("page")
    parser.add_argument("--blocks", type=int, required=True)
    parser.add_argument("--heads", type=int, required=True)
    parser.add_argument("--labels", required=True, help="a JSON list: the token labels, in order")
    parser.add_argument("--exact", help="a JSON list: the exact token texts the tooltip shows")
    parser.add_argument("--cell", nargs="+", metavar="N", help="B H Q K [WEIGHT]: the cell to hover")
    parser.add_argument("--screenshot", help="where to save a PNG of the page")
    args = parser.parse_args()
    with open(args.labels, encoding="utf-8") as f:
        labels = json.load(f)
    exact = None
    if args.exact:
        with open(args.exact, encoding="utf-8") as f:
            exact = json.load(f)
    cell = None
    if args.cell:
        if len(args.cell) not in (4, 5):
            parser.error("--cell takes B H Q K and optionally WEIGHT")
        cell = [int(v) for v in args.cell[:4]] + ([float(args.cell[4])] if len(args.cell) == 5 else [])
    try:
        failures, measured = check_page(args.page, args.blocks, args.heads, labels, exact, cell, args.screenshot)
    except browser.Unavailable as reason:
        print(f"skipped: {reason}")
        return browser.SKIP_STATUS
    print(json.dumps(measured, ensure_ascii=True))
    for failure in failures:
        print(f"check_page.py: {args.page}: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
