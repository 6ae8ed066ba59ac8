#!/usr/bin/python3
"""bench.py - how ncffs compares with a plain API script, and what a look costs at scale.

Scope, part 1 (the grep comparison): for each N in --grep-sizes, start
tests/emulator/ncf_emulator.py (loopback only) with a `bench/load` action of N activations and
--latency-ms of injected latency, then measure:

  * cold `ls -l activations/` and cold `grep -r ERROR activations/`, each on a fresh mount
    with a reset request log: wall time and API calls (every endpoint);
  * the same grep again at once on the same mount (warm; median of 3 runs);
  * the parallel walkers in WALKERS (`rg -l ERROR` with its default threads and with -j 8,
    `fdfind -t f logs.txt`), each cold on a fresh mount, their answers checked against the
    cold grep's, and their time over the cold grep's (issue 22);
  * `ls activations/`, then `cat` of the status of RANDOM_CATS activations picked at random
    (fresh mount): how many records that costs;
  * 16 `cat`s of one never-read record's result.json, released together (fresh mount):
    how many GETs of that record reached the API;
  * baseline A/B: tests/bench/baseline.py, sequential and with 8 threads;
  * the limit: the same grep over a copy of the files on tmpfs (median of 3 runs);
  * the ncffs daemon's peak RSS (VmHWM) after the cold and warm greps;

and print one table, the ratios, and a PASS/MISS line per target.

Part 2 (scale): start the emulator with --scale N activations (default 20,000) spread over the
last SCALE_SPREAD_DAYS days, once per list order in --order, and run each of SCALE_SCENARIOS
(`cat activations/latest/status`, `ls activations/`, `ls -l` of the action, `ls recent/`,
`ls days/<day>/`, `grep -R ERROR days/<day>/`, `wc -l activations.tsv`) on a fresh mount whose
path to the action directory is already looked up and whose request log is then reset. Each
row has the wall time, the API requests received while the command ran and those received in
the AFTER_S seconds after it returned (background work), both split into list pages, records
and other, and the daemon's peak RSS. A scenario whose path the mount does not have (recent/
and days/ before issue 10) is a row "n/a (not present)", not an error.

Part 3 (the disk cache, issue 18): with --disk-grep N (default 2,000) activations, `grep -r
ERROR activations/` three times, each on a fresh mount: API-cold (cache_dir=none), then with a
new cache_dir (which the run fills), then again with that cache_dir after a remount; and the
same for `ls --color=always activations/` over --disk-ls N (default 20,000). Each row has the
wall time, list pages and record requests, peak RSS, the disk cache's hits and bytes and `du`
of the folder. Parts 1 and 2 mount with cache_dir=none, so that cold stays API-cold.
--only-disk runs this part alone.

Part 5 (the scheduler, issue 17; --sched N, default 2,000; run alone with
`--grep-sizes none --scale 0`), once per list order in --order:

  * rate: an emulator that allows SCHED_RATE requests a second (--rate): cold `grep -r` of N
    records on a fresh mount: wall time against requests / SCHED_RATE, the share of 429s,
    and grep's answer (no error, every ERROR line of the records);
  * latency: no limit, SCHED_LATENCY_MS per request: the same cold grep with the adaptive
    limit and with it pinned at 16 (-o max_inflight=16);
  * priority: while a grep drives the readahead of SCHED_BUSY_N records, a cold
    `cat latest/status` of another action, against the same cat on an idle mount.

The CSV, the gnuplot SVG of cold grep time against N (tests/bench/plot.py; --publish copies it
next to this file for README.md) and a PNG when matplotlib is importable go to --out. Every
mount is unmounted again (fusermount3 -u, then -uz, then kill) and every process stopped,
also on errors, Ctrl-C and SIGTERM.

Exit status: 0 when the benchmark ran (MISS lines included: this is a benchmark, not a test),
1 when something failed to run, 130 when interrupted.

Left out on purpose: building ncffs (`make bench` does), editing the emulator, repeating the
cold runs (each needs a fresh mount and a long baseline; the slow rows are single runs), and
any network address but 127.0.0.1. Python 3 standard library only (/usr/bin/python3); the
plot needs gnuplot (Debian gnuplot-nox) and is skipped with a warning without it.
"""

import argparse
import contextlib
import csv
import datetime
import hashlib
import http.client
import json
import math
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, NamedTuple, Optional

import baseline     # the yardstick script; also signs the day's totalCount query
import fleet        # part 3: many hosts, one Redis (issue 20)
import plot

# --------------------------------------------------------------------------------------------
# Named limits and constants.

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
PYTHON = "/usr/bin/python3"
EMULATOR_PY = REPO / "tests" / "emulator" / "ncf_emulator.py"
NODELAY_EMULATOR_PY = HERE / "nodelay_emulator.py"
BASELINE_PY = HERE / "baseline.py"
DEFAULT_NCFFS = REPO / "ncffs"
PUBLISHED_SVG = HERE / "grep_vs_n.svg"      # committed; README.md shows it
SHM = Path("/dev/shm")

HOST = "127.0.0.1"                  # loopback only, always
ACCESS_KEY = "emulator-access-key"
SECRET_KEY = "emulator-secret-key"
PACKAGE, ACTION = "bench", "load"   # what --bench-activations creates
PAGE_CAP = 100                      # pageSize ncffs and the baselines ask for (no emulator cap)
GREP_CACHE_MIB = 64
# Cold means API-cold: parts 1 and 2 keep nothing on disk between their mounts.
NCFFS_EXTRA_OPTIONS = f"cache_size={GREP_CACHE_MIB},cache_dir=none"
GREP = ("grep", "-r", "ERROR", "activations/")

# Part 1, issue 22: walkers that look entries up in no particular order, several threads at
# once (ripgrep and fd pop directories from a stack). (key, row label, argv); a missing
# program is a warning and no row.
WALKERS = (
    ("rg", "rg -l ERROR (cold, default threads)", ("rg", "-l", "ERROR", "activations/")),
    ("rg-j8", "rg -j 8 -l ERROR (cold)", ("rg", "-j", "8", "-l", "ERROR", "activations/")),
    ("fd", "fdfind -t f logs.txt (cold)", ("fdfind", "-t", "f", "logs.txt", "activations/")),
)
RANDOM_CATS = 5                     # `cat` of this many random activations after an `ls`
FIRST_WINDOW = 64                   # prefetch.h: PREFETCH_FIRST_WINDOW

# Part 2: what a look costs at scale (issue 10).
SCALE_N = 20_000                    # --scale default
SCALE_SPREAD_DAYS = 10              # emulator --spread-days: 2,000 activations a day
SCALE_DAY_AGE_DAYS = 2              # the day listed: the local date 2 days ago, a whole day
                                    # inside the spread
AFTER_S = 5.0                       # background requests counted this long after a command
BUSY_TAIL_S = 0.5                   # a request this close to the window's end: still busy
SCALE_CACHE_MIB = 64                # -o cache_size of the scale mounts ...
TSV_CACHE_MIB = 16                  # ... but the activations.tsv one (its RSS is the point)
ORDERS = ("newest-first", "oldest-first")
RECENT_DEFAULT = 20                 # what `ls recent/` should show (ncffs -o recent default)
KST_OFFSET_S = 9 * 3600             # /api/v2 start/end are Korea time (the emulator's default)
NOT_PRESENT = "n/a (not present)"

READERS = 16                        # concurrent cats of one record
REPEATS = 3                         # small timings (warm, limit): median of this many
BASELINE_PARALLEL = 8

START_TIMEOUT_S = 30                # emulator port file, mount visible
EXIT_TIMEOUT_S = 15                 # ncffs exit after fusermount3 -u
COMMAND_TIMEOUT_S = 600             # any one measured program
SETTLE_QUIET_S = 0.3                # request log unchanged this long = background work done
SETTLE_TIMEOUT_S = 120
BARRIER_TIMEOUT_S = 10              # readers blocked on the start pipe

# Part 5: the scheduler (issue 17).
SCHED_N = 2000
SCHED_RATE = 100                    # emulator --rate: requests a second
SCHED_LATENCY_MS = 80               # the no-limit scenario's latency
SCHED_FIXED = "max_inflight=16"     # the limit pinned at its start value
SCHED_BUSY_N = 20_000               # the readahead running behind the cat
SCHED_BUSY_START_S = 2.0            # the grep runs this long before the cat
SCHED_OTHER = ("packages", "demo", "hello", "activations", "latest", "status")
SCHED_RATE_SLACK = 1.15             # wall <= this x requests / rate
SCHED_429_SHARE = 0.05
SCHED_ADAPTIVE_OVER_FIXED = 0.6
SCHED_BUSY_OVER_IDLE = 3.0

# Targets.
SPEEDUP_VS_A = 8.0                  # cold grep at least this many times faster than baseline A
WARM_OVER_LIMIT = 3.0               # warm grep at most this many times the tmpfs grep
WALKER_OVER_GREP = 1.2              # each of WALKERS at most this many times the cold grep
RSS_LIMIT_MIB = 96.0
RSS_TARGET_N = 2000

ID_RE = re.compile(r"[0-9a-f]{32}")
MIB = 1024 * 1024


class BenchError(Exception):
    """Something failed to run: the benchmark cannot report a number for it."""


def on_sigterm(signum, frame):
    raise KeyboardInterrupt     # unwind through every cleanup, as Ctrl-C does


