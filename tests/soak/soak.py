#!/usr/bin/python3
"""soak.py - ncffs under a flaky API for a while: do wrong bytes, leaks or hangs appear?

Scope: start the emulator (test data set plus a bench series) on loopback, mount ncffs in the
foreground with a short list_ttl and small timeouts, compute what every file must hold from
the emulator's admin API, then let READERS processes read, list and stat at random for
SECONDS while about 10% of API requests fail (a mix of HTTP 503 and connections reset
mid-body) and the cache is dropped with SIGHUP now and then. Every operation must either
give exactly the right bytes (text files byte for byte, JSON files as the same document and
the same bytes every time) or fail with an errno; none may hang. At the end the daemon's
open file descriptors must show no leak (counted by kind: files must not grow, connections
stay within ncffs's pool, libcurl's socket pairs within its handle pool; see fd_problems)
and its VmRSS must be within cache_size plus a constant of where it started; it must
unmount and exit 0 with no sanitizer report. Prints a JSON report; exit status 0 when
everything held, 1 otherwise.

Left out on purpose: building ncffs, and pytest (tests/soak/test_soak.py wraps this).
Standard library only; Debian 12's /usr/bin/python3; loopback only; every loop is bounded
by a count and a deadline.

Usage: soak.py [--seconds 60] [--readers 10] [--ncffs ./ncffs] [--fault-rate 0.10]
               [--cache-size 4] [--bench 1000] [--workdir DIR] [--keep]
"""

import argparse
import base64
import errno
import hashlib
import hmac
import http.client
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
EMULATOR_PY = REPO / "tests" / "emulator" / "ncf_emulator.py"
PYTHON = "/usr/bin/python3"
HOST = "127.0.0.1"
ACCESS_KEY, SECRET_KEY = "soak-access-key", "soak-secret-key"

# ---- named limits -----------------------------------------------------------------------
START_TIMEOUT_S = 30            # emulator port file, mount visible
TIMEOUT_S, RETRIES = 2, 1       # ncffs -o timeout, retries
LIST_TTL_S, NEG_TTL_S = 1, 1
OP_HANG_S = 60                  # an operation running this long is a hang
OP_SLOW_S = 20                  # ... this long is reported as slow
READER_GRACE_S = OP_HANG_S + 10  # readers must be done this long after the deadline
SIGHUP_EVERY_S = 7              # drop ncffs's cache this often
SAMPLE_EVERY_S = 1.0            # fd/RSS sampling period
SETTLE_S = 3                    # idle time before the final fd/RSS sample
FD_SLACK = 8                    # connections beyond the pool, transiently
CONNECTIONS_KEPT = 64           # client.c: idle API connections ncffs keeps
# Most easy handles ever busy at once: FUSE threads (max_threads 10) each building an
# activations.tsv (16 record fetches) or a listing (8 pages), plus 16 prefetch workers.
MAX_HANDLES = 10 * 16 + 16
RSS_SLACK_MB = 48               # VmRSS may exceed start + cache_size by this (plain build)
RSS_SLACK_SAN_MB = 192          # ... and by this under ASan (shadow memory, allocator caches)
MAX_OPS_PER_READER = 2_000_000  # a count bound on top of the deadline
EXIT_TIMEOUT_S = 20
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "runtime error:", "LeakSanitizer",
                     "ERROR: ThreadSanitizer", "SUMMARY: UndefinedBehaviorSanitizer")

# (package or None for triggers, action or trigger) whose activations the readers visit.
SERIES = [("demo", "hello"), ("demo", "resize-image"), ("billing", "invoice"),
          ("-", "standalone"), ("paging", "many"), ("logs", "long"), ("logs", "empty"),
          ("hostile", "ok"), ("bench", "load"), (None, "tick"), (None, "on-upload")]
RECORD_FILES = ("status", "duration", "logs.txt", "result.json", "activation.json",
                "cold_start")


# ---- the emulator -------------------------------------------------------------------------

