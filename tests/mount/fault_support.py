"""Helpers and fixtures for the hostile-network mount tests (tests/mount/test_fault_*.py).

Scope: a private emulator per test module that tests may break at will (faults, latency,
killing it); a mount factory with small timeouts; file-system operations run in a child
process with a wall-clock limit and the errno they ended with; a loopback reverse proxy that
rewrites the JSON of chosen responses into the wrong shape; a self-signed certificate; and the
time bound every failing operation must meet.

Left out on purpose: anything conftest.py already does (starting ncffs, unmounting, the
sanitizer check at teardown). conftest.py belongs to another engineer and is only imported.

Test modules pull the fixtures in with `from fault_support import *` (pytest finds fixtures
in a test module's namespace). Standard library only; loopback only.
"""

import errno
import http.client
import json
import os
import re
import ssl
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from conftest import HOST, PYTHON, Emulator, Harness, mounted_fstype, sanitizer_reports

__all__ = [
    "TIMEOUT_S", "RETRIES", "THROTTLE_WAIT_S", "FAST", "BACKOFF_S", "RETRY_AFTER_S", "SLACK_S", "fail_bound",
    "Outcome", "fsop", "fsops", "fault", "fault_emulator", "femu", "fmount",
    "ShapeProxy", "shape_proxy", "make_self_signed", "TlsEmulator", "assert_daemon_healthy",
    "assert_serves_correctly", "expected_file", "REC_PATH",
    "first_record_path", "read_stats", "expect_record_files", "shared_fault_mount", "smount",
]

# ---------------------------------------------------------------------------------------------
# Named limits. Every failing operation must end within fail_bound(); the slack covers FUSE
# and process start-up, curl's once-a-second low-speed check and ASan's slowdown on a busy
# two-core machine.

TIMEOUT_S = 1                   # -o timeout: per attempt connect/stall limit
RETRIES = 1                     # -o retries: extra attempts
THROTTLE_WAIT_S = 1             # -o throttle_wait: 429s retried this long before they count
FAST = (f"timeout={TIMEOUT_S}", f"retries={RETRIES}", "neg_ttl=0", "prefetch=0",
        f"throttle_wait={THROTTLE_WAIT_S}")
BACKOFF_S = 0.2                 # first backoff of client.c (BACKOFF_FIRST_MS), before jitter
RETRY_AFTER_S = 1               # the Retry-After the retry tests ask the emulator to send
SLACK_S = 3.0
FSOP_LIMIT_S = 60               # a child that is still stuck after this is a hang, not slow

# The emulator's fault path_regex is searched in the raw request target; this one matches
# every activation record (a single record: its id as the regex).
REC_PATH = r"/activations/[0-9a-f]{32}\?"


def fail_bound(timeout=TIMEOUT_S, retries=RETRIES, wait_per_retry=BACKOFF_S, attempt_s=None):
    """Longest an operation that fails after every attempt may take.

    attempt_s: how long one attempt can last (default: timeout, plus one second for curl's
    low-speed check, which runs once a second). wait_per_retry: backoff or Retry-After."""
    per_attempt = timeout + 1.0 if attempt_s is None else attempt_s
    return per_attempt * (retries + 1) + wait_per_retry * retries + SLACK_S


# ---------------------------------------------------------------------------------------------
# File-system operations in a child process: a hung FUSE request then costs the child, not the
# test runner, and the child is killed when FSOP_LIMIT_S passes.

_CHILD = r"""
import errno, json, os, sys, time
ops = json.loads(sys.argv[1])
results = []
for op, path in ops:
    t0 = time.monotonic()
    res = {"op": op, "path": path, "errno": 0}
    try:
        if op == "read":
            with open(path, "rb") as f:
                res["data"] = f.read().hex()
        elif op == "list":
            res["names"] = sorted(os.listdir(path))
        elif op == "stat":
            st = os.stat(path)
            res["size"], res["mode"] = st.st_size, st.st_mode
        elif op == "lstat":
            st = os.lstat(path)
            res["size"], res["mode"] = st.st_size, st.st_mode
        elif op == "readlink":
            res["target"] = os.readlink(path)
        else:
            raise SystemExit("unknown op " + op)
    except OSError as e:
        res["errno"] = e.errno
    res["elapsed"] = time.monotonic() - t0
    results.append(res)
    print(json.dumps(res), flush=True)
"""