@contextlib.contextmanager
def uninterrupted():
    """Cleanup must finish: ignore Ctrl-C/SIGTERM while it runs, then restore."""
    saved = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


def log(text):
    print(text, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# Running programs.

def child_env(home):
    """C locale, a private HOME, the emulator's credentials, and no proxies: curl and urllib
    would honour them even for loopback."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("NCLOUD_") and k.lower() not in
           ("http_proxy", "https_proxy", "all_proxy", "no_proxy")}
    env.update(LC_ALL="C", LANG="C", HOME=str(home), NO_PROXY="*",
               NCLOUD_ACCESS_KEY_ID=ACCESS_KEY, NCLOUD_SECRET_ACCESS_KEY=SECRET_KEY)
    return env


def run(argv, env, cwd=None, ok=(0,)):
    """Run a program to the end; -> (wall seconds, CompletedProcess). stdout is read through a
    pipe, never sent to /dev/null: GNU grep stops at the first match when it writes there."""
    start = time.perf_counter()
    try:
        result = subprocess.run([str(a) for a in argv], cwd=cwd, env=env,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, timeout=COMMAND_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise BenchError(f"{' '.join(map(str, argv))}: {err}") from err
    elapsed = time.perf_counter() - start
    if result.returncode not in ok:
        raise BenchError(f"{' '.join(map(str, argv))} (in {cwd}) exited {result.returncode}: "
                         f"{result.stderr.decode(errors='replace').strip()[:500]}")
    return elapsed, result


def median_run(argv, env, cwd, ok=(0,)):
    """-> (median wall seconds of REPEATS runs, the last CompletedProcess)."""
    times, result = [], None
    for _ in range(REPEATS):
        elapsed, result = run(argv, env, cwd, ok)
        times.append(elapsed)
    return statistics.median(times), result


def grep_hits(stdout):
    """-> (matching lines, of which in logs.txt files)."""
    lines = stdout.splitlines()
    return len(lines), sum(1 for line in lines if b"/logs.txt:" in line)


# --------------------------------------------------------------------------------------------
# The emulator.

class Emulator:
    """One emulator process on a loopback port, steered through its /_emulator/ admin API."""

    def __init__(self, workdir, count, latency_ms, nodelay, env, extra=()):
        """extra: more emulator flags, e.g. ("--spread-days", "10", "--order", "...")."""
        port_file = workdir / "emulator.port"
        self.stderr_path = workdir / "emulator.stderr"
        script = NODELAY_EMULATOR_PY if nodelay else EMULATOR_PY
        argv = [PYTHON, str(script), "--host", HOST, "--port", "0", "--port-file",
                str(port_file), "--dataset", "demo", "--bench-activations", str(count),
                "--latency-ms", str(latency_ms), "--quiet", *extra]
        with open(workdir / "emulator.stdout", "wb") as so, open(self.stderr_path, "wb") as se:
            self.proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL,
                                         stdout=so, stderr=se)
        try:
            self.port = self.wait_port(port_file)
        except BaseException:
            self.stop()
            raise

    def wait_port(self, port_file):
        deadline = time.monotonic() + START_TIMEOUT_S
        while not port_file.exists():
            if self.proc.poll() is not None:
                raise BenchError(f"emulator exited {self.proc.returncode}: {self.stderr()}")
            if time.monotonic() > deadline:
                raise BenchError("emulator did not write its port file in time")
            time.sleep(0.02)
        return int(port_file.read_text().strip())

    def stderr(self):
        return self.stderr_path.read_text(errors="replace")[-2000:]

    def endpoint(self):
        return f"http://{HOST}:{self.port}/api/v2"

    def stop(self):
        with uninterrupted():
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()

    def admin(self, method, path):
        conn = http.client.HTTPConnection(HOST, self.port, timeout=60)
        try:
            conn.request(method, "/_emulator" + path)
            resp = conn.getresponse()
            body = resp.read()
        except (OSError, http.client.HTTPException) as err:
            raise BenchError(f"emulator admin {method} {path}: {err}") from err
        finally:
            conn.close()
        if resp.status != 200:
            raise BenchError(f"emulator admin {method} {path}: HTTP {resp.status}")
        return json.loads(body)

    def requests(self):
        """Every API request (all endpoints) since the last reset."""
        return self.admin("GET", "/requests")

    def reset(self):
        self.admin("POST", "/reset")

    def ids(self):
        """Every bench id, newest first whatever --order."""
        return self.admin("GET", f"/ids/{PACKAGE}/{ACTION}")["ids"]

    def record(self, activation):
        return self.admin("GET", f"/record/{PACKAGE}/{ACTION}/{activation}")

    def settle(self):
        """Wait until no API request arrived for SETTLE_QUIET_S (prefetch is done); -> log."""
        deadline = time.monotonic() + SETTLE_TIMEOUT_S
        seen = self.requests()
        since = time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.1)
            now = self.requests()
            if len(now) != len(seen):
                seen, since = now, time.monotonic()
            elif time.monotonic() - since >= SETTLE_QUIET_S:
                return now
        raise BenchError("the emulator's request log never went quiet")


def classify(requests):
    """Count logged requests by what they asked for."""
    counts = {"total": len(requests), "list": 0, "record": 0, "packages": 0, "actions": 0,
              "other": 0, "non200": 0}
    for r in requests:
        parts = r["path"].rstrip("/").split("/")
        if parts[-1] == "activations":
            counts["list"] += 1
        elif len(parts) >= 2 and parts[-2] == "activations" and ID_RE.fullmatch(parts[-1]):
            counts["record"] += 1
        elif parts[-1] in ("packages", "actions"):
            counts[parts[-1]] += 1
        else:
            counts["other"] += 1
        if r.get("status") != 200:
            counts["non200"] += 1
    counts["parent"] = counts["packages"] + counts["actions"]
    return counts


# --------------------------------------------------------------------------------------------
# Mounts.

def mounted_fstype(path):
    """The filesystem type mounted exactly at path, or None (from /proc/self/mountinfo)."""
    target = os.path.realpath(path)
    with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            point = left.split()[4]
            for escaped, plain in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"),
                                   ("\\134", "\\")):
                point = point.replace(escaped, plain)
            if point == target:
                return right.split()[0]
    return None


class Mount:
    """One `ncffs -f` child serving one fresh mount point."""

    def __init__(self, ncffs, path, endpoint, env, log_path, options=NCFFS_EXTRA_OPTIONS):
        self.path = Path(path)
        self.log_path = log_path
        self.problem = None
        argv = [str(ncffs), str(self.path), "-f", "-o", f"endpoint={endpoint},{options}"]
        with open(log_path, "wb") as out:
            self.proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL,
                                         stdout=out, stderr=subprocess.STDOUT)

    def output(self):
        return self.log_path.read_text(errors="replace")[-2000:]

    def is_mounted(self):
        return mounted_fstype(self.path) is not None

    def wait_live(self):
        deadline = time.monotonic() + START_TIMEOUT_S
        while not (mounted_fstype(self.path) or "").startswith("fuse"):
            if self.proc.poll() is not None:
                raise BenchError(f"ncffs exited {self.proc.returncode} before mounting: "
                                 f"{self.output()}")
            if time.monotonic() > deadline:
                raise BenchError(f"ncffs did not mount within {START_TIMEOUT_S}s")
            time.sleep(0.02)

    def peak_rss_mib(self):
        """VmHWM of the daemon, in MiB."""
        with open(f"/proc/{self.proc.pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024 / MIB
        raise BenchError("no VmHWM in /proc/<ncffs>/status")

    def unmount(self):
        """fusermount3 -u, then -uz, then kill; never raises. Sets self.problem if the
        daemon did not go away cleanly."""
        with uninterrupted():
            fuser = ["fusermount3", "-u", str(self.path)]
            if not self.is_mounted():
                if self.proc.poll() is None:
                    self.proc.terminate()   # interrupted while it was still starting
            elif subprocess.run(fuser, capture_output=True).returncode:
                self.problem = "fusermount3 -u failed; needed -uz"
                subprocess.run(["fusermount3", "-uz", str(self.path)], capture_output=True)
            try:
                self.proc.wait(EXIT_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.problem = "did not exit after unmount; killed"
                self.proc.kill()
                self.proc.wait()
            if self.is_mounted():
                subprocess.run(["fusermount3", "-uz", str(self.path)], capture_output=True)
            if self.problem is None and self.proc.returncode not in (0, -signal.SIGTERM):
                self.problem = f"exited {self.proc.returncode} after unmount"


@contextlib.contextmanager
def fresh_mount(ctx, label, options=NCFFS_EXTRA_OPTIONS, prewalk=False):
    """A new mount point and ncffs process, live, with a quiet and empty request log. With
    prewalk, the path to the action directory is looked up (and its requests settled)
    before the log is reset, so what follows counts only the look inside it."""
    path = Path(tempfile.mkdtemp(prefix=f"mnt-{label}-", dir=ctx.work))
    mount = Mount(ctx.ncffs, path, ctx.emulator.endpoint(), ctx.env,
                  ctx.work / f"ncffs-{label}.log", options)
    try:
        mount.wait_live()
        ctx.emulator.reset()    # a quiet log is cheaper to poll than the last mount's
        ctx.emulator.settle()
        if prewalk:
            try:
                os.stat(action_dir(mount))
            except OSError as err:
                raise BenchError(f"{label}: the action directory: {err}") from err
            counts = classify(ctx.emulator.settle())
            if counts["list"] or counts["record"]:
                ctx.warn(f"{label}: looking up the action directory cost {counts['list']} "
                         f"list pages and {counts['record']} records (not counted)")
        ctx.emulator.reset()
        yield mount
    finally:
        mount.unmount()
        if mount.problem:
            ctx.warn(f"ncffs ({label}): {mount.problem}: {mount.output()}")
        with contextlib.suppress(OSError):
            path.rmdir()


# --------------------------------------------------------------------------------------------
# Scenarios. Each returns result rows: dicts with scenario, n, wall_s and request counts.

def row(scenario, n, wall_s, counts=None, **extra):
    r = {"scenario": scenario, "n": n, "wall_s": wall_s}
    if counts is not None:
        r.update({"api_calls": counts["total"], "list_calls": counts["list"],
                  "record_calls": counts["record"], "packages_calls": counts["packages"],
                  "actions_calls": counts["actions"], "other_calls": counts["other"]})
    r.update(extra)
    return r


def action_dir(mount):
    return mount.path / "packages" / PACKAGE / ACTION


def scenario_ls(ctx, n):
    with fresh_mount(ctx, f"ls-{n}") as mount:
        wall, result = run(["ls", "-l", "activations/"], ctx.env, action_dir(mount))
        counts = classify(ctx.emulator.settle())
    entries = sum(1 for line in result.stdout.splitlines() if line.startswith(b"d"))
    if entries != n:
        ctx.warn(f"N={n}: ls -l showed {entries} activation directories, expected {n}")
    ctx.check_status(counts, f"N={n} ls -l")
    return row("ls -l activations/ (cold)", n, wall, counts)


def scenario_grep(ctx, n):
    """Cold grep, peak RSS, warm grep, then the tmpfs copy and its grep (the limit)."""
    shm = Path(tempfile.mkdtemp(prefix="ncffs-bench-", dir=SHM))
    try:
        with fresh_mount(ctx, f"grep-{n}") as mount:
            cwd = action_dir(mount)
            cold_wall, cold = run(GREP, ctx.env, cwd, ok=(0, 1))
            cold_counts = classify(ctx.emulator.settle())
            rss_cold = mount.peak_rss_mib()
            ctx.emulator.reset()
            warm_wall, warm = median_run(GREP, ctx.env, cwd, ok=(0, 1))
            warm_counts = classify(ctx.emulator.settle())
            rss = mount.peak_rss_mib()
            run(["cp", "-r", "activations", str(shm)], ctx.env, cwd)
        limit_wall, limit = median_run(GREP, ctx.env, shm, ok=(0, 1))
    finally:
        shutil.rmtree(shm, ignore_errors=True)
    hits = {name: grep_hits(r.stdout) for name, r in
            (("cold", cold), ("warm", warm), ("tmpfs", limit))}
    if len({h for h, _ in hits.values()}) != 1:
        ctx.warn(f"N={n}: grep found different numbers of lines: {hits}")
    ctx.log_hits[n] = hits["cold"][1]
    ctx.grep_files[n] = {line.split(b":", 1)[0] for line in cold.stdout.splitlines()}
    ctx.check_status(cold_counts, f"N={n} cold grep")
    return [row("grep -r ERROR (cold)", n, cold_wall, cold_counts, peak_rss_mib=rss_cold),
            row(f"grep -r ERROR (warm, median of {REPEATS})", n, warm_wall, warm_counts,
                repeats=REPEATS),
            row(f"limit: grep -r on tmpfs (median of {REPEATS})", n, limit_wall,
                repeats=REPEATS),
            row("ncffs peak RSS after grep (VmHWM)", n, None, peak_rss_mib=rss)]


def scenario_walker(ctx, n, key, label, argv):
    """One walker, cold on a fresh mount; its answers against the cold grep's."""
    if shutil.which(argv[0]) is None:
        ctx.warn(f"N={n}: {argv[0]} not found (Debian: ripgrep, fd-find; make deps): no "
                 f"{label} row")
        return []
    with fresh_mount(ctx, f"{key}-{n}") as mount:
        wall, result = run(argv, ctx.env, action_dir(mount), ok=(0, 1))
        counts = classify(ctx.emulator.settle())
    lines = set(result.stdout.splitlines())
    if argv[0] == "fdfind":
        problem = None if len(lines) == n else f"found {len(lines)} logs.txt files, not {n}"
    else:
        want = ctx.grep_files.get(n)
        problem = None if want is None or lines == want else \
            f"listed {len(lines)} files, grep -r matched in {len(want)}"
    if problem:
        ctx.warn(f"N={n}: {label}: {problem}")
    ctx.check_status(counts, f"N={n} {label}")
    return [row(label, n, wall, counts)]


def scenario_random_cats(ctx, n, ids):
    """`ls activations/` (one readahead window), then RANDOM_CATS cats of random records'
    status: what a few random looks cost. Wall time is the cats'."""
    picked = random.Random(n).sample(ids, RANDOM_CATS)
    with fresh_mount(ctx, f"cats-{n}") as mount:
        cwd = action_dir(mount)
        run(["ls", "activations/"], ctx.env, cwd)
        wall, _ = run(["sh", "-c", 'for a; do cat "activations/$a/status" || exit 1; done',
                       "sh", *picked], ctx.env, cwd)
        requests = ctx.emulator.settle()
    got = {r["path"].rsplit("/", 1)[-1] for r in requests}
    if not set(picked) <= got:
        ctx.warn(f"N={n}: the random cats did not fetch their records")
    counts = classify(requests)
    ctx.check_status(counts, f"N={n} random cats")
    return row(f"ls, then cat of {RANDOM_CATS} random activations (cold)", n, wall, counts)


def readers_blocked(procs):
    """True once every reader runs sh and sleeps (in read(2) on the start pipe)."""
    for proc in procs:
        try:
            with open(f"/proc/{proc.pid}/stat", "rb") as f:
                state = f.read().rsplit(b")", 1)[1].split()[0]
            with open(f"/proc/{proc.pid}/cmdline", "rb") as f:
                exe = os.path.basename(f.read().split(b"\0", 1)[0])
        except (OSError, IndexError):
            return False
        if state != b"S" or exe != b"sh":
            return False
    return True


def concurrent_cats(path, env):
    """READERS `cat path`, all blocked on one pipe until its write end closes; -> (seconds
    from release to the last exit, outputs)."""
    read_fd, write_fd = os.pipe()
    procs = []
    try:
        for _ in range(READERS):
            procs.append(subprocess.Popen(
                ["sh", "-c", 'read -r _; exec cat -- "$0"', str(path)], env=env,
                stdin=read_fd, stdout=subprocess.PIPE, stderr=subprocess.PIPE))
        os.close(read_fd)
        read_fd = None
        deadline = time.monotonic() + BARRIER_TIMEOUT_S
        while not readers_blocked(procs):
            if time.monotonic() > deadline:
                raise BenchError("the concurrent readers never all reached the barrier")
            time.sleep(0.01)
        start = time.perf_counter()
        os.close(write_fd)      # EOF: every reader's `read` returns at once
        write_fd = None
        outputs = [p.communicate(timeout=COMMAND_TIMEOUT_S) for p in procs]
        elapsed = time.perf_counter() - start
        failed = [p.returncode for p in procs if p.returncode != 0]
        if failed:
            raise BenchError(f"concurrent cat: exit statuses {failed}: {outputs[0][1][:300]!r}")
        return elapsed, [o for o, _ in outputs]
    finally:
        for fd in (read_fd, write_fd):
            if fd is not None:
                os.close(fd)
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()


def scenario_readers(ctx, n, activation):
    with fresh_mount(ctx, f"cat-{n}") as mount:
        path = action_dir(mount) / "activations" / activation / "result.json"
        wall, outputs = concurrent_cats(path, ctx.env)
        requests = ctx.emulator.settle()
    gets = sum(1 for r in requests if r["path"].endswith(f"/activations/{activation}"))
    if len(set(outputs)) != 1 or not outputs[0]:
        ctx.warn(f"N={n}: the {READERS} readers did not all read the same non-empty bytes")
    counts = classify(requests)
    ctx.check_status(counts, f"N={n} concurrent cat")
    return row(f"{READERS} concurrent cat, 1 record (cold)", n, wall, counts,
               api_calls=gets, all_calls=counts["total"])


def scenario_baseline(ctx, n, parallel):
    ctx.emulator.reset()
    argv = [PYTHON, BASELINE_PY, "--endpoint", ctx.emulator.endpoint(), "--package", PACKAGE,
            "--action", ACTION, "--parallel", parallel]
    with tempfile.TemporaryDirectory(prefix="baseline-", dir=ctx.work) as out:
        wall, result = run(argv + ["--out", out], ctx.env)
    counts = classify(ctx.emulator.settle())
    hits = len(result.stdout.splitlines())
    if n in ctx.log_hits and hits != ctx.log_hits[n]:
        ctx.warn(f"N={n}: baseline found {hits} ERROR log lines, the mount's logs.txt files "
                 f"{ctx.log_hits[n]}")
    ctx.check_status(counts, f"N={n} baseline --parallel {parallel}")
    label = "baseline A (sequential)" if parallel == 1 else \
        f"baseline B ({parallel} threads)"
    return row(label, n, wall, counts)


def bench_size(ctx, n):
    """All scenarios for one N, against one emulator."""
    log(f"== N={n}: starting the emulator")
    workdir = ctx.work / f"emulator-{n}"
    workdir.mkdir()
    ctx.emulator = Emulator(workdir, n, ctx.latency_ms, ctx.nodelay, ctx.env)
    try:
        ids = ctx.emulator.ids()
        if len(ids) != n:
            raise BenchError(f"emulator serves {len(ids)} bench activations, expected {n}")
        rows = []
        steps = (("ls -l (cold)", lambda: [scenario_ls(ctx, n)]),
                 ("grep (cold, warm, tmpfs)", lambda: scenario_grep(ctx, n)),
                 *((f"{label}", lambda w=(key, label, argv): scenario_walker(ctx, n, *w))
                   for key, label, argv in WALKERS),
                 (f"ls and {RANDOM_CATS} random cats",
                  lambda: [scenario_random_cats(ctx, n, ids)]),
                 (f"{READERS} concurrent cat", lambda: [scenario_readers(ctx, n, ids[-1])]),
                 ("baseline A", lambda: [scenario_baseline(ctx, n, 1)]),
                 ("baseline B", lambda: [scenario_baseline(ctx, n, BASELINE_PARALLEL)]))
        for name, step in steps:
            log(f"   N={n}: {name} ...")
            rows.extend(step())
        if "Traceback" in ctx.emulator.stderr():
            ctx.warn(f"N={n}: the emulator raised: {ctx.emulator.stderr()}")
        return rows
    finally:
        ctx.emulator.stop()
        ctx.emulator = None


# --------------------------------------------------------------------------------------------
# Part 5: the scheduler (issue 17). Every emulator here serves N bench records in one order.

def sched_emulator(ctx, label, n, latency_ms, order, extra=()):
    workdir = ctx.work / f"emulator-{label}-{order}"
    workdir.mkdir()
    return Emulator(workdir, n, latency_ms, ctx.nodelay, ctx.env,
                    ("--order", order, *extra))


def expected_error_lines(emu):
    """ERROR lines in the logs of every bench record, from the emulator's admin API."""
    return sum(sum("ERROR" in line for line in emu.record(a)["logs"]) for a in emu.ids())


def cold_grep(ctx, label, options):
    """grep -r ERROR on a fresh mount: -> (wall s, CompletedProcess, classified requests,
    429s). grep's exit 2 (an error) is measured, not raised: it is what the rows check."""
    with fresh_mount(ctx, label, options) as mount:
        wall, result = run(GREP, ctx.env, action_dir(mount), ok=(0, 1, 2))
        requests = ctx.emulator.settle()
    return wall, result, classify(requests), sum(r["status"] == 429 for r in requests)


def sched_rate(ctx, n, order):
    ctx.emulator = sched_emulator(ctx, "rate", n, ctx.latency_ms, order,
                                  ("--rate", str(SCHED_RATE)))
    try:
        want = expected_error_lines(ctx.emulator)
        wall, result, counts, throttled = cold_grep(ctx, f"rate-{order}",
                                                    NCFFS_EXTRA_OPTIONS)
    finally:
        ctx.emulator.stop()
        ctx.emulator = None
    return row(f"sched: grep -r, gateway at {SCHED_RATE}/s", n, wall, counts, order=order,
               part="sched", throttled=throttled, grep_exit=result.returncode,
               grep_stderr=result.stderr.decode(errors="replace").strip()[:300],
               hits=grep_hits(result.stdout)[1], want_hits=want)


def sched_latency(ctx, n, order):
    ctx.emulator = sched_emulator(ctx, "latency", n, SCHED_LATENCY_MS, order)
    rows = []
    try:
        for name, options in (("adaptive", NCFFS_EXTRA_OPTIONS),
                              ("fixed 16", f"{NCFFS_EXTRA_OPTIONS},{SCHED_FIXED}")):
            wall, result, counts, _ = cold_grep(ctx, f"latency-{name}-{order}".replace(" ", ""),
                                                options)
            rows.append(row(f"sched: grep -r, {SCHED_LATENCY_MS} ms, limit {name}", n, wall,
                            counts, order=order, part="sched", grep_exit=result.returncode))
    finally:
        ctx.emulator.stop()
        ctx.emulator = None
    return rows


def timed_cat(ctx, mount):
    wall, result = run(["cat", mount.path.joinpath(*SCHED_OTHER)], ctx.env)
    return wall


def readahead_running(mount):
    """Wait SCHED_BUSY_START_S, then until readahead requests wait or run (at most 10 s
    more); -> the /.ncffs-stats text that showed them."""
    time.sleep(SCHED_BUSY_START_S)
    deadline = time.monotonic() + 10
    while True:
        stats = (mount.path / ".ncffs-stats").read_text()
        queued = re.search(r"sched_queued_readahead (\d+)", stats)
        inflight = re.search(r"sched_in_flight (\d+)", stats)
        if (queued and int(queued.group(1))) or (inflight and int(inflight.group(1))) \
                or time.monotonic() > deadline:
            return stats
        time.sleep(0.05)


def sched_busy(ctx, order):
    ctx.emulator = sched_emulator(ctx, "busy", SCHED_BUSY_N, ctx.latency_ms, order)
    try:
        with fresh_mount(ctx, f"idle-{order}") as mount:
            idle = timed_cat(ctx, mount)
        with fresh_mount(ctx, f"busy-{order}") as mount:
            grep = subprocess.Popen([str(a) for a in GREP], cwd=action_dir(mount), env=ctx.env,
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
            try:
                stats = readahead_running(mount)
                busy = timed_cat(ctx, mount)
            finally:
                grep.kill()
                grep.wait()
    finally:
        ctx.emulator.stop()
        ctx.emulator = None
    queued = re.search(r"sched_queued_readahead (\d+)", stats)
    inflight = re.search(r"sched_in_flight (\d+)", stats)
    return [row("sched: cat latest/status of another action, idle", SCHED_BUSY_N, idle,
                order=order, part="sched"),
            row("sched: the same cat during a readahead", SCHED_BUSY_N, busy, order=order,
                part="sched", note=f"readahead queued {queued.group(1) if queued else '?'}, "
                                   f"in flight {inflight.group(1) if inflight else '?'}")]


def bench_sched(ctx, n, order):
    log(f"== scheduler, N={n}, {order}")
    rows = [sched_rate(ctx, n, order)]
    rows.extend(sched_latency(ctx, n, order))
    rows.extend(sched_busy(ctx, order))
    return rows


def sched_lines(rows):
    """-> [(ok, text)] for the scheduler's targets, per order."""
    lines = []
    for order in dict.fromkeys(r["order"] for r in rows):
        mine = [r for r in rows if r["order"] == order]
        get = lambda prefix: next(r for r in mine if r["scenario"].startswith(prefix))  # noqa
        rate = get("sched: grep -r, gateway")
        bound = SCHED_RATE_SLACK * rate["api_calls"] / SCHED_RATE
        lines.append((rate["wall_s"] <= bound,
                      f"{order}: grep at {SCHED_RATE}/s within {SCHED_RATE_SLACK} x requests/"
                      f"{SCHED_RATE}: {rate['wall_s']:.1f} s vs {bound:.1f} s "
                      f"({rate['api_calls']} requests)"))
        share = rate["throttled"] / max(1, rate["api_calls"])
        lines.append((share < SCHED_429_SHARE,
                      f"{order}: 429s < {SCHED_429_SHARE:.0%} of requests: {rate['throttled']} "
                      f"({share:.1%})"))
        lines.append((rate["grep_exit"] in (0, 1) and not rate["grep_stderr"]
                      and rate["hits"] == rate["want_hits"],
                      f"{order}: grep saw no error and every ERROR line: exit "
                      f"{rate['grep_exit']}, {rate['hits']} of {rate['want_hits']} lines"
                      f"{', stderr: ' + rate['grep_stderr'] if rate['grep_stderr'] else ''}"))
        adaptive = get(f"sched: grep -r, {SCHED_LATENCY_MS} ms, limit adaptive")
        fixed = get(f"sched: grep -r, {SCHED_LATENCY_MS} ms, limit fixed")
        over = adaptive["wall_s"] / fixed["wall_s"]
        lines.append((over <= SCHED_ADAPTIVE_OVER_FIXED,
                      f"{order}: adaptive <= {SCHED_ADAPTIVE_OVER_FIXED} x fixed 16 at "
                      f"{SCHED_LATENCY_MS} ms: {over:.2f} ({adaptive['wall_s']:.2f} s vs "
                      f"{fixed['wall_s']:.2f} s)"))
        idle = get("sched: cat latest/status of another action, idle")
        busy = get("sched: the same cat during")
        over = busy["wall_s"] / idle["wall_s"]
        lines.append((over <= SCHED_BUSY_OVER_IDLE,
                      f"{order}: cat during a readahead <= {SCHED_BUSY_OVER_IDLE:g} x idle: "
                      f"{over:.2f} ({busy['wall_s']:.3f} s vs {idle['wall_s']:.3f} s; "
                      f"{busy.get('note', '')})"))
    return lines


# --------------------------------------------------------------------------------------------
# Part 2: what a look costs at scale (issue 10). One emulator per list order; each look on a
# fresh mount, counted from the command's start to AFTER_S seconds after it returned.

class ScaleRun(NamedTuple):
    """What the looks of one emulator share, and what their checks compare against."""
    n: int
    order: str
    ids: list               # newest first
    day: str                # YYYY-MM-DD, local time: the day listed
    day_count: int          # activations of that day, per the API's own start/end filter
    present: frozenset      # SCALE paths (under the action directory) this ncffs has


def check_latest(out, sr, ctx):
    want = ctx.emulator.record(sr.ids[0])["response"]["status"]
    got = out.decode(errors="replace").strip()
    return None if got == want else f"latest/status says {got!r}, the newest record {want!r}"


def listed_ids(out):
    return ID_RE.findall(out.decode(errors="replace"))


def check_ls(out, sr, ctx):
    got = len(set(listed_ids(out)))
    return None if got == sr.n else f"ls activations/ showed {got} ids, expected {sr.n}"


def check_ls_l(out, sr, ctx):
    return None if b"activations.tsv" in out else "ls -l does not show activations.tsv"


def check_recent(out, sr, ctx):
    got, want = set(listed_ids(out)), set(sr.ids[:RECENT_DEFAULT])
    return None if got == want else \
        f"recent/ showed {len(got)} ids, {len(got & want)} of the newest {RECENT_DEFAULT}"


def check_day(out, sr, ctx):
    got = len(set(listed_ids(out)))
    return None if got == sr.day_count else \
        f"days/{sr.day}/ showed {got} ids, the API's start/end filter gives {sr.day_count}"


def check_day_grep(out, sr, ctx):
    return None if out.count(b"ERROR") else f"grep -R found no ERROR line in days/{sr.day}/"


def check_tsv(out, sr, ctx):
    words = out.split()
    lines = int(words[0]) if words and words[0].isdigit() else -1
    return None if lines in (sr.n, sr.n + 1) else \
        f"activations.tsv has {lines} lines, expected {sr.n} (+1 header)"


class Look(NamedTuple):
    key: str                # for --scale-scenarios
    label: str
    argv: tuple             # run in the action directory; {day} is ScaleRun.day
    needs: Optional[str]    # path under the action directory it needs, None: always there
    cache_mib: int          # ncffs -o cache_size
    check: Callable         # (stdout, ScaleRun, ctx) -> None or what looks wrong
    ok: tuple = (0,)        # accepted exit statuses


# `grep -R`, not the issue's `grep -r`: days/<day>/ holds symlinks, and grep -r follows a
# symlink only when it is named on the command line, so it would read no record at all.
SCALE_LOOKS = (
    Look("latest", "cat activations/latest/status", ("cat", "activations/latest/status"),
         None, SCALE_CACHE_MIB, check_latest),
    Look("ls", "ls activations/", ("ls", "activations/"), None, SCALE_CACHE_MIB, check_ls),
    Look("ls-l", "ls -l (the action directory)", ("ls", "-l"), None, SCALE_CACHE_MIB,
         check_ls_l),
    Look("recent", "ls recent/", ("ls", "recent/"), "recent", SCALE_CACHE_MIB, check_recent),
    Look("day", "ls days/<day>/", ("ls", "days/{day}/"), "days/{day}", SCALE_CACHE_MIB,
         check_day),
    Look("day-grep", "grep -R ERROR days/<day>/", ("grep", "-R", "ERROR", "days/{day}/"),
         "days/{day}", SCALE_CACHE_MIB, check_day_grep, (0, 1)),
    Look("tsv", "wc -l activations.tsv", ("wc", "-l", "activations.tsv"), None, TSV_CACHE_MIB,
         check_tsv),
)


def scale_day(now_s):
    """-> (the local date SCALE_DAY_AGE_DAYS before now_s as YYYY-MM-DD, its first second,
    the first second of the next day), in the time zone the mount runs in (TZ honoured)."""
    day = datetime.date.fromtimestamp(now_s) - datetime.timedelta(days=SCALE_DAY_AGE_DAYS)
    after = day + datetime.timedelta(days=1)
    first, stop = (int(time.mktime((d.year, d.month, d.day, 0, 0, 0, 0, 0, -1)))
                   for d in (day, after))
    return day.isoformat(), first, stop


def kst(epoch_s):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch_s + KST_OFFSET_S))


