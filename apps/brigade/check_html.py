#!/usr/bin/env python3
"""Opens a brigade HTML report in headless Chromium, fails on any JavaScript
error (an uncaught exception, an unhandled rejection, a console.error call,
or a page whose script did not finish: it sets document.title to "ok" only
then), and saves a screenshot. Exit 77 (ctest SKIP_RETURN_CODE) when no
chromium is installed (scripts/deps.sh installs Debian's `chromium`).

    check_html.py REPORT.html SCREENSHOT.png [--fragment F] [--window WxH]
    check_html.py --self-test

--fragment F   opens REPORT.html#F (e.g. "only=0&timelines": the report draws
               the timelines of its first section alone) for the screenshot
--window WxH   the window, so the screenshot's size (default 1400x900)
--self-test    checks this checker: pages with an uncaught exception, a
               console.error and an unhandled rejection must fail, a clean
               page must pass

Works headless as root with no terminal (CI): --no-sandbox, a throw-away
profile directory, every Chromium run bounded in time (its whole process
group is killed on timeout).
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile

SKIP = 77
RUN_TIMEOUT_S = 60

# Prepended to the page (in a copy): records every error the page raises in
# an attribute of <html>, which --dump-dom then shows.
PROBE = """<script>
(function () {
  const errors = [];
  function note(what) {
    errors.push(String(what));
    document.documentElement.setAttribute('data-js-errors', JSON.stringify(errors));
  }
  document.documentElement.setAttribute('data-js-errors', '[]');
  window.addEventListener('error', e => note('uncaught: ' + (e.message || e.error || e)));
  window.addEventListener('unhandledrejection', e => note('unhandled rejection: ' + e.reason));
  const original = console.error;
  console.error = function (...args) {
    note('console.error: ' + args.join(' '));
    return original.apply(console, args);
  };
})();
</script>
"""


def chromium_command():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def run_bounded(cmd, env):
    """Runs cmd in its own process group; kills the group on timeout."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=env, start_new_session=True, stdin=subprocess.DEVNULL)
    try:
        out, err = p.communicate(timeout=RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        raise SystemExit(f"FAIL: chromium did not finish in {RUN_TIMEOUT_S} s: {' '.join(cmd)}")
    finally:
        # Helpers that outlived the browser (none expected) go too.
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return p.returncode, out, err


class Browser:
    def __init__(self, binary, work, window):
        self.binary, self.work, self.window = binary, work, window
        self.env = dict(os.environ, HOME=work)  # nothing written to the real home

    def command(self, profile):
        return [self.binary, "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
                "--no-default-browser-check", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-extensions",
                "--enable-logging=stderr", "--v=0", "--virtual-time-budget=3000",
                f"--user-data-dir={profile}", f"--window-size={self.window}"]

    def run(self, args):
        profile = tempfile.mkdtemp(prefix="profile-", dir=self.work)
        try:
            return run_bounded(self.command(profile) + args, self.env)
        finally:
            shutil.rmtree(profile, ignore_errors=True)


def console_errors(stderr):
    """Uncaught errors Chromium logged from the page (a second witness)."""
    return [line for line in stderr.splitlines()
            if "CONSOLE" in line and ("Uncaught" in line or "ERROR:CONSOLE" in line)]


def page_errors(browser, page_path):
    """The JavaScript errors of the page, and its title after its script ran."""
    with open(page_path, encoding="utf-8") as f:
        page = f.read()
    probed = os.path.join(browser.work, "probed-" + os.path.basename(page_path))
    head = re.search(r"<head[^>]*>", page, re.I)
    at = head.end() if head else 0
    with open(probed, "w", encoding="utf-8") as f:
        f.write(page[:at] + PROBE + page[at:])
    code, dom, err = browser.run(["--dump-dom", "file://" + probed])
    errors = []
    if code != 0:
        errors.append(f"chromium exited {code}: {err[-2000:]}")
    attr = re.search(r"<html[^>]*\sdata-js-errors=\"([^\"]*)\"", dom)
    if attr is None:
        errors.append("the error probe did not run (no data-js-errors on <html>)")
    else:
        errors += json.loads(attr.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    if not errors:
        errors = console_errors(err)
    title = re.search(r"<title>(.*?)</title>", dom, re.S)
    return errors, (title.group(1).strip() if title else None), dom


def check_report(browser, report, screenshot, fragment):
    with open(report, encoding="utf-8") as f:
        page = f.read()
    # Self-contained: nothing is fetched from the network.
    if re.search(r'(src|href)\s*=\s*"(https?:)?//', page):
        print("FAIL: the report references an external resource")
        return 1
    errors, title, dom = page_errors(browser, report)
    if errors:
        print("FAIL: JavaScript errors in the report:\n  " + "\n  ".join(errors))
        return 1
    if title != "ok":
        print(f"FAIL: document.title is {title!r}, expected 'ok' (the script did not finish)")
        return 1
    if "<svg" not in dom:
        print("FAIL: the page drew no SVG")
        return 1
    os.makedirs(os.path.dirname(screenshot), exist_ok=True)
    if os.path.exists(screenshot):
        os.remove(screenshot)
    url = "file://" + report + ("#" + fragment if fragment else "")
    code, _, err = browser.run([f"--screenshot={screenshot}", url])
    if code != 0 or not os.path.isfile(screenshot) or os.path.getsize(screenshot) == 0:
        print(f"FAIL: no screenshot (exit {code})\n{err[-3000:]}")
        return 1
    print(f"ok: {report} ran its script without a JavaScript error; screenshot {screenshot} "
          f"({os.path.getsize(screenshot) // 1024} KiB)")
    return 0


def self_test(browser):
    body = "<html><head><title>loading</title></head><body><script>{}</script></body></html>"
    pages = {
        "clean": "document.title = 'ok';",
        "uncaught": "document.title = 'ok'; null.x;",
        "console_error": "document.title = 'ok'; console.error('drawn wrong');",
        "rejection": "document.title = 'ok'; Promise.reject(new Error('lost'));",
        "syntax": "document.title = 'ok'; let = = 1;",
    }
    failures = []
    for name, script in pages.items():
        path = os.path.join(browser.work, name + ".html")
        with open(path, "w", encoding="utf-8") as f:
            f.write(body.format(script))
        errors, _, _ = page_errors(browser, path)
        if (name == "clean") == bool(errors):
            failures.append(f"{name}: errors {errors}")
        print(f"  {name}: {errors or 'no error'}")
    if failures:
        print("FAIL: the checker misjudged:\n  " + "\n  ".join(failures))
        return 1
    print("ok: the checker catches uncaught exceptions, console.error, unhandled rejections "
          "and syntax errors, and passes a clean page")
    return 0


def main():
    args = sys.argv[1:]
    options = {"--fragment": "", "--window": "1400,900"}
    positional = []
    while args:
        a = args.pop(0)
        if a in options and args:
            options[a] = args.pop(0).replace("x", ",") if a == "--window" else args.pop(0)
        else:
            positional.append(a)
    testing = positional == ["--self-test"]
    if not testing and len(positional) != 2:
        print(__doc__)
        return 2
    binary = chromium_command()
    if binary is None:
        print("SKIP: chromium is not installed (bash scripts/deps.sh, or "
              "apt-get install -y chromium)")
        return SKIP
    with tempfile.TemporaryDirectory(prefix="brigade-chromium-") as work:
        browser = Browser(binary, work, options["--window"])
        if testing:
            return self_test(browser)
        report, screenshot = (os.path.abspath(p) for p in positional)
        if not os.path.isfile(report):
            print(f"FAIL: no report at {report}")
            return 1
        return check_report(browser, report, screenshot, options["--fragment"])


if __name__ == "__main__":
    sys.exit(main())
