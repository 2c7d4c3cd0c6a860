#!/usr/bin/env python3
"""Open a page in headless Chromium, wait until it says it is done, keep a screenshot and its result.

    browser.py URL --png FILE --json FILE [--deadline SECONDS] [--size WIDTH,HEIGHT] [--insecure]

Chromium is driven over its DevTools pipe (--remote-debugging-pipe: file descriptors 3 and 4,
NUL-separated JSON), with the Python standard library only. Not --dump-dom or --screenshot with
--virtual-time-budget: virtual time also runs the page's clocks, so a lookup that took 1 s in the
network reads as a few milliseconds in Resource Timing (tried: 1036 ms real, 21 ms virtual).

The page signals the end with document.body.dataset.state == "done" and leaves its verdict in
window.dnsfenceResult. Inside `ip netns exec NS`, Chromium resolves names through that namespace's
resolv.conf (LAB-NOTES pitfall 13). Exit 0 when the page finished, 1 when the deadline passed first
(a screenshot and what the page showed are kept either way), 2 on a usage or Chromium error.
"""
import argparse
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time


def chromium_binary():
    # Debian's /usr/bin/chromium is a shell wrapper; the binary itself keeps the pipe descriptors.
    for path in ("/usr/lib/chromium/chromium", shutil.which("chromium") or "", shutil.which("chromium-browser") or ""):
        if path and os.access(path, os.X_OK):
            return path
    sys.exit("browser.py: no chromium (scripts/setup installs it)")


class DevTools:
    """The DevTools protocol over a pipe: calls wait for their answer; events are kept."""

    def __init__(self, to_browser, from_browser):
        self.to_browser, self.from_browser = to_browser, from_browser
        self.buffer, self.next_id, self.events = b"", 0, []

    def call(self, method, params=None, session=None, timeout=30):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self.to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            while b"\0" in self.buffer:
                raw, self.buffer = self.buffer.split(b"\0", 1)
                reply = json.loads(raw)
                if reply.get("id") == self.next_id:
                    if "error" in reply:
                        raise RuntimeError(f"{method}: {reply['error']}")
                    return reply.get("result", {})
                if "method" in reply:
                    self.events.append(reply)
            if time.monotonic() > deadline:
                raise TimeoutError(f"{method}: no answer from chromium in {timeout} s")
            chunk = os.read(self.from_browser, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed its DevTools pipe")
            self.buffer += chunk


def console_lines(events):
    out = []
    for e in events:
        p = e.get("params", {})
        if e["method"] == "Runtime.consoleAPICalled":
            out.append(p.get("type", "log") + ": " + " ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", [])))
        elif e["method"] == "Runtime.exceptionThrown":
            out.append("exception: " + p.get("exceptionDetails", {}).get("exception", {}).get("description", "?"))
        elif e["method"] == "Log.entryAdded":
            entry = p.get("entry", {})
            out.append(f"{entry.get('level')}: {entry.get('text')} {entry.get('url', '')}".rstrip())
    return out


def run(args):
    width, height = (int(v) for v in args.size.split(","))
    profile = tempfile.mkdtemp(prefix="dnsfence-chromium-")
    to_r, to_w = os.pipe()  # commands: we write, chromium reads descriptor 3
    from_r, from_w = os.pipe()  # answers: chromium writes descriptor 4

    def descriptors():
        # os.pipe() descriptors are close-on-exec; dup2 onto 3 and 4 clears that (dup first, in
        # case a pipe already sits on 3 or 4).
        a, b = os.dup(to_r), os.dup(from_w)
        os.dup2(a, 3)
        os.dup2(b, 4)

    command = [chromium_binary(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-features=HttpsUpgrades,MediaRouter", "--no-first-run", "--hide-scrollbars",
               "--remote-debugging-pipe", f"--user-data-dir={profile}", f"--window-size={width},{height}", "about:blank"]
    if args.insecure:
        command.insert(-1, "--ignore-certificate-errors")  # the lab's self-signed wildcard certificate
    browser = subprocess.Popen(command, preexec_fn=descriptors, close_fds=False, stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(to_r)
    os.close(from_w)
    started = time.monotonic()
    result = {"url": args.url, "state": "not loaded"}
    try:
        dt = DevTools(to_w, from_r)
        targets = dt.call("Target.getTargets")["targetInfos"]
        page = next(t["targetId"] for t in targets if t["type"] == "page")
        session = dt.call("Target.attachToTarget", {"targetId": page, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            dt.call(f"{domain}.enable", session=session)
        dt.call("Emulation.setDeviceMetricsOverride",
                {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": True}, session=session)
        dt.call("Page.navigate", {"url": args.url}, session=session)
        deadline = time.monotonic() + args.deadline
        state = None
        while time.monotonic() < deadline:
            state = dt.call("Runtime.evaluate", {"expression": "document.body ? document.body.dataset.state || 'loading' : 'loading'",
                                                  "returnByValue": True}, session=session)["result"].get("value")
            if state == "done":
                break
            time.sleep(0.1)
        result["state"] = state
        result["seconds"] = round(time.monotonic() - started, 2)
        shown = dt.call("Runtime.evaluate", {"expression": "JSON.stringify({result: window.dnsfenceResult || null, "
                                                           "text: document.body ? document.body.innerText : ''})",
                                             "returnByValue": True}, session=session)["result"].get("value")
        result.update(json.loads(shown or "{}"))
        size = dt.call("Page.getLayoutMetrics", session=session)["cssContentSize"]
        shot = dt.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True,
                                                  "clip": {"x": 0, "y": 0, "width": width,
                                                           "height": max(height, int(size["height"])), "scale": 1}},
                       session=session)
        with open(args.png, "wb") as f:
            f.write(base64.b64decode(shot["data"]))
        result["console"] = console_lines(dt.events)
        try:
            dt.call("Browser.close", timeout=5)
        except (RuntimeError, TimeoutError):
            pass
    finally:
        try:
            browser.wait(timeout=10)
        except subprocess.TimeoutExpired:
            browser.kill()  # only the process this script started
            browser.wait()
        shutil.rmtree(profile, ignore_errors=True)
    with open(args.json, "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    return 0 if result.get("state") == "done" else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--png", required=True)
    parser.add_argument("--json", required=True)
    parser.add_argument("--deadline", type=float, default=30.0, help="seconds to wait for the page to finish")
    parser.add_argument("--size", default="412,915", help="the viewport, a phone's by default")
    parser.add_argument("--insecure", action="store_true", help="accept any TLS certificate (a test CA)")
    args = parser.parse_args()
    try:
        return run(args)
    except (RuntimeError, TimeoutError, OSError, StopIteration) as e:
        print(f"browser.py: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