def day_count(ctx, first_s, stop_s):
    """totalCount of the action's list for [first_s, stop_s), asked with the API's own
    start/end (v2.0: Korea time, `end` covers its whole second). One signed request, made
    before any mount's log is reset."""
    api = baseline.Api(ctx.emulator.endpoint(), ACCESS_KEY, SECRET_KEY, "classic")
    try:
        content = api.get(f"/packages/{PACKAGE}/actions/{ACTION}/activations", pageSize=1,
                          start=kst(first_s), end=kst(stop_s - 1))
    except (baseline.ApiError, ValueError, KeyError) as err:
        raise BenchError(f"counting one day's activations: {err}") from err
    return int(content["totalCount"])


def probe(ctx, day):
    """-> the paths of SCALE_LOOKS' `needs` that this ncffs has (on a throw-away mount)."""
    wanted = {look.needs.format(day=day) for look in SCALE_LOOKS if look.needs}
    with fresh_mount(ctx, "probe") as mount:
        return frozenset(rel for rel in wanted if (action_dir(mount) / rel).is_dir())


def add_after(r, after, busy):
    counts = classify(after)
    r.update(after_s=AFTER_S, after_calls=counts["total"], after_list_calls=counts["list"],
             after_record_calls=counts["record"],
             after_other_calls=counts["total"] - counts["list"] - counts["record"],
             busy_after=int(busy))
    return counts