class Emulator:
    def __init__(self, workdir, bench):
        self.dir = Path(workdir)
        port_file = self.dir / "emulator.port"
        self.log_path = self.dir / "requests.jsonl"
        self.stderr_path = self.dir / "emulator.stderr"
        argv = [PYTHON, str(EMULATOR_PY), "--host", HOST, "--port", "0", "--port-file",
                str(port_file), "--dataset", "test", "--bench-activations", str(bench),
                "--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY,
                "--log", str(self.log_path), "--quiet", "--seed", "7"]
        with open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err,
                                         stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + START_TIMEOUT_S
        while not port_file.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"emulator did not start: {self.stderr()}")
            time.sleep(0.05)
        self.port = int(port_file.read_text())
        self.conn = None

    def stderr(self):
        return self.stderr_path.read_text(errors="replace")

    def endpoint(self):
        return f"http://{HOST}:{self.port}/api/v2"

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def http(self, method, target, body=None, headers=None):
        """One request on a kept-alive connection (reopened once if the server dropped it)."""
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(HOST, self.port, timeout=30)
            try:
                self.conn.request(method, target, body=body, headers=headers or {})
                resp = self.conn.getresponse()
                return resp.status, resp.read()
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def admin(self, method, path, body=None):
        status, data = self.http(method, "/_emulator" + path,
                                 None if body is None else json.dumps(body).encode())
        if status != 200:
            raise RuntimeError(f"{method} /_emulator{path}: {status} {data[:200]!r}")
        return json.loads(data)

    def api(self, target):
        """A signed GET of /api/v2 + target -> content (for expected action definitions)."""
        full = "/api/v2" + target
        stamp = str(int(time.time() * 1000))
        message = f"GET {full}\n{stamp}\n{ACCESS_KEY}".encode()
        sig = base64.b64encode(hmac.new(SECRET_KEY.encode(), message,
                                        hashlib.sha256).digest()).decode()
        status, data = self.http("GET", full, headers={
            "x-ncp-apigw-timestamp": stamp, "x-ncp-iam-access-key": ACCESS_KEY,
            "x-ncp-apigw-signature-v2": sig})
        if status != 200:
            raise RuntimeError(f"GET {full}: {status}")
        return json.loads(data)["content"]


# ---- what the files must hold -------------------------------------------------------------

def record_texts(record):
    """The exact bytes of the text files of a record, as ncffs(1) defines them."""
    response = record.get("response") or {}
    logs = record.get("logs") or []
    duration = record.get("duration")
    if duration is None and record.get("end", 0) > 0:
        duration = record["end"] - record["start"]
    notes = record.get("annotations")
    texts = {
        "status": (response.get("status") + "\n") if response.get("status") else "",
        "duration": f"{duration}\n" if duration is not None else "",
        "logs.txt": "".join(line + "\n" for line in logs),
    }
    if isinstance(notes, list):
        cold = any(n.get("key") == "initTime" for n in notes)
        texts["cold_start"] = "true\n" if cold else "false\n"
    return texts


def build_expectations(emu):
    """{relative dir: {...}} for every series: ids, newest, record texts/JSON, action.json."""
    series = []
    for pkg, name in SERIES:
        if pkg is None:
            ids = emu.admin("GET", f"/trigger-ids/{name}")["ids"]
            rel = f"triggers/{name}"
            record = lambda aid, n=name: emu.admin("GET", f"/trigger-record/{n}/{aid}")
            definition = emu.api(f"/triggers/{name}")
        else:
            ids = emu.admin("GET", f"/ids/{pkg}/{name}")["ids"]
            rel = f"packages/{pkg}/{name}"
            record = lambda aid, p=pkg, n=name: emu.admin("GET", f"/record/{p}/{n}/{aid}")
            definition = emu.api(f"/packages/{pkg}/actions/{name}")
        records = {}
        for aid in ids:
            content = record(aid)
            records[aid] = {"texts": record_texts(content),
                            "result": (content.get("response") or {}).get("result"),
                            "record": content}
        series.append({"rel": rel, "trigger": pkg is None, "ids": ids,
                       "definition": definition, "records": records})
    packages = sorted({e["name"] for e in emu.api("/packages?pageSize=100")
                       if re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,49}", e["name"])}
                      | {"-"})
    return {"series": series, "packages": packages}


# ---- one reader process --------------------------------------------------------------------

