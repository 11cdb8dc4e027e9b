#!/usr/bin/env python3
"""How long a txw report page takes to open and draw in headless Chromium.

    page_timing.py PAGE [--runs N] [--json]

Each run is a fresh navigation to PAGE; the time is the page's own
performance mark `txw-drawn` (set when every heatmap is drawn), measured
from the navigation's start. Prints the median and every run, in ms, and
for the median run when the HTML was parsed and the weights decoded.
Exit 77 (with the reason) when the browser is not available.
"""

import argparse
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import browser  # noqa: E402


def measure(path, runs=5):
    """Each run's times in ms since navigation start: `parsed` (the HTML
    parsed: domInteractive), `decoded` (the weights decoded), `drawn`."""
    times = []
    with browser.chromium() as driver:
        for _ in range(runs):
            browser.open_page(driver, path)
            errors = driver.execute_script("return document.documentElement.getAttribute('data-errors')")
            if errors:
                raise RuntimeError(f"{path}: the page reports script errors: "
                                   + driver.execute_script("return document.getElementById('txw-errors').textContent"))
            stages = driver.execute_script("""
                function mark(n){var e=performance.getEntriesByName(n);return e.length?e[0].startTime:null;}
                var nav=performance.getEntriesByType('navigation')[0];
                return {parsed:nav?nav.domInteractive:null,decoded:mark('txw-decoded'),drawn:mark('txw-drawn')};""")
            if stages["drawn"] is None:
                raise RuntimeError(f"{path}: no txw-drawn performance mark (not a txw report page?)")
            times.append({k: (float(v) if v is not None else None) for k, v in stages.items()})
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("page")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not os.path.isfile(args.page):
        print(f"page_timing.py: {args.page}: no such file", file=sys.stderr)
        return 1
    try:
        times = measure(args.page, max(1, args.runs))
    except browser.Unavailable as reason:
        print(f"skipped: {reason}")
        return browser.SKIP_STATUS
    except RuntimeError as error:
        print(f"page_timing.py: {error}", file=sys.stderr)
        return 1
    drawn = [t["drawn"] for t in times]
    median = statistics.median(drawn)
    middle = times[drawn.index(median)] if median in drawn else times[0]
    size = os.path.getsize(args.page)
    if args.json:
        print(json.dumps({"page": args.page, "bytes": size, "median_ms": median, "runs": times}))
    else:
        stages = ", ".join(f"{k} {v:.1f}" for k, v in middle.items() if v is not None and k != "drawn")
        print(f"{args.page}: {size} bytes, drawn {median:.1f} ms after navigation start "
              f"(median of {len(times)}: {', '.join(f'{t:.1f}' for t in drawn)}; that run: {stages})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