def measure_look(ctx, sr, look):
    """Run one look on a fresh mount; -> its row (with after_* counts and peak RSS)."""
    argv = [a.format(day=sr.day) for a in look.argv]
    with fresh_mount(ctx, f"{look.key}-{sr.order}",
                     f"cache_size={look.cache_mib},cache_dir=none", prewalk=True) as mount:
        wall, result = run(argv, ctx.env, action_dir(mount), ok=look.ok)
        returned_ms = time.time() * 1000
        time.sleep(AFTER_S)
        requests = ctx.emulator.requests()
        rss = mount.peak_rss_mib()
    end_ms = returned_ms + AFTER_S * 1000
    during = [r for r in requests if r["ts"] <= returned_ms]
    after = [r for r in requests if returned_ms < r["ts"] <= end_ms]
    busy = any(r["ts"] > end_ms - BUSY_TAIL_S * 1000 for r in after)
    counts = classify(during)
    r = row(look.label, sr.n, wall, counts, peak_rss_mib=rss)
    after_counts = add_after(r, after, busy)
    for c, when in ((counts, "while it ran"), (after_counts, f"in the {AFTER_S:g} s after")):
        ctx.check_status(c, f"scale {sr.order} {look.label} ({when})")
    problem = look.check(result.stdout, sr, ctx)
    if problem:
        ctx.warn(f"scale {sr.order}: {look.label}: {problem}")
    return r


