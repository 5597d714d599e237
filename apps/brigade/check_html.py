#!/usr/bin/env python3
"""Opens a brigade HTML report in headless Chromium and checks that its
script ran without a JavaScript error (it sets document.title to "ok" only
then); saves a screenshot. Exit 77 (ctest SKIP_RETURN_CODE) when no
chromium is installed.

    check_html.py REPORT.html SCREENSHOT.png
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

SKIP = 77


def chromium_command():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    report, screenshot = (os.path.abspath(p) for p in sys.argv[1:])
    browser = chromium_command()
    if browser is None:
        print("SKIP: chromium is not installed (apt-get install -y chromium)")
        return SKIP
    if not os.path.isfile(report):
        print(f"FAIL: no report at {report}")
        return 1
    with open(report, encoding="utf-8") as f:
        page = f.read()
    # Self-contained: nothing is fetched from the network.
    if re.search(r'(src|href)\s*=\s*"(https?:)?//', page):
        print("FAIL: the report references an external resource")
        return 1
    os.makedirs(os.path.dirname(screenshot), exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="brigade-chromium-") as profile:
        common = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync",
                  f"--user-data-dir={profile}", "--window-size=1400,900"]
        url = "file://" + report
        dom = subprocess.run(common + ["--dump-dom", url], capture_output=True, text=True,
                             timeout=90)
        shot = subprocess.run(common + [f"--screenshot={screenshot}", url],
                              capture_output=True, text=True, timeout=90)
    match = re.search(r"<title>(.*?)</title>", dom.stdout, re.S)
    title = match.group(1).strip() if match else None
    if title != "ok":
        print(f"FAIL: document.title is {title!r}, expected 'ok' (a JavaScript error?)")
        print(dom.stderr[-3000:])
        return 1
    if "<svg" not in dom.stdout:
        print("FAIL: the page drew no SVG")
        return 1
    if shot.returncode != 0 or not os.path.isfile(screenshot):
        print(f"FAIL: no screenshot (exit {shot.returncode})\n{shot.stderr[-3000:]}")
        return 1
    print(f"ok: {report} ran its script without error; screenshot {screenshot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