class Reader:
    """Random operations on the mount until the deadline; counts every outcome."""

    def __init__(self, mnt, expect, seed):
        self.mnt = Path(mnt)
        self.expect = expect
        self.rng = random.Random(seed)
        self.counts = {"ok": 0, "wrong": 0, "slow": 0, "errors": {}, "ops": {},
                       "errors_by_op": {}}
        self.error_samples = []
        self.timeline = {}          # whole second -> [ops, errors], to tell bursts from noise
        self.wrong = []             # the first few wrong answers, for the report
        self.seen = {}              # path -> bytes of the first successful read (JSON files)

    def note_wrong(self, what):
        self.counts["wrong"] += 1
        if len(self.wrong) < 10:
            self.wrong.append(what)

    def run(self, deadline):
        for _ in range(MAX_OPS_PER_READER):
            if time.time() >= deadline:
                break
            op = self.rng.choices(("record", "list", "definition", "latest", "stat",
                                   "packages", "tsv"), (50, 15, 8, 5, 12, 5, 5))[0]
            began = time.monotonic()
            wrong_before = self.counts["wrong"]
            errors_before = sum(self.counts["errors"].values())
            try:
                getattr(self, "op_" + op)()
            except OSError as err:
                name = errno.errorcode.get(err.errno, str(err.errno))
                self.counts["errors"][name] = self.counts["errors"].get(name, 0) + 1
                by_op = self.counts["errors_by_op"].setdefault(op, {})
                by_op[name] = by_op.get(name, 0) + 1
                if len(self.error_samples) < 20:
                    self.error_samples.append((round(time.time(), 2), op, name,
                                               str(err.filename or "")))
            except Exception as err:        # unparsable content is a wrong answer too
                self.note_wrong(f"{op}: {err!r}")
            else:
                if self.counts["wrong"] == wrong_before:
                    self.counts["ok"] += 1
            took = time.monotonic() - began
            second = self.timeline.setdefault(str(int(time.time())), [0, 0])
            second[0] += 1
            second[1] += sum(self.counts["errors"].values()) - errors_before
            self.counts["ops"][op] = self.counts["ops"].get(op, 0) + 1
            if took > OP_SLOW_S:
                self.counts["slow"] += 1
        return {"counts": self.counts, "wrong": self.wrong, "error_samples": self.error_samples,
                "timeline": self.timeline}

    def pick(self):
        series = self.rng.choice(self.expect["series"])
        return series, self.rng.choice(series["ids"])

    def read(self, path):
        with open(path, "rb") as f:
            return f.read()

    def consistent(self, path, data):
        first = self.seen.setdefault(path, data)
        if first != data:
            self.note_wrong(f"{path}: bytes changed between reads")

    def op_record(self):
        series, aid = self.pick()
        name = self.rng.choice(RECORD_FILES)
        path = self.mnt / series["rel"] / "activations" / aid / name
        exp = series["records"][aid]
        if name == "cold_start" and name not in exp["texts"]:
            return
        data = self.read(path)
        if name in exp["texts"]:
            if data != exp["texts"][name].encode():
                self.note_wrong(f"{path}: {data[:120]!r} != {exp['texts'][name][:120]!r}")
            return
        want = exp["result"] if name == "result.json" else exp["record"]
        try:
            ok = json.loads(data) == want
        except ValueError:
            ok = False
        if not ok:
            self.note_wrong(f"{path}: not the record's JSON: {data[:120]!r}")
        self.consistent(str(path), data)

    def op_list(self):
        series = self.rng.choice(self.expect["series"])
        names = sorted(os.listdir(self.mnt / series["rel"] / "activations"))
        want = sorted(series["ids"] + (["latest"] if series["ids"] else []))
        if names != want:
            self.note_wrong(f"ls {series['rel']}/activations: {len(names)} names, "
                            f"{len(set(names) - set(want))} unexpected")

    def op_definition(self):
        series = self.rng.choice(self.expect["series"])
        path = self.mnt / series["rel"] / ("trigger.json" if series["trigger"] else
                                           "action.json")
        data = self.read(path)
        try:
            ok = json.loads(data) == series["definition"]
        except ValueError:
            ok = False
        if not ok:
            self.note_wrong(f"{path}: not the definition: {data[:120]!r}")

    def op_latest(self):
        series = self.rng.choice(self.expect["series"])
        target = os.readlink(self.mnt / series["rel"] / "activations" / "latest")
        if target != series["ids"][0]:
            self.note_wrong(f"{series['rel']}/activations/latest -> {target}")

    def op_stat(self):
        series, aid = self.pick()
        st = os.stat(self.mnt / series["rel"] / "activations" / aid)
        if (st.st_mode & 0o170000) != 0o040000:
            self.note_wrong(f"{series['rel']}/activations/{aid} is not a directory")

    def op_packages(self):
        names = sorted(os.listdir(self.mnt / "packages"))
        if names != self.expect["packages"]:
            self.note_wrong(f"ls packages: {names}")

    def op_tsv(self):
        series = self.rng.choice([s for s in self.expect["series"]
                                  if not s["trigger"] and len(s["ids"]) <= 25])
        lines = self.read(self.mnt / series["rel"] / "activations.tsv").decode().splitlines()
        ids = [line.split("\t")[0] for line in lines[1:]]
        if lines[0].split("\t") != ["id", "start", "end", "duration_ms", "status", "success"] \
                or sorted(ids) != sorted(series["ids"]):
            self.note_wrong(f"{series['rel']}/activations.tsv: {lines[:2]}")
            return
        for line in lines[1:]:
            aid, _, _, duration, status, _ = line.split("\t")
            texts = series["records"][aid]["texts"]
            if (duration + "\n" if duration else "") != texts["duration"] or \
                    (status + "\n" if status else "") != texts["status"]:
                self.note_wrong(f"{series['rel']}/activations.tsv: {line}")