class Outcome:
    """What one operation did: errno (0 = success), its data, how long it took."""

    def __init__(self, res):
        self.op, self.path, self.errno = res["op"], res["path"], res["errno"]
        self.elapsed = res["elapsed"]
        self.data = bytes.fromhex(res["data"]) if "data" in res else None
        self.names = res.get("names")
        self.size = res.get("size")
        self.target = res.get("target")

    @property
    def ok(self):
        return self.errno == 0

    @property
    def errname(self):
        return errno.errorcode.get(self.errno, str(self.errno)) if self.errno else "OK"

    def __repr__(self):
        return f"<{self.op} {self.path}: {self.errname} in {self.elapsed:.2f}s>"


def fsops(ops, limit=FSOP_LIMIT_S):
    """Run [(op, path)] in order in one child; -> [Outcome]. Fails the test on a hang."""
    argv = [PYTHON, "-I", "-S", "-c", _CHILD, json.dumps([[o, str(p)] for o, p in ops])]
    try:
        done = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=limit)
    except subprocess.TimeoutExpired:
        pytest.fail(f"file-system operations {ops} still running after {limit}s (a hang)")
    lines = done.stdout.decode().splitlines()
    assert done.returncode == 0 and len(lines) == len(ops), (ops, done)
    return [Outcome(json.loads(line)) for line in lines]


def fsop(op, path, limit=FSOP_LIMIT_S):
    return fsops([(op, path)], limit)[0]


# ---------------------------------------------------------------------------------------------
# The private emulator and the mount factory.

def fault(kind="status", path_regex="", **fields):
    """One fault entry for POST /_emulator/config."""
    return dict(kind=kind, path_regex=path_regex, **fields)


class FaultEmulator(Emulator):
    """An Emulator this module may break: set faults, latency, kill it."""

    def faults(self, *entries, latency_ms=0):
        self.config(faults=list(entries), latency_ms=latency_ms)

    def clear(self):
        """No faults, no latency, and the fault coin re-seeded (runs are repeatable)."""
        self.config(faults=[], latency_ms=0, seed=0)

    def to(self, needle):
        """The logged requests whose raw target contains needle."""
        return [r for r in self.requests() if needle in r["target"]]

    def wait_logged(self, predicate, timeout=10):
        """The logged requests once predicate(requests) holds (faulted requests are logged
        when their thread finishes)."""
        deadline = time.monotonic() + timeout
        while True:
            reqs = self.requests()
            if predicate(reqs) or time.monotonic() > deadline:
                return reqs
            time.sleep(0.05)

    def check_stderr(self):
        text = self.stderr()
        assert "Traceback" not in text, f"emulator raised:\n{text}"


@pytest.fixture(scope="module")
def fault_emulator(tmp_path_factory):
    """A module's own emulator (test data set), so faults never reach other modules."""
    emu = FaultEmulator(tmp_path_factory.mktemp("fault-emulator"))
    yield emu
    emu.stop()
    emu.check_stderr()


@pytest.fixture
def femu(fault_emulator):
    """The module's emulator with no faults, no latency and an empty request log."""
    fault_emulator.clear()
    fault_emulator.reset()
    yield fault_emulator
    fault_emulator.clear()


@pytest.fixture
def fmount(harness, femu):
    """mount(*options, fast=True, emulator=femu, endpoint=None, settle=True): a live mount
    with FAST options in front of the given ones; the request log is reset once the start-up
    probe is done. Unmounted (and checked for sanitizer reports) by the harness."""
    def mount(*options, fast=True, emulator=None, endpoint=None, env=None):
        emu = emulator or femu
        opts = (list(FAST) if fast else []) + list(options)
        m = harness.mount(options=opts, emulator=emu, endpoint=endpoint, env=env)
        emu.reset()
        return m
    return mount


# ---------------------------------------------------------------------------------------------
# Checks shared by the tests.

def assert_daemon_healthy(m):
    """The daemon still runs, is still mounted, and has printed no sanitizer report."""
    reports = sanitizer_reports(m.stderr())
    assert not reports, f"sanitizer report:\n{m.stderr()}"
    assert m.proc.poll() is None, f"ncffs exited {m.proc.returncode}:\n{m.stderr()}"
    assert mounted_fstype(m.path) == "fuse.ncffs"


def first_record_path(m, emu, pkg="demo", action="hello", index=0):
    aid = emu.ids(pkg, action)[index]
    return aid, m.p("packages", pkg, action, "activations", aid)