def scale_row(ctx, sr, look):
    """measure_look, or a row saying why there is no figure: the path is not there yet, or
    the look failed to run (reported, and the other looks still run)."""
    r = {"part": "scale", "order": sr.order, "cache_size_mib": look.cache_mib}
    if "{day}" in " ".join(look.argv):
        r["day"] = sr.day
    needs = look.needs and look.needs.format(day=sr.day)
    if needs and needs not in sr.present:
        return dict(row(look.label, sr.n, None), **r, note=NOT_PRESENT)
    try:
        return dict(measure_look(ctx, sr, look), **r)
    except BenchError as err:
        ctx.warn(f"scale {sr.order}: {look.label}: {err}")
        return dict(row(look.label, sr.n, None), **r, note=f"failed: {str(err)[:200]}")


def bench_scale(ctx, n, order, looks):
    """Every look in looks against one emulator of n activations listed in order."""
    log(f"== scale N={n}, {order}: starting the emulator")
    workdir = ctx.work / f"emulator-scale-{order}"
    workdir.mkdir()
    extra = ("--spread-days", str(SCALE_SPREAD_DAYS), "--order", order)
    ctx.emulator = Emulator(workdir, n, ctx.latency_ms, ctx.nodelay, ctx.env, extra)
    try:
        ids = ctx.emulator.ids()
        if len(ids) != n:
            raise BenchError(f"emulator serves {len(ids)} bench activations, expected {n}")
        day, first_s, stop_s = scale_day(time.time())
        sr = ScaleRun(n, order, ids, day, day_count(ctx, first_s, stop_s), probe(ctx, day))
        rows = []
        for look in looks:
            log(f"   scale {order}: {look.label} ...")
            rows.append(scale_row(ctx, sr, look))
        if "Traceback" in ctx.emulator.stderr():
            ctx.warn(f"scale {order}: the emulator raised: {ctx.emulator.stderr()}")
        return rows
    finally:
        ctx.emulator.stop()
        ctx.emulator = None


# --------------------------------------------------------------------------------------------
# Part 3: the disk cache (issue 18). A first mount with a fresh cache_dir reads everything
# (and writes it to disk); a remount with the same cache_dir repeats the look, counted and
# timed; an API-cold run (cache_dir=none) of the same look in the same run is the yardstick.

DISK_GREP_N = 2000                  # --disk-grep default
DISK_LS_N = 20_000                  # --disk-ls default
DISK_RATIO_TARGET = 0.25            # remount grep at most this times the API-cold grep
DISK_RSS_SLACK = 1.10               # remount peak RSS within 10 % of the API-cold one
LS_COLOR = ("ls", "--color=always", "activations/")