def reader_main(args):
    expect = json.loads(Path(args.expect).read_text())
    report = Reader(args.mnt, expect, args.seed).run(args.deadline)
    Path(args.out).write_text(json.dumps(report))
    return 0


# ---- the daemon -----------------------------------------------------------------------------

def socket_inodes(table, column):
    """Inodes of the sockets listed in /proc/net/<table> (column: the inode's field)."""
    try:
        with open(f"/proc/net/{table}") as f:
            next(f)
            return {line.split()[column] for line in f if len(line.split()) > column}
    except OSError:
        return set()


def proc_fds(pid):
    """The daemon's open fds by kind: tcp (API connections), unix (socket pairs: libcurl
    keeps one per pooled handle), other_sockets, files (everything else), total."""
    tcp = socket_inodes("tcp", 9) | socket_inodes("tcp6", 9)
    unix = socket_inodes("unix", 6)
    kinds = {"tcp": 0, "unix": 0, "other_sockets": 0, "files": 0}
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inode = target[8:-1]
            kind = "tcp" if inode in tcp else "unix" if inode in unix else "other_sockets"
        else:
            kind = "files"
        kinds[kind] += 1
    kinds["total"] = sum(kinds.values())
    return kinds


def proc_rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def is_mounted(path):
    target = os.path.realpath(path)
    with open("/proc/self/mountinfo") as f:
        return any(line.split()[4] == target for line in f)


def is_sanitized(binary):
    with open(binary, "rb") as f:
        return b"__asan_init" in f.read()


