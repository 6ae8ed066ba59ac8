#!/usr/bin/python3
"""cost_backends.py - the request counts of the README's cost table, for both APIs.

Starts the emulator with one action of N activations spread over ten days, mounts it once as
NCP (signed /api/v2) and once as OpenWhisk (/api/v1, basic auth, AUTH from a private
wskprops), does the table's looks in order in each mount, and counts the API requests each
look caused in the emulator's request log (waiting until the log is quiet, so readahead
counts too). Prints one Markdown table. Loopback only; standard library only.

Run: /usr/bin/python3 tests/bench/cost_backends.py [--activations N] [--ncffs PATH]
"""

import argparse
import collections
import http.client
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
EMULATOR = REPO / "tests" / "emulator" / "ncf_emulator.py"
OW_AUTH = "0f0e0d0c-0b0a-4009-8008-070605040302:ncfemuOpenWhiskKey0123456789abcdef"
QUIET_S = 0.5
FOLLOW_S = 6.5          # follow.log read this long: about three polls of 2 s


def admin(port, method, path):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, "/_emulator" + path)
        return json.loads(conn.getresponse().read())
    finally:
        conn.close()


def settle(port):
    last, since = -1, time.monotonic()
    while True:
        now = len(admin(port, "GET", "/requests"))
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= QUIET_S:
            return
        time.sleep(0.05)


def kinds(requests):
    """Counter of what each request asked for: list pages, counts, records, other."""
    counter = collections.Counter()
    for r in requests:
        path, query = r["path"], r["query"]
        if "count=true" in query:
            counter["count"] += 1
        elif path.rstrip("/").split("/")[-1] == "activations":
            counter["pages"] += 1
        elif len(path.split("/")[-1]) == 32:
            counter["records"] += 1
        else:
            counter["other"] += 1
    return counter


def looks(top, day):
    act = f"{top}/packages/bench/load"
    return (
        ("mount + ls packages/", ["ls", f"{top}/packages"]),
        ("ls packages/bench/", ["ls", f"{top}/packages/bench"]),
        ("cat activations/latest/status", ["cat", f"{act}/activations/latest/status"]),
        ("ls activations/", ["ls", f"{act}/activations"]),
        ("ls -l of the action directory", ["ls", "-l", act]),
        ("ls recent/", ["ls", f"{act}/recent"]),
        (f"ls days/<a day>/", ["ls", f"{act}/days/{day}"]),
        ("ls failed/", ["ls", f"{act}/failed"]),
        ("wc -l activations.tsv", ["wc", "-l", f"{act}/activations.tsv"]),
        (f"tail -f follow.log for {FOLLOW_S} s",
         ["timeout", str(FOLLOW_S), "tail", "-f", f"{act}/follow.log"]),
    )


def measure(backend, ncffs, port, workdir):
    mnt = workdir / f"mnt-{backend}"
    mnt.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NCLOUD_", "__OW_"))}
    env.update(HOME=str(workdir), LC_ALL="C", NO_PROXY="*")
    if backend == "ncp":
        env.update(NCLOUD_ACCESS_KEY_ID="emulator-access-key",
                   NCLOUD_SECRET_ACCESS_KEY="emulator-secret-key")
        opts = f"endpoint=http://127.0.0.1:{port}/api/v2"
    else:
        props = workdir / "wskprops"
        props.write_text(f"APIHOST=http://127.0.0.1:{port}\nAUTH={OW_AUTH}\n")
        props.chmod(0o600)
        env["WSK_CONFIG_FILE"] = str(props)
        opts = "backend=openwhisk"
    admin(port, "POST", "/reset")
    subprocess.run([ncffs, str(mnt), "-o", opts + ",cache_size=16"], env=env, check=True)
    rows = []
    try:
        day = time.strftime("%Y-%m-%d", time.localtime(time.time() - 3 * 86400))
        for i, (what, argv) in enumerate(looks(mnt, day)):
            if i:
                admin(port, "POST", "/reset")
            started = time.monotonic()
            subprocess.run(argv, stdout=subprocess.DEVNULL, env=env)
            wall = time.monotonic() - started
            settle(port)
            rows.append((what, kinds(admin(port, "GET", "/requests")), wall))
    finally:
        subprocess.run(["fusermount3", "-u", str(mnt)])
    return rows


def cell(counter):
    parts = [f"{counter[k]} {k}" for k in ("pages", "count", "records", "other") if counter[k]]
    return f"{sum(counter.values())} ({', '.join(parts)})" if parts else "0"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--activations", type=int, default=2000)
    p.add_argument("--ncffs", default=str(REPO / "ncffs"))
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="ncffs-cost-") as tmp:
        work = Path(tmp)
        emu = subprocess.Popen([sys.executable, str(EMULATOR), "--port", "0", "--port-file",
                                str(work / "port"), "--quiet", "--bench-activations",
                                str(args.activations), "--spread-days", "10"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            while not (work / "port").exists():
                time.sleep(0.05)
            port = int((work / "port").read_text())
            results = {b: measure(b, args.ncffs, port, work) for b in ("ncp", "openwhisk")}
        finally:
            emu.terminate()
            emu.wait()
    print(f"| what the user does ({args.activations} activations over 10 days) "
          "| NCP requests | OpenWhisk requests |")
    print("|---|---|---|")
    for (what, ncp, _), (_, ow, _) in zip(results["ncp"], results["openwhisk"]):
        print(f"| `{what}` | {cell(ncp)} | {cell(ow)} |")


if __name__ == "__main__":
    main()