def disk_stats(mount):
    text = (mount.path / ".ncffs-stats").read_text()
    return {k: int(v) for k, v in re.findall(r"^(disk_cache_\w+) (\d+)$", text, re.M)}


def du_kib(path):
    _, result = run(["du", "-sk", str(path)], None)
    return int(result.stdout.split()[0])


def timed_look(ctx, label, options, argv, ok=(0,)):
    """argv in the action directory of a fresh mount; -> (row fields, stdout, disk stats)."""
    with fresh_mount(ctx, label, options) as mount:
        wall, result = run(argv, ctx.env, action_dir(mount), ok=ok)
        counts = classify(ctx.emulator.settle())
        rss = mount.peak_rss_mib()
        stats = disk_stats(mount)
    ctx.check_status(counts, label)
    return wall, counts, rss, result.stdout, stats


def disk_rows(ctx, n, what, argv, ok, cache_dir):
    """The three runs of one look: API-cold, filling the disk, after a remount."""
    base = f"cache_size={GREP_CACHE_MIB}"
    rows, outputs = [], []
    runs = ((f"{what} (API-cold, cache_dir=none)", "none"),
            (f"{what} (first mount, filling the disk cache)", cache_dir),
            (f"{what} (after a remount, disk cache filled)", cache_dir))
    for i, (label, folder) in enumerate(runs):
        log(f"   disk N={n}: {label} ...")
        wall, counts, rss, stdout, st = timed_look(ctx, f"disk-{n}-{i}",
                                                    f"{base},cache_dir={folder}", argv, ok)
        outputs.append(stdout)
        rows.append(row(label, n, wall, counts, peak_rss_mib=rss, part="disk",
                        disk_hits=st.get("disk_cache_hits"),
                        disk_writes=st.get("disk_cache_writes"),
                        disk_bytes=st.get("disk_cache_bytes"),
                        disk_du_kib=du_kib(cache_dir) if folder != "none" else None))
    if len(set(outputs)) != 1:
        ctx.warn(f"disk N={n}: {what}: the three runs printed different output")
    return rows


def bench_disk(ctx, n, looks):
    """looks: (what, argv, ok) to run three times each against one emulator of n."""
    log(f"== disk N={n}: starting the emulator")
    workdir = ctx.work / f"emulator-disk-{n}"
    workdir.mkdir()
    ctx.emulator = Emulator(workdir, n, ctx.latency_ms, ctx.nodelay, ctx.env)
    rows = []
    try:
        for i, (what, argv, ok) in enumerate(looks):
            cache_dir = ctx.work / f"disk-cache-{n}-{i}"
            cache_dir.mkdir(mode=0o700)
            rows.extend(disk_rows(ctx, n, what, argv, ok, cache_dir))
        return rows
    finally:
        ctx.emulator.stop()
        ctx.emulator = None


def print_disk(rows):
    if not rows:
        return
    print("\nThe disk cache: API-cold (cache_dir=none), the first mount that fills the disk "
          "cache, and a remount served from it")
    width = max(len(r["scenario"]) for r in rows)
    print(f"{'scenario':<{width}} | {'N':>6} | {'wall s':>8} | {'list':>5} | {'records':>7} |"
          f" {'RSS MiB':>7} | {'disk hits':>9} | {'disk MiB':>8} | {'du MiB':>7}")
    for r in rows:
        mib = "-" if not r.get("disk_bytes") else f"{r['disk_bytes'] / MIB:.1f}"
        du = "-" if r.get("disk_du_kib") is None else f"{r['disk_du_kib'] / 1024:.1f}"
        print(f"{r['scenario']:<{width}} | {r['n']:>6} | {fmt_wall(r['wall_s']):>8} | "
              f"{r['list_calls']:>5} | {r['record_calls']:>7} | {r['peak_rss_mib']:>7.1f} | "
              f"{r.get('disk_hits') or 0:>9} | {mib:>8} | {du:>7}")


def disk_targets(rows):
    lines = []
    for i in range(0, len(rows), 3):
        cold, _, warm = rows[i:i + 3]
        what = f"N={cold['n']}: {cold['scenario'].split(' (')[0]} after a remount"
        lines.append((warm["record_calls"] == 0,
                      f"{what}: 0 record requests: {warm['record_calls']} "
                      f"({warm['list_calls']} list pages)"))
        if cold["scenario"].startswith("grep"):
            r = ratio(warm["wall_s"], cold["wall_s"])
            lines.append((r is not None and r <= DISK_RATIO_TARGET,
                          f"{what}: <= {DISK_RATIO_TARGET:g}x the API-cold run: {fmt_ratio(r)}x"
                          f" ({warm['wall_s']:.3f} s vs {cold['wall_s']:.3f} s)"))
        lines.append((warm["peak_rss_mib"] <= cold["peak_rss_mib"] * DISK_RSS_SLACK,
                      f"{what}: peak RSS within 10 % of the API-cold run: "
                      f"{warm['peak_rss_mib']:.1f} vs {cold['peak_rss_mib']:.1f} MiB"))
    return lines


# --------------------------------------------------------------------------------------------
# Report.

def find(rows, n, prefix):
    for r in rows:
        if r["n"] == n and r["scenario"].startswith(prefix):
            return r
    return None


def fmt_wall(value):
    return "-" if value is None else f"{value:.3f}"


def print_table(rows):
    width = max(len(r["scenario"]) for r in rows if r["wall_s"] is not None)
    print(f"{'scenario':<{width}} | {'N':>5} | {'wall s':>8} | {'API calls':>9}")
    print(f"{'-' * width}-+-{'-' * 5}-+-{'-' * 8}-+-{'-' * 9}")
    for r in rows:
        if r["wall_s"] is None:
            continue            # the RSS row: reported with the ratios, kept in the CSV
        calls = r.get("api_calls")
        print(f"{r['scenario']:<{width}} | {r['n']:>5} | {fmt_wall(r['wall_s']):>8} | "
              f"{'-' if calls is None else calls:>9}")


def ideal_calls(n):
    return math.ceil(n / PAGE_CAP) + n


def ratio(a, b):
    return None if a is None or b is None or b == 0 else a / b


def fmt_ratio(value):
    return "n/a" if value is None else f"{value:.3f}"


def print_ratios(rows, sizes):
    print()
    for n in sizes:
        cold, warm = find(rows, n, "grep -r ERROR (cold)"), find(rows, n, "grep -r ERROR (warm")
        a, b = find(rows, n, "baseline A"), find(rows, n, "baseline B")
        limit, rss = find(rows, n, "limit:"), find(rows, n, "ncffs peak RSS")
        own = cold["list_calls"] + cold["record_calls"] + cold["other_calls"]
        print(f"N={n}: cold/baseline-A {fmt_ratio(ratio(cold['wall_s'], a['wall_s']))}"
              f"  cold/baseline-B {fmt_ratio(ratio(cold['wall_s'], b['wall_s']))}"
              f"  warm/limit {fmt_ratio(ratio(warm['wall_s'], limit['wall_s']))}"
              f"  calls/ideal {fmt_ratio(ratio(own, ideal_calls(n)))}"
              f" (ideal {ideal_calls(n)} = {math.ceil(n / PAGE_CAP)} list pages + {n} records;"
              f" plus {cold['packages_calls'] + cold['actions_calls']} parent listings)"
              f"  ncffs peak RSS {rss['peak_rss_mib']:.1f} MiB")
        walkers = [(key, find(rows, n, label)) for key, label, _ in WALKERS]
        print(f"N={n}: over the cold grep: " + "  ".join(
            f"{key} {fmt_ratio(ratio(r['wall_s'], cold['wall_s']))}"
            for key, r in walkers if r is not None))


def fmt_count(value):
    return "-" if value is None else str(value)


def print_scale_table(rows, latency_ms):
    """One line per look and order: wall time, requests while it ran, requests after it."""
    if not rows:
        return
    print(f"\nN={rows[0]['n']} spread over {SCALE_SPREAD_DAYS} days, {latency_ms} ms latency; "
          f"requests while the command ran, then in the {AFTER_S:g} s after it returned "
          f"(\"busy\": still arriving at the end); other = anything but list pages and records")
    width = max(len(r["scenario"]) for r in rows)
    head = (f"{'scenario':<{width}} | {'order':<12} | {'wall s':>8} | {'list':>5} | "
            f"{'records':>7} | {'other':>5} | {'after: list':>11} | {'records':>7} | "
            f"{'other':>5} | {'':4} | {'RSS MiB':>7}")
    print(head)
    print(re.sub(r"[^|]", "-", head).replace("|", "+"))
    for r in rows:
        lead = f"{r['scenario']:<{width}} | {r['order']:<12} | "
        if r["wall_s"] is None:
            print(lead + r.get("note", ""))
            continue
        other = r["packages_calls"] + r["actions_calls"] + r["other_calls"]
        print(lead + f"{fmt_wall(r['wall_s']):>8} | {r['list_calls']:>5} | "
              f"{r['record_calls']:>7} | {other:>5} | {r['after_list_calls']:>11} | "
              f"{r['after_record_calls']:>7} | {r['after_other_calls']:>5} | "
              f"{'busy' if r['busy_after'] else '':4} | {r['peak_rss_mib']:>7.1f}")


def verdict(ok):
    return "PASS" if ok else "MISS"