class Daemon:
    def __init__(self, ncffs, mnt, endpoint, cache_mb, stderr_path):
        self.mnt, self.stderr_path = mnt, stderr_path
        env = {k: v for k, v in os.environ.items() if not k.startswith("NCLOUD_")
               and k.lower() not in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")}
        env.update(LC_ALL="C", NO_PROXY="*", NCLOUD_ACCESS_KEY_ID=ACCESS_KEY,
                   NCLOUD_SECRET_ACCESS_KEY=SECRET_KEY)
        # ASan keeps 256 MiB of freed memory in quarantine by default, which would drown
        # the RSS check; a small quarantine still catches use-after-free of recent frees.
        env.setdefault("ASAN_OPTIONS", "quarantine_size_mb=16:thread_local_quarantine_size_kb=256")
        options = [f"endpoint={endpoint}", f"list_ttl={LIST_TTL_S}", f"neg_ttl={NEG_TTL_S}",
                   f"timeout={TIMEOUT_S}", f"retries={RETRIES}", f"cache_size={cache_mb}"]
        argv = [ncffs, str(mnt), "-f", "-o", ",".join(options)]
        with open(stderr_path, "wb") as err:
            self.proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL,
                                         stdout=err, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT_S
        while not is_mounted(mnt):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"ncffs did not mount: {self.stderr()}")
            time.sleep(0.05)

    def stderr(self):
        return Path(self.stderr_path).read_text(errors="replace")

    def unmount(self):
        """-> (exit status or None, how it went)."""
        if is_mounted(self.mnt):
            if subprocess.run(["fusermount3", "-u", str(self.mnt)], capture_output=True,
                              timeout=30).returncode != 0:
                subprocess.run(["fusermount3", "-uz", str(self.mnt)], capture_output=True,
                               timeout=30)
                return self.reap(), "needed a lazy unmount"
        return self.reap(), "clean"

    def reap(self):
        try:
            return self.proc.wait(EXIT_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            if is_mounted(self.mnt):
                subprocess.run(["fusermount3", "-uz", str(self.mnt)], capture_output=True)
            return None


# ---- the run ----------------------------------------------------------------------------------

def fault_config(rate):
    """About `rate` of all API requests fail: half with 503, half reset mid-body. Faults are
    tried in order, so the second fraction is scaled for the requests the first let through."""
    half = rate / 2
    return {"faults": [{"kind": "status", "status": 503, "fraction": half},
                       {"kind": "reset", "fraction": half / (1 - half)}], "seed": 11}


def log_lines(log_path):
    with open(log_path, "rb") as f:
        return sum(1 for _ in f)


def count_requests(log_path, first, last):
    """Counts over the request log's lines [first, last): the run with faults on."""
    by_status, faults, total = {}, {}, 0
    with open(log_path) as f:
        for number, line in enumerate(f):
            if number < first or number >= last:
                continue
            entry = json.loads(line)
            total += 1
            by_status[str(entry["status"])] = by_status.get(str(entry["status"]), 0) + 1
            if entry.get("fault"):
                faults[entry["fault"]] = faults.get(entry["fault"], 0) + 1
    injected = sum(faults.values())
    return {"total": total, "by_status": by_status, "faults": faults,
            "fault_share": round(injected / total, 4) if total else 0.0}


def ncffs_stats(mnt):
    try:
        text = (Path(mnt) / ".ncffs-stats").read_text()
    except OSError:
        return {}
    keep = ("api_requests", "api_retries", "cache_stale_served", "cache_evictions",
            "cache_bytes", "cache_limit_bytes", "cache_entries")
    pairs = (line.split(" ", 1) for line in text.splitlines() if " " in line)
    return {k: float(v) for k, v in pairs if k in keep}


def summarize(samples):
    """Start, end, maximum, and the maxima of the first and last third of a sampled series."""
    third = max(1, len(samples) // 3)
    return {"start": samples[0], "early_max": max(samples[:third]),
            "late_max": max(samples[-third:]), "max": max(samples), "end": samples[-1]}


def summarize_fds(samples):
    """summarize() per kind of fd, plus every total and unix count sampled (the trend)."""
    out = {kind: summarize([s[kind] for s in samples]) for kind in samples[0]}
    out["total_samples"] = [s["total"] for s in samples]
    out["unix_samples"] = [s["unix"] for s in samples]
    return out


def merge_timelines(reports, began):
    """"second since start: errors/ops" for the seconds in which any operation failed."""
    merged = {}
    for rep in reports:
        for second, (ops, errors) in rep.get("timeline", {}).items():
            slot = merged.setdefault(int(second) - int(began), [0, 0])
            slot[0] += ops
            slot[1] += errors
    return {str(k): f"{v[1]}/{v[0]}" for k, v in sorted(merged.items()) if v[1]}


def merge_counts(reports):
    total = {"ok": 0, "wrong": 0, "slow": 0, "errors": {}, "ops": {}, "errors_by_op": {}}
    wrong = []
    for rep in reports:
        c = rep["counts"]
        for key in ("ok", "wrong", "slow"):
            total[key] += c[key]
        for key in ("errors", "ops"):
            for name, n in c[key].items():
                total[key][name] = total[key].get(name, 0) + n
        for op, errors in c["errors_by_op"].items():
            mine = total["errors_by_op"].setdefault(op, {})
            for name, n in errors.items():
                mine[name] = mine.get(name, 0) + n
        wrong += rep["wrong"]
    return total, wrong[:20]


def run(seconds=60, readers=10, ncffs=None, fault_rate=0.10, cache_mb=4, bench=1000,
        workdir=None, keep=False, log=print):
    """The whole soak; -> (passed, report dict)."""
    ncffs = str(ncffs or os.environ.get("NCFFS_BIN") or REPO / "ncffs")
    own_dir = workdir is None
    work = Path(workdir or tempfile.mkdtemp(prefix="ncffs-soak-"))
    mnt = work / "mnt"
    mnt.mkdir(parents=True, exist_ok=True)
    report = {"seconds": seconds, "readers": readers, "fault_rate": fault_rate,
              "cache_size_mb": cache_mb, "ncffs": ncffs, "problems": []}
    problems = report["problems"]
    emu = daemon = None
    procs = []
    try:
        emu = Emulator(work, bench)
        log(f"soak: emulator on port {emu.port}; computing expectations")
        expect = build_expectations(emu)
        expect_path = work / "expect.json"
        expect_path.write_text(json.dumps(expect))
        daemon = Daemon(ncffs, mnt, emu.endpoint(), cache_mb, work / "ncffs.stderr")
        pid = daemon.proc.pid
        # A short fault-free warm-up (which also checks the oracle), then the starting fds
        # and RSS.
        warm = Reader(mnt, expect, 0).run(time.time() + 2)
        if warm["counts"]["wrong"] or warm["counts"]["errors"]:
            problems.append(f"wrong or failed answers with no faults at all: {warm}")
        fds, rss = [proc_fds(pid)], [proc_rss_kb(pid)]
        first_faulted = log_lines(emu.log_path)
        emu.admin("POST", "/config", fault_config(fault_rate))
        began = time.time()
        deadline = began + seconds
        log(f"soak: {readers} readers for {seconds}s, ~{fault_rate:.0%} of requests failing")
        for i in range(readers):
            out = work / f"reader{i}.json"
            procs.append((subprocess.Popen(
                [PYTHON, __file__, "--reader", "--mnt", str(mnt), "--expect", str(expect_path),
                 "--deadline", str(deadline), "--seed", str(100 + i), "--out", str(out)],
                stdin=subprocess.DEVNULL), out))
        next_hup = began + SIGHUP_EVERY_S
        hups = 0
        hard_stop = deadline + READER_GRACE_S
        while time.time() < hard_stop and any(p.poll() is None for p, _ in procs):
            time.sleep(SAMPLE_EVERY_S)
            if daemon.proc.poll() is not None:
                problems.append(f"ncffs died with status {daemon.proc.returncode}")
                break
            fds.append(proc_fds(pid))
            rss.append(proc_rss_kb(pid))
            if time.time() >= next_hup and time.time() < deadline:
                daemon.proc.send_signal(signal.SIGHUP)
                hups += 1
                next_hup += SIGHUP_EVERY_S
        hung = [p.pid for p, _ in procs if p.poll() is None]
        if hung:
            problems.append(f"readers still running {READER_GRACE_S}s after the deadline "
                            f"(an operation hung): pids {hung}")
        for p, _ in procs:
            if p.poll() is None:
                p.kill()
            p.wait()
        reports = [json.loads(out.read_text()) for p, out in procs if out.exists()]
        if len(reports) != readers:
            problems.append(f"only {len(reports)} of {readers} readers reported")
        totals, wrong = merge_counts(reports)
        report["operations"] = totals
        report["wrong_examples"] = wrong
        report["error_samples"] = sorted(s for rep in reports
                                         for s in rep.get("error_samples", []))[:30]
        report["error_timeline"] = merge_timelines(reports, began)
        report["sighups"] = hups
        # The API heals; the daemon must still be right, then idle down.
        emu.admin("POST", "/config", {"faults": []})
        report["requests"] = count_requests(emu.log_path, first_faulted,
                                            log_lines(emu.log_path))
        if daemon.proc.poll() is None:
            final = Reader(mnt, expect, 1).run(time.time() + 2)
            if final["counts"]["wrong"]:
                problems.append(f"wrong answers after the API healed: {final['wrong']}")
            report["stats"] = ncffs_stats(mnt)
            time.sleep(SETTLE_S)
            fds.append(proc_fds(pid))
            rss.append(proc_rss_kb(pid))
        report["fds"] = summarize_fds(fds)
        report["rss_kb"] = summarize(rss)
        check(report, totals, is_sanitized(ncffs), cache_mb)
    except Exception as err:            # a broken run is a failed run, with its reason
        problems.append(f"soak aborted: {err!r}")
    finally:
        for p, _ in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        if daemon is not None:
            status, how = daemon.unmount()
            report["exit"] = {"status": status, "unmount": how}
            if status != 0 or how != "clean":
                problems.append(f"ncffs exit: status {status}, unmount {how}")
            text = daemon.stderr()
            reports = [l for l in text.splitlines() if any(m in l for m in SANITIZER_MARKERS)]
            if reports:
                problems.append("sanitizer report:\n" + "\n".join(text.splitlines()[-80:]))
        if emu is not None:
            emu.stop()
            if "Traceback" in emu.stderr():
                problems.append("emulator raised:\n" + emu.stderr()[-3000:])
        if own_dir and not keep and not problems:
            shutil.rmtree(work, ignore_errors=True)
        else:
            report["workdir"] = str(work)
            (work / "report.json").write_text(json.dumps(report, indent=2))
    return not problems, report


def check(report, totals, sanitized, cache_mb):
    problems = report["problems"]
    if totals["wrong"]:
        problems.append(f"{totals['wrong']} operations returned wrong bytes")
    if totals["slow"]:
        problems.append(f"{totals['slow']} operations took longer than {OP_SLOW_S}s")
    if totals["ok"] == 0 or not totals["errors"]:
        problems.append("the run proved nothing: no successes or no failures at all")
    faults = report["requests"]["faults"]
    if not faults.get("status") or not faults.get("reset"):
        problems.append(f"not every fault kind was injected: {faults}")
    for problem in fd_problems(report["fds"]):
        problems.append(problem)
    rss = report["rss_kb"]
    slack_mb = RSS_SLACK_SAN_MB if sanitized else RSS_SLACK_MB
    limit_kb = rss["start"] + (cache_mb + slack_mb) * 1024
    report["rss_limit_kb"] = limit_kb
    if rss["end"] > limit_kb or rss["max"] > limit_kb:
        problems.append(f"VmRSS grew past start + cache_size + {slack_mb} MiB: {rss}")


def fd_problems(fds):
    """Leaks, told apart from pools. Files (the FUSE device, pipes, logs) and unknown
    sockets must not grow at all. API connections at the idle end stay within the pool
    ncffs keeps (client.c CONNECTIONS_KEPT). libcurl's socket pairs (two per pooled easy
    handle) grow with the highest concurrency seen, so only a growth beyond what early
    concurrency peaks explain, late in the run, counts."""
    out = []
    if fds["files"]["end"] > fds["files"]["start"] or fds["files"]["max"] > fds["files"]["start"] + 2:
        out.append(f"fds other than sockets grew: {fds['files']}")
    # A socket being connected is in no /proc/net table yet: only the idle end counts.
    if fds["other_sockets"]["end"] > fds["other_sockets"]["start"]:
        out.append(f"unidentified sockets stayed open: {fds['other_sockets']}")
    if fds["tcp"]["end"] > CONNECTIONS_KEPT + FD_SLACK:
        out.append(f"more idle API connections than the pool keeps: {fds['tcp']}")
    if fds["unix"]["end"] > MAX_HANDLES * 2:
        out.append(f"more socket pairs than pooled handles can explain: {fds['unix']}")
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seconds", type=float, default=float(os.environ.get("SOAK_SECONDS", 60)))
    p.add_argument("--readers", type=int, default=10)
    p.add_argument("--ncffs")
    p.add_argument("--fault-rate", type=float, default=0.10)
    p.add_argument("--cache-size", type=int, default=4)
    p.add_argument("--bench", type=int, default=1000)
    p.add_argument("--workdir")
    p.add_argument("--keep", action="store_true")
    # reader mode (internal)
    p.add_argument("--reader", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--mnt", help=argparse.SUPPRESS)
    p.add_argument("--expect", help=argparse.SUPPRESS)
    p.add_argument("--deadline", type=float, help=argparse.SUPPRESS)
    p.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--out", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.reader:
        return reader_main(args)
    passed, report = run(args.seconds, args.readers, args.ncffs, args.fault_rate,
                         args.cache_size, args.bench, args.workdir, args.keep,
                         log=lambda msg: print(msg, file=sys.stderr))
    print(json.dumps(report, indent=2))
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