def expected_file(record, name):
    """The bytes ncffs(1) says this file of an activation holds, for status, duration and
    logs.txt (JSON files are compared parsed, see expect_record_files). Follows the man page:
    a status that is not a string is empty; duration is the record's (number or decimal
    text), else end - start; non-string log entries appear as their compact JSON."""
    response = record.get("response") if isinstance(record.get("response"), dict) else {}
    if name == "status":
        status = response.get("status")
        return (status + "\n").encode() if isinstance(status, str) and status else b""
    if name == "duration":
        duration = record.get("duration")
        start, end = record.get("start"), record.get("end")
        if duration is None and isinstance(end, int) and isinstance(start, int) \
                and end > 0 and end >= start:
            duration = end - start
        return f"{duration}\n".encode() if duration is not None else b""
    if name == "logs.txt":
        logs = record.get("logs") if isinstance(record.get("logs"), list) else []
        lines = [l if isinstance(l, str) else json.dumps(l, separators=(",", ":"))
                 for l in logs]
        return "".join(line + "\n" for line in lines).encode()
    raise ValueError(name)


def assert_serves_correctly(m, emu, pkg="billing", action="invoice", index=0):
    """A path untouched by the test's faults still gives exactly the emulator's bytes."""
    aid = emu.ids(pkg, action)[index]
    record = emu.record(pkg, action, aid)
    base = Path(m.p("packages", pkg, action, "activations", aid))
    outs = fsops([("read", base / name) for name in ("status", "duration", "logs.txt",
                                                     "result.json", "activation.json")])
    assert all(o.ok for o in outs), outs
    expect_record_files(outs, record)


def read_stats(m):
    """/.ncffs-stats as {name: number}."""
    o = fsop("read", m.p(".ncffs-stats"))
    assert o.ok, o
    return {k: float(v) for k, v in (line.split(" ", 1) for line in o.data.decode().splitlines())}


def expect_record_files(outcomes, record):
    """Each successful read among outcomes (of status/duration/logs.txt/result.json/
    activation.json) holds exactly what record implies. -> number of successful reads."""
    ok = 0
    for o in outcomes:
        if not o.ok:
            continue
        ok += 1
        name = os.path.basename(o.path)
        if name == "result.json":
            response = record.get("response") if isinstance(record.get("response"), dict) else {}
            assert json.loads(o.data) == response.get("result"), o
        elif name == "activation.json":
            assert json.loads(o.data) == record, o
        else:
            assert o.data == expected_file(record, name), (o, o.data)
    return ok


# ---------------------------------------------------------------------------------------------
# A reverse proxy that rewrites chosen JSON answers into the wrong shape.

class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body leave in two writes: without TCP_NODELAY each kept-alive answer would
    # wait for the client's delayed ACK (~40 ms).
    disable_nagle_algorithm = True

    def log_message(self, format, *args):
        pass

    def do_GET(self):
        proxy = self.server.proxy
        target = self.path      # BaseHTTPRequestHandler keeps the raw target here
        headers = {k: v for k, v in self.headers.items()
                   if k.lower().startswith("x-ncp-") or k.lower() == "accept"}
        conn = http.client.HTTPConnection(HOST, proxy.upstream.port, timeout=30)
        try:
            conn.request("GET", target, headers=headers)
            resp = conn.getresponse()
            status, body = resp.status, resp.read()
            ctype = resp.getheader("Content-Type", "application/json")
            extra = [(k, v) for k, v in resp.getheaders() if k.lower() in ("retry-after",)]
        finally:
            conn.close()
        body = proxy.rewrite(target, status, body)
        if body.lstrip().startswith(b"<"):
            ctype = "text/html"
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)


class ShapeProxy:
    """Loopback HTTP proxy in front of an emulator. rules: [(regex on the raw target,
    fn(parsed JSON body) -> new JSON value, or bytes to send as they are)]. Only 200 answers
    are rewritten; everything else passes through untouched."""

    def __init__(self, upstream, rules=()):
        self.upstream = upstream
        self.rules = [(re.compile(r), fn) for r, fn in rules]
        self.rewritten = []         # targets whose answer was rewritten
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer((HOST, 0), _ProxyHandler)
        self.server.daemon_threads = True
        self.server.proxy = self
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def set_rules(self, rules):
        with self.lock:
            self.rules = [(re.compile(r), fn) for r, fn in rules]
            self.rewritten = []

    def endpoint(self, base="/api/v2"):
        return f"http://{HOST}:{self.port}{base}"

    def rewrite(self, target, status, body):
        with self.lock:
            rules = list(self.rules)
        if status != 200:
            return body
        for regex, fn in rules:
            if regex.search(target):
                new = fn(json.loads(body))
                with self.lock:
                    self.rewritten.append(target)
                if isinstance(new, (bytes, bytearray)):
                    return bytes(new)
                return json.dumps(new).encode()
        return body

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def shape_proxy(femu):
    proxy = ShapeProxy(femu)
    yield proxy
    proxy.close()