def target_lines(rows, sizes):
    """-> [(ok or None, text)] for every target and N (None: not measured here)."""
    lines = []
    for n in sizes:
        cold, warm = find(rows, n, "grep -r ERROR (cold)"), find(rows, n, "grep -r ERROR (warm")
        a, b = find(rows, n, "baseline A"), find(rows, n, "baseline B")
        limit, cats = find(rows, n, "limit:"), find(rows, n, f"{READERS} concurrent")
        pages = math.ceil(n / PAGE_CAP)
        exact = cold["list_calls"] == pages and cold["record_calls"] == n and \
            cold["other_calls"] == 0
        lines.append((exact, f"N={n}: cold grep calls == ideal {ideal_calls(n)}: "
                             f"{cold['list_calls']} list pages + {cold['record_calls']} records"
                             f" + {cold['other_calls']} other; parent listings needed to reach "
                             f"the directory, counted apart: {cold['packages_calls']} /packages"
                             f" + {cold['actions_calls']} /actions"))
        lines.append((warm["api_calls"] == 0, f"N={n}: warm grep calls == 0: "
                                              f"{warm['api_calls']} (over {REPEATS} runs)"))
        lines.append((cats["api_calls"] == 1,
                      f"N={n}: {READERS} concurrent readers == 1 call: {cats['api_calls']} GET(s)"
                      f" of the record ({cats['all_calls']} API calls in all)"))
        speedup = ratio(a["wall_s"], cold["wall_s"])
        lines.append((speedup is not None and speedup >= SPEEDUP_VS_A,
                      f"N={n}: cold grep >= {SPEEDUP_VS_A:g}x faster than baseline A: "
                      f"{fmt_ratio(speedup)}x ({cold['wall_s']:.3f} s vs {a['wall_s']:.3f} s)"))
        lines.append((cold["wall_s"] <= b["wall_s"],
                      f"N={n}: cold grep <= baseline B: {cold['wall_s']:.3f} s vs "
                      f"{b['wall_s']:.3f} s"))
        for key, label, _ in WALKERS:
            r = find(rows, n, label)
            if r is None:
                lines.append((None, f"N={n}: {label} <= {WALKER_OVER_GREP:g}x cold grep: "
                                    f"not measured"))
                continue
            over_grep = ratio(r["wall_s"], cold["wall_s"])
            lines.append((over_grep is not None and over_grep <= WALKER_OVER_GREP,
                          f"N={n}: {label} <= {WALKER_OVER_GREP:g}x cold grep: "
                          f"{fmt_ratio(over_grep)}x ({r['wall_s']:.3f} s vs "
                          f"{cold['wall_s']:.3f} s; {r['record_calls']} records)"))
        cats = find(rows, n, "ls, then cat of")
        lines.append((cats["record_calls"] <= RANDOM_CATS + FIRST_WINDOW,
                      f"N={n}: ls and {RANDOM_CATS} random cats <= {RANDOM_CATS} + "
                      f"{FIRST_WINDOW} records: {cats['record_calls']}"))
        over = ratio(warm["wall_s"], limit["wall_s"])
        lines.append((over is not None and over <= WARM_OVER_LIMIT,
                      f"N={n}: warm <= {WARM_OVER_LIMIT:g}x limit: {fmt_ratio(over)}x "
                      f"({warm['wall_s']:.4f} s vs {limit['wall_s']:.4f} s)"))
    rss = find(rows, RSS_TARGET_N, "ncffs peak RSS")
    if rss is None:
        lines.append((None, f"N={RSS_TARGET_N}: peak RSS < {RSS_LIMIT_MIB:g} MiB: not measured"
                            f" (N={RSS_TARGET_N} not in --grep-sizes)"))
    else:
        lines.append((rss["peak_rss_mib"] < RSS_LIMIT_MIB,
                      f"N={RSS_TARGET_N}: peak RSS < {RSS_LIMIT_MIB:g} MiB: "
                      f"{rss['peak_rss_mib']:.1f} MiB"))
    return lines


# The first 14 columns are the grep part's since before the scale part; new ones go last.
CSV_FIELDS = ("scenario", "n", "wall_s", "api_calls", "list_calls", "record_calls",
              "packages_calls", "actions_calls", "other_calls", "all_calls", "peak_rss_mib",
              "repeats", "latency_ms", "tcp_nodelay", "part", "order", "cache_size_mib",
              "day", "after_s", "after_calls", "after_list_calls", "after_record_calls",
              "after_other_calls", "busy_after", "note", "disk_hits", "disk_writes",
              "disk_bytes", "disk_du_kib", "throttled", "grep_exit", "hits", "want_hits")
GREP_ROW_DEFAULTS = {"part": "grep", "order": ORDERS[0], "cache_size_mib": GREP_CACHE_MIB}


def write_csv(path, rows, latency_ms, nodelay):
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=CSV_FIELDS, extrasaction="ignore")
        writer.writeheader()
        for r in rows:
            writer.writerow(dict(GREP_ROW_DEFAULTS, **r, latency_ms=latency_ms,
                                 tcp_nodelay=int(nodelay)))


SCHED_PLOT_ORDER = "newest-first"    # the scheduler's rows the plot shows (one per N)


def sched_points(rows):
    """-> {N: {series: seconds}} of the scheduler's grep scenarios (plot.SERIES keys rate,
    rate_bound, slow, slow16), from the rows of SCHED_PLOT_ORDER, else of the first order run."""
    sched = [r for r in rows if r.get("part") == "sched"]
    orders = [r["order"] for r in sched]
    order = SCHED_PLOT_ORDER if SCHED_PLOT_ORDER in orders else (orders or [None])[0]
    points = {}
    for r in (r for r in sched if r["order"] == order):
        if r["scenario"].startswith("sched: grep -r, gateway"):
            values = {"rate": r["wall_s"],
                      "rate_bound": SCHED_RATE_SLACK * r["api_calls"] / SCHED_RATE}
        elif r["scenario"].endswith("limit adaptive"):
            values = {"slow": r["wall_s"]}
        elif r["scenario"].endswith("limit fixed 16"):
            values = {"slow16": r["wall_s"]}
        else:
            continue        # the cat beside a readahead is no grep over N
        points.setdefault(r["n"], {}).update(values)
    return points


def grep_points(rows, sizes):
    """-> {N: {series: cold grep seconds}} for plot.write_svg: the grep comparison at each N
    of sizes, and the scheduler's scenarios at the N they ran at."""
    series = (("ncffs", "grep -r ERROR (cold)"), ("A", "baseline A"), ("B", "baseline B"),
              ("rg", WALKERS[0][1]), ("fd", WALKERS[2][1]))
    points = {n: {name: (find(rows, n, prefix) or {}).get("wall_s") for name, prefix in series}
              for n in sizes}
    for n, values in sched_points(rows).items():
        points.setdefault(n, {}).update(values)
    return points


def write_plot(ctx, args, rows):
    """The SVG of cold grep time against N; --publish copies it next to this file."""
    if not args.grep_sizes:
        return None
    title = (f"cold grep -r, rg, fdfind over N activations, {args.latency_ms} ms latency"
             f"{', TCP_NODELAY' if args.tcp_nodelay else ''}"
             f"{'; scheduler at N=' + format(args.sched, ',') if args.sched else ''}")
    try:
        svg = plot.write_svg(args.out / "grep_vs_n", grep_points(rows, args.grep_sizes), title)
    except plot.PlotError as err:
        ctx.warn(f"no plot: {err}")
        return None
    if args.publish:
        shutil.copyfile(svg, PUBLISHED_SVG)
        return f"{svg} (published to {PUBLISHED_SVG})"
    return str(svg)