class SharedMount:
    """One FAST mount (list_ttl=0) through a ShapeProxy, shared by a module's tests. Records
    are cached for ever once read, so each test takes records no other test has touched (from
    paging/many's 250)."""

    def __init__(self, m, emu, proxy):
        self.m, self.emu, self.proxy = m, emu, proxy
        self.ids = emu.ids("paging", "many")
        self.next = 0

    def fresh_record(self):
        """-> (id, its directory in the mount) of a record nothing has read yet."""
        assert self.next < len(self.ids), "out of fresh records"
        aid = self.ids[self.next]
        self.next += 1
        return aid, self.m.p("packages", "paging", "many", "activations", aid)

    def record(self, aid):
        return self.emu.record("paging", "many", aid)

    def others(self):
        """Operations on things no rule touches: (ops, check(outcomes)) so that callers can
        run them in the same child as their own."""
        aid, base = self.fresh_record()
        ops = [("read", f"{base}/{f}") for f in
               ("status", "duration", "logs.txt", "result.json", "activation.json")]
        ops.append(("list", self.m.p("packages", "demo", "hello", "activations")))

        def check(outs):
            assert all(o.ok for o in outs), outs
            expect_record_files(outs[:-1], self.record(aid))
            assert sorted(outs[-1].names) == sorted(self.emu.ids("demo", "hello") + ["latest"])
        return ops, check

    def check_others(self):
        """A record nobody read before, and a listing, are served with the right bytes."""
        ops, check = self.others()
        check(fsops(ops))


@pytest.fixture(scope="module")
def shared_fault_mount(tmp_path_factory, fault_emulator):
    """A module-wide FAST mount behind a ShapeProxy; unmounted, and checked for sanitizer
    reports and a clean exit, when the module ends."""
    proxy = ShapeProxy(fault_emulator)
    harness = Harness(tmp_path_factory.mktemp("shared-fault"), fault_emulator, None)
    try:
        # list_ttl=0: listings are never kept, so every test meets its own rewrite rules.
        m = harness.mount(options=list(FAST) + ["list_ttl=0"], endpoint=proxy.endpoint())
        yield SharedMount(m, fault_emulator, proxy)
    finally:
        problems = harness.teardown()
        proxy.close()
    if problems:
        pytest.fail("\n\n".join(problems), pytrace=False)


@pytest.fixture
def smount(shared_fault_mount, femu):
    """The shared mount with no rewrite rules and an empty request log; after each test the
    daemon must still be healthy (no sanitizer report so far)."""
    shared_fault_mount.proxy.set_rules([])
    femu.reset()
    yield shared_fault_mount
    shared_fault_mount.proxy.set_rules([])
    assert_daemon_healthy(shared_fault_mount.m)


# ---------------------------------------------------------------------------------------------
# TLS.

def make_self_signed(directory, cn="127.0.0.1", san="IP:127.0.0.1,DNS:localhost"):
    """A self-signed certificate (by default for 127.0.0.1 and localhost) -> (cert, key)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-keyout", str(key), "-out", str(cert), "-subj", f"/CN={cn}",
                    "-addext", f"subjectAltName={san}"],
                   check=True, capture_output=True, timeout=60)
    os.chmod(key, 0o600)
    return cert, key


class TlsEmulator(FaultEmulator):
    """An emulator serving HTTPS with cert/key; its admin API is HTTPS too, trusted here
    through the certificate itself."""

    def __init__(self, workdir, cert, key, extra_args=()):
        self.cert = str(cert)
        super().__init__(workdir, ("--tls-cert", str(cert), "--tls-key", str(key),
                                   *extra_args))

    def endpoint(self, base="/api/v2", host=HOST):
        return f"https://{host}:{self.port}{base}"

    def connection(self):
        context = ssl.create_default_context(cafile=self.cert)
        context.check_hostname = False      # admin plumbing: some certificates name no IP
        return http.client.HTTPSConnection(HOST, self.port, timeout=30, context=context)