def write_png(path, rows, sizes):
    """A bar chart of the wall times per scenario and N, if matplotlib is there; -> bool."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except Exception:
        return False
    timed = [r for r in rows if r["wall_s"] is not None]
    scenarios = list(dict.fromkeys(r["scenario"] for r in timed))
    fig, ax = plt.subplots(figsize=(10, 5))
    width = 0.8 / len(sizes)
    for i, n in enumerate(sizes):
        values = [(find(timed, n, s) or {}).get("wall_s") or 0 for s in scenarios]
        ax.bar([x + i * width for x in range(len(scenarios))], values, width, label=f"N={n}")
    ax.set_xticks([x + width * (len(sizes) - 1) / 2 for x in range(len(scenarios))])
    ax.set_xticklabels(scenarios, rotation=30, ha="right", fontsize=8)
    ax.set_yscale("log")
    ax.set_ylabel("wall time, s (log)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True


# --------------------------------------------------------------------------------------------
# Command line.

class Context:
    """What every scenario needs: paths, environment, the current emulator, warnings."""

    def __init__(self, args, work):
        self.ncffs = args.ncffs
        self.latency_ms = args.latency_ms
        self.nodelay = args.tcp_nodelay
        self.work = work
        home = work / "home"
        home.mkdir()
        self.env = child_env(home)
        self.emulator = None
        self.log_hits = {}      # N -> ERROR lines grep found in logs.txt files (cold)
        self.grep_files = {}    # N -> the files the cold grep matched in (bytes paths)
        self.warnings = []

    def warn(self, text):
        self.warnings.append(text)
        log(f"WARN {text}")

    def check_status(self, counts, what):
        if counts["non200"]:
            self.warn(f"{what}: {counts['non200']} API answers were not 200")


def sizes_arg(text):
    if text.strip().lower() == "none":
        return []
    try:
        sizes = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError("a comma-separated list of counts, e.g. 200,2000")
    if not sizes or any(s < 1 for s in sizes):
        raise argparse.ArgumentTypeError("counts must be positive")
    return list(dict.fromkeys(sizes))


def orders_arg(text):
    if text == "both":
        return list(ORDERS)
    if text not in ORDERS:
        raise argparse.ArgumentTypeError(f"one of {', '.join(ORDERS)}, both")
    return [text]


def looks_arg(text):
    keys = [k.strip() for k in text.split(",") if k.strip()]
    known = {look.key: look for look in SCALE_LOOKS}
    unknown = [k for k in keys if k not in known]
    if unknown or not keys:
        raise argparse.ArgumentTypeError(f"comma-separated, from {','.join(known)}")
    return [look for look in SCALE_LOOKS if look.key in keys]


def parse_args(argv):
    p = argparse.ArgumentParser(
        description="Benchmark ncffs against the API emulator: the grep comparison for each "
                    "N in --grep-sizes, then the scale looks at N = --scale (README.md).")
    p.add_argument("--grep-sizes", "--sizes", dest="grep_sizes", type=sizes_arg,
                   default=[200, 2000], metavar="N,N",
                   help="activation counts for the grep comparison (default 200,2000; 'none' "
                        "skips it). 20000 works; its baseline A alone takes ~7 min")
    p.add_argument("--scale", type=int, default=SCALE_N, metavar="N",
                   help=f"activations of the scale part (default {SCALE_N}, spread over "
                        f"{SCALE_SPREAD_DAYS} days; 0 skips it)")
    p.add_argument("--order", type=orders_arg, default=list(ORDERS),
                   metavar="newest-first|oldest-first|both",
                   help="list order(s) of the scale part's emulator (default both)")
    p.add_argument("--scale-scenarios", type=looks_arg, default=list(SCALE_LOOKS),
                   metavar="KEY,KEY", help="scale looks to run (default all: "
                   f"{','.join(look.key for look in SCALE_LOOKS)})")
    p.add_argument("--disk-grep", type=int, default=DISK_GREP_N, metavar="N",
                   help=f"the disk cache: grep -r over N after a remount (default "
                        f"{DISK_GREP_N}; 0 skips it)")
    p.add_argument("--disk-ls", type=int, default=DISK_LS_N, metavar="N",
                   help=f"the disk cache: ls --color=always activations/ of N after a remount "
                        f"(default {DISK_LS_N}; 0 skips it)")
    p.add_argument("--only-disk", action="store_true",
                   help="run only the disk cache part (--grep-sizes none --scale 0 --fleet 0 "
                        "--sched 0)")
    p.add_argument("--fleet", type=int, default=fleet.FLEET_N, metavar="N",
                   help=f"records of the fleet part: {fleet.FLEET_HOSTS} mounts and one Redis "
                        f"(default {fleet.FLEET_N}; 0 skips it)")
    p.add_argument("--fleet-hosts", type=int, default=fleet.FLEET_HOSTS, metavar="H",
                   help=f"mounts of the fleet part (default {fleet.FLEET_HOSTS})")
    p.add_argument("--sched", type=int, default=SCHED_N, metavar="N",
                   help=f"records of the scheduler part (default {SCHED_N}; 0 skips it)")
    p.add_argument("--quick", action="store_true",
                   help="--grep-sizes 200 --scale 0 --fleet 200 --sched 0 (for development)")
    p.add_argument("--latency-ms", type=int, default=20, help="emulator latency per request")
    p.add_argument("--out", type=Path, default=HERE / "out",
                   help="where bench.csv and grep_vs_n.svg go")
    p.add_argument("--publish", action="store_true",
                   help=f"also copy the SVG to {PUBLISHED_SVG.relative_to(REPO)}")
    p.add_argument("--ncffs", type=Path, default=DEFAULT_NCFFS, help="the ncffs binary")
    p.add_argument("--tcp-nodelay", action="store_true",
                   help="run the emulator with TCP_NODELAY (see nodelay_emulator.py)")
    args = p.parse_args(argv)
    if args.quick:
        args.grep_sizes, args.scale, args.disk_grep, args.disk_ls = [200], 0, 0, 0
        args.fleet, args.sched = 200, 0
    if args.only_disk:
        args.grep_sizes, args.scale, args.fleet, args.sched = [], 0, 0, 0
    if args.disk_grep < 0 or args.disk_ls < 0:
        p.error("--disk-grep and --disk-ls must be >= 0")
    if args.fleet < 0 or args.fleet_hosts < 1:
        p.error("--fleet must be >= 0 and --fleet-hosts >= 1")
    if args.latency_ms < 0:
        p.error("--latency-ms must be >= 0")
    if args.scale < 0:
        p.error("--scale must be >= 0")
    if args.publish and not args.grep_sizes:
        p.error("--publish plots the grep comparison: give --grep-sizes")
    if not (args.grep_sizes or args.scale or args.disk_grep or args.disk_ls or args.fleet
            or args.sched):
        p.error("nothing to run: --grep-sizes none, --scale 0, no disk part, --fleet 0 "
                "and --sched 0")
    return args


def preflight(args):
    if not os.access(args.ncffs, os.X_OK):
        raise BenchError(f"no executable ncffs at {args.ncffs} (run make first)")
    for tool in ("fusermount3", "grep", "ls", "cat", "cp", "sh", "wc"):
        if shutil.which(tool) is None:
            raise BenchError(f"{tool} is needed")
    if args.publish and shutil.which(plot.GNUPLOT) is None:
        raise BenchError(f"--publish needs {plot.GNUPLOT} (Debian: gnuplot-nox; make deps)")
    if not SHM.is_dir():
        raise BenchError(f"{SHM} (tmpfs) is needed for the limit row")


def snapshot(ncffs, work):
    """Measure a private copy: a rebuild of ./ncffs during the run must not change the
    binary under test half-way. -> the copy's path (its digest goes in the report)."""
    copy = work / "ncffs"
    shutil.copy2(ncffs, copy)
    return copy


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()[:12]


def report(ctx, args, rows, scale_rows, disk=(), fleet_rows=(), sched_rows=()):
    built = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(args.ncffs.stat().st_mtime))
    print(f"\nncffs {digest(args.ncffs)} (built {built}); emulator latency {args.latency_ms} ms"
          f"{', TCP_NODELAY' if args.tcp_nodelay else ''}, page size {PAGE_CAP}, "
          f"ncffs -o {NCFFS_EXTRA_OPTIONS} (activations.tsv at scale: cache_size="
          f"{TSV_CACHE_MIB})")
    if rows:
        print()
        print_table(rows)
        print_ratios(rows, args.grep_sizes)
        print()
        for ok, text in target_lines(rows, args.grep_sizes):
            print(f"{'SKIP' if ok is None else verdict(ok)}  {text}")
    print_scale_table(scale_rows, args.latency_ms)
    print_disk(disk)
    if disk:
        print()
        for ok, text in disk_targets(disk):
            print(f"{verdict(ok)}  {text}")
    if sched_rows:
        print()
        print_table(list(sched_rows))
        print()
        for ok, text in sched_lines(sched_rows):
            print(f"{verdict(ok)}  {text}")
    args.out.mkdir(parents=True, exist_ok=True)
    if fleet_rows:
        print()
        print_table(list(fleet_rows))
    write_csv(args.out / "bench.csv",
              rows + scale_rows + list(disk) + list(fleet_rows) + list(sched_rows),
              args.latency_ms, args.tcp_nodelay)
    wrote = [str(args.out / "bench.csv")]
    svg = write_plot(ctx, args, rows + list(sched_rows))  # may warn: print them after it
    if svg:
        wrote.append(svg)
    if rows and args.grep_sizes and write_png(args.out / "bench.png", rows, args.grep_sizes):
        wrote.append(str(args.out / "bench.png"))
    print()
    for text in ctx.warnings:
        print(f"WARN  {text}")
    print(f"\nwrote {', '.join(wrote)}")


def main(argv=None):
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, on_sigterm)
    signal.signal(signal.SIGINT, signal.default_int_handler)    # even if started ignoring it
    work = Path(tempfile.mkdtemp(prefix="ncffs-bench-"))
    try:
        preflight(args)
        args.ncffs = snapshot(args.ncffs, work)
        ctx = Context(args, work)
        rows, scale_rows = [], []
        for n in args.grep_sizes:
            rows.extend(bench_size(ctx, n))
        for order in args.order if args.scale else ():
            scale_rows.extend(bench_scale(ctx, args.scale, order, args.scale_scenarios))
        disk = []
        if args.disk_grep:
            disk.extend(bench_disk(ctx, args.disk_grep, [("grep -r ERROR", GREP, (0, 1))]))
        if args.disk_ls:
            disk.extend(bench_disk(ctx, args.disk_ls, [(" ".join(LS_COLOR), LS_COLOR, (0,))]))
        fleet_rows, fleet_lines = fleet.bench_fleet(ctx, sys.modules[__name__], args.fleet,
                                                    args.fleet_hosts) \
            if args.fleet else ([], [])
        sched_rows = []
        for order in args.order if args.sched else ():
            sched_rows.extend(bench_sched(ctx, args.sched, order))
        report(ctx, args, rows, scale_rows, disk, fleet_rows, sched_rows)
        for ok, text in fleet_lines:
            print(f"{verdict(ok)}  {text}")
        return 0
    except BenchError as err:
        log(f"bench: error: {err}")
        return 1
    except KeyboardInterrupt:
        log("bench: interrupted")
        return 130
    finally:
        with uninterrupted():
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
