"""Fixtures for the real-mount tests: an emulator process, ncffs mounts, the request log.

Scope: start tests/emulator/ncf_emulator.py on a loopback port, mount ./ncffs (or $NCFFS_BIN)
in the foreground as a child process, wait until the kernel shows the mount, and ALWAYS
unmount it again (fusermount3 -u, then -uz, then kill), also when the test failed. The
daemon's stderr goes to a file that is checked at teardown: any sanitizer report fails the
test, and so does a daemon that does not exit 0 after a clean unmount.

Left out on purpose: building ncffs (the Makefile does it) and editing the emulator (another
helper owns it; only its command line and /_emulator/ admin endpoints are used here).

Runs under Debian's /usr/bin/python3 and pytest, standard library only.
"""

import base64
import datetime
import hashlib
import hmac
import http.client
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

# ---------------------------------------------------------------------------------------------
# Named limits and constants.

PYTHON = "/usr/bin/python3"
REPO = Path(__file__).resolve().parents[2]
EMULATOR_PY = REPO / "tests" / "emulator" / "ncf_emulator.py"
NCFFS = os.environ.get("NCFFS_BIN") or str(REPO / "ncffs")
# A command the daemon runs under, e.g. valgrind (make valgrind-test).
WRAPPER = shlex.split(os.environ.get("NCFFS_WRAPPER", ""))
# Flags every emulator of the run gets, before a test's own: the core suite
# runs once against the documented defaults and once more with
# "--order oldest-first" (make mount-test-oldest-first).
EMULATOR_ARGS = shlex.split(os.environ.get("NCFFS_EMULATOR_ARGS", ""))
# The API the mounts read: "ncp" (default) or "openwhisk" (make mount-test-openwhisk): the
# emulator's OpenWhisk personality (/api/v1, same data), mounted with backend=openwhisk,
# apihost= and AUTH from a mode-600 ~/.wskprops in the test's HOME.
BACKEND = os.environ.get("NCFFS_BACKEND", "ncp")
OPENWHISK = BACKEND == "openwhisk"
OW_AUTH = "0f0e0d0c-0b0a-4009-8008-070605040302:ncfemuOpenWhiskKey0123456789abcdef"

ACCESS_KEY = "emulator-access-key"
SECRET_KEY = "emulator-secret-key"
HOST = "127.0.0.1"                  # loopback only, always

SLOW = bool(WRAPPER)                # valgrind runs the daemon ~20x slower
START_TIMEOUT_S = 60 if SLOW else 20  # port file / mount visible (ASan builds are slower)
EXIT_TIMEOUT_S = 60 if SLOW else 15   # daemon exit after fusermount3 -u
COMMAND_TIMEOUT_S = 60              # any one real program run against the mount
SETTLE_QUIET_S = 0.2                # request log unchanged this long = background work is done
SETTLE_TIMEOUT_S = 20

SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "runtime error:", "LeakSanitizer",
                     "ThreadSanitizer:", "SUMMARY: UndefinedBehaviorSanitizer")

NAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,49}")
ID_RE = re.compile(r"[0-9a-f]{32}")

# The tree as ncffs(1) documents it, each listing in `LC_ALL=C ls -A` order.
ROOT_ENTRIES = (".ncffs-stats", "packages", "triggers")
ACTION_ENTRIES = ("action.json", "activations", "activations.tsv", "days", "failed", "follow.log",
                  "recent")
# A package's own entry, before its actions: follow.log of every action of it.
PACKAGE_ENTRIES = ("follow.log",)
TRIGGER_ENTRIES = ("activations", "trigger.json")
LATEST = "latest"                   # activations/latest -> newest id
# The files of an activation whose record is as the API pages document it (no annotations).
ACTIVATION_FILES = ("activation.json", "duration", "logs.txt", "result.json",
                    "status", "stderr.txt", "stdout.txt")
# cold_start exists only when the record carries annotations (emulator flag --annotations).
ANNOTATED_ACTIVATION_FILES = tuple(sorted(ACTIVATION_FILES + ("cold_start",)))
if OPENWHISK:       # OpenWhisk records always carry annotations
    ACTIVATION_FILES = ANNOTATED_ACTIVATION_FILES


def is_valid_name(name, package=False):
    """The API's naming rule, as the spec states it."""
    return (package and name == "-") or NAME_RE.fullmatch(name) is not None


def local_day(start_ms):
    """The local date an activation that started at start_ms is listed under in days/."""
    return datetime.datetime.fromtimestamp(start_ms / 1000).strftime("%Y-%m-%d")


def window_days():
    """The 31 names of days/: today and the 30 days before it, local time."""
    today = datetime.date.today()
    return [(today - datetime.timedelta(d)).isoformat() for d in range(31)]


def derived_links(emulator, top, pkg, action):
    """The links days/<day>/<id> and recent/<id> that ncffs shows under the action dir top,
    and the day directories: (dirs, links)."""
    ids = emulator.ids(pkg, action)
    dirs = {f"{top}/days", f"{top}/recent"} | {f"{top}/days/{d}" for d in window_days()}
    links = {f"{top}/recent/{a}" for a in ids[:20]}
    links |= {f"{top}/days/{local_day(emulator.record(pkg, action, a)['start'])}/{a}"
              for a in ids}
    return dirs, links


def activation_ids(names):
    """The activation ids among the names of an activations/ directory (drops `latest`)."""
    return [n for n in names if n != LATEST]


def is_sanitized_build(binary=NCFFS):
    """True when binary carries the ASan or TSan runtime hooks (`make SAN=1`, `SAN=thread`)."""
    try:
        with open(binary, "rb") as f:
            data = f.read()
        return b"__asan_init" in data or b"__tsan_init" in data
    except OSError:
        return False


# valgrind memcheck's summary lines when it found something.
VALGRIND_REPORT_RE = re.compile(r"==\d+== (ERROR SUMMARY: [1-9]|\s*definitely lost: [1-9]|Invalid "
                                r"(read|write|free)|Conditional jump|Use of uninitialised|"
                                r".* are definitely lost)")


def sanitizer_reports(text):
    """The lines of text that carry a sanitizer (or valgrind) report marker."""
    return [line for line in text.splitlines()
            if any(m in line for m in SANITIZER_MARKERS) or VALGRIND_REPORT_RE.search(line)]


# ---------------------------------------------------------------------------------------------
# Running real programs.

def base_env(home):
    """Environment for every child: C locale (stable messages), no proxies (curl would honour
    them even for loopback), no NCLOUD_* from the caller, a private HOME."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("NCLOUD_") and k.lower() not in
           ("http_proxy", "https_proxy", "all_proxy", "no_proxy")}
    env.pop("XDG_CACHE_HOME", None)  # the default cache folder is the private HOME's
    env["LC_ALL"] = "C"
    env["LANG"] = "C"
    env["HOME"] = str(home)
    env["NO_PROXY"] = "*"
    return env


def run(argv, check=False, timeout=COMMAND_TIMEOUT_S, env=None, **kwargs):
    """Run a real program; -> CompletedProcess with bytes stdout/stderr."""
    if env is None:
        env = dict(os.environ, LC_ALL="C", LANG="C")
    result = subprocess.run([str(a) for a in argv], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, timeout=timeout, env=env, **kwargs)
    if check and result.returncode != 0:
        raise AssertionError(f"{argv} exited {result.returncode}: "
                             f"{result.stderr.decode(errors='replace')}")
    return result


def out(argv, **kwargs):
    """stdout of a real program that must succeed, as text."""
    return run(argv, check=True, **kwargs).stdout.decode("utf-8")


def mountinfo_entry(path):
    """(per-mount fields, fields after " - ") of the mount exactly at path, or None, from
    /proc/self/mountinfo (mount points there escape space, tab and backslash as octal)."""
    target = os.path.realpath(path)
    with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            fields = left.split()
            point = fields[4].replace("\\040", " ").replace("\\011", "\t").replace("\\134", "\\")
            if point == target:
                return fields, right.split()
    return None


def mounted_fstype(path):
    """The filesystem type mounted exactly at path, or None."""
    entry = mountinfo_entry(path)
    return entry[1][0] if entry else None


# ---------------------------------------------------------------------------------------------
# The emulator.

class Emulator:
    """One emulator process on a loopback port, plus its admin API."""

    def __init__(self, workdir, extra_args=()):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        port_file = self.dir / "port"
        self.log_path = self.dir / "requests.jsonl"
        self.stderr_path = self.dir / "emulator.stderr"
        argv = [PYTHON, str(EMULATOR_PY), "--host", HOST, "--port", "0",
                "--port-file", str(port_file), "--dataset", "test",
                "--log", str(self.log_path), "--quiet", *EMULATOR_ARGS, *extra_args]
        with open(self.dir / "emulator.stdout", "wb") as so, open(self.stderr_path, "wb") as se:
            self.proc = subprocess.Popen(argv, stdout=so, stderr=se, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + START_TIMEOUT_S
        while not port_file.exists():
            if self.proc.poll() is not None:
                raise RuntimeError(f"emulator exited {self.proc.returncode}: {self.stderr()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("emulator did not write its port file in time")
            time.sleep(0.02)
        self.port = int(port_file.read_text().strip())

    def stderr(self):
        return self.stderr_path.read_text(errors="replace")

    def endpoint(self, base="/api/v2"):
        return f"http://{HOST}:{self.port}{base}"

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    # -- HTTP (http.client on loopback: no proxy can get in the way)

    def connection(self):
        return http.client.HTTPConnection(HOST, self.port, timeout=30)

    def http(self, method, target, body=None, headers=None):
        conn = self.connection()
        try:
            conn.request(method, target, body=body, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def admin(self, method, path, body=None):
        status, data = self.http(method, "/_emulator" + path,
                                 None if body is None else json.dumps(body).encode())
        assert status == 200, f"{method} /_emulator{path}: {status} {data[:300]!r}"
        return json.loads(data)

    def requests(self):
        """Every API request logged since the last reset (admin calls are not logged). For
        OpenWhisk mounts each one is named by its NCP twin (path, query; see the emulator's
        ow_as_ncp), the original kept as ow_path/ow_query, so per-resource counts read the
        same for both APIs."""
        return [as_ncp(r) for r in self.admin("GET", "/requests")]

    def reset(self):
        self.admin("POST", "/reset")

    def settle(self, quiet_s=SETTLE_QUIET_S, timeout=SETTLE_TIMEOUT_S):
        """Wait until no new API request arrived for quiet_s (background prefetch is done)."""
        deadline = time.monotonic() + timeout
        last, since = len(self.requests()), time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.05)
            now = len(self.requests())
            if now != last:
                last, since = now, time.monotonic()
            elif time.monotonic() - since >= quiet_s:
                return
        raise AssertionError("emulator request log never went quiet")

    def settle_and_reset(self):
        self.settle()
        self.reset()

    def record(self, pkg, action, activation):
        """The raw record content the emulator serves for one activation (in the shape of
        the API the mounts read)."""
        kind = "ow-record" if OPENWHISK else "record"
        return self.admin("GET", f"/{kind}/{pkg}/{action}/{activation}")

    def trigger_record(self, trigger, activation):
        """The raw record of one trigger activation, like record()."""
        kind = "ow-trigger-record" if OPENWHISK else "trigger-record"
        return self.admin("GET", f"/{kind}/{trigger}/{activation}")

    def ids(self, pkg, action):
        """An action's activation ids, newest first."""
        return self.admin("GET", f"/ids/{pkg}/{action}")["ids"]

    def config(self, **config):
        return self.admin("POST", "/config", config)

    # -- the API itself, signed like a real client (for expected values in tests)

    def api_get(self, target, base="/api/v2"):
        """Signed GET of base+target; -> the "content" of a 200 answer."""
        full = base + target
        stamp = str(int(time.time() * 1000))
        message = f"GET {full}\n{stamp}\n{ACCESS_KEY}".encode()
        signature = base64.b64encode(
            hmac.new(SECRET_KEY.encode(), message, hashlib.sha256).digest()).decode()
        status, data = self.http("GET", full, headers={
            "x-ncp-apigw-timestamp": stamp, "x-ncp-iam-access-key": ACCESS_KEY,
            "x-ncp-apigw-signature-v2": signature})
        assert status == 200, f"GET {full}: {status} {data[:300]!r}"
        return json.loads(data)["content"]


def as_ncp(request):
    if "ncp_path" not in request:
        return request
    twin = dict(request, ow_path=request["path"], ow_query=request["query"],
                path=request["ncp_path"], query=request["ncp_query"])
    twin["target"] = twin["path"] + ("?" + twin["query"] if twin["query"] else "")
    return twin


OW_DEFINITIONS = (
    # NCP definition target -> the OpenWhisk entity path (after /namespaces/_)
    (re.compile(r"/packages/-/actions/([^/]+)"), r"/actions/\1"),
    (re.compile(r"/packages/([^/]+)/actions/([^/]+)"), r"/actions/\1/\2"),
    (re.compile(r"/triggers/([^/]+)"), r"/triggers/\1"),
)


def definition(emulator, target):
    """What action.json or trigger.json must hold: the API's definition of the entity that
    the NCP target names (GET of the action or trigger), from the API the mounts read."""
    if not OPENWHISK:
        return emulator.api_get(target)
    for pattern, entity in OW_DEFINITIONS:
        if pattern.fullmatch(target):
            path = "/api/v1/namespaces/_" + pattern.sub(entity, target)
            auth = base64.b64encode(OW_AUTH.encode()).decode()
            status, data = emulator.http("GET", path, headers={"Authorization": "Basic " + auth})
            assert status == 200, f"GET {path}: {status} {data[:300]!r}"
            return json.loads(data)
    raise AssertionError(f"no OpenWhisk definition for {target}")


def api_requests_to(requests, path_suffix):
    """The logged requests whose path (no query) ends with path_suffix."""
    return [r for r in requests if r["path"].endswith(path_suffix)]


def query_of(request):
    return dict(p.split("=", 1) for p in request["query"].split("&") if "=" in p)


# ---------------------------------------------------------------------------------------------
# Mounts.

class Mount:
    """One ncffs process serving one mount point."""

    def __init__(self, path, argv, env, stderr_path):
        self.path = Path(path)
        self.argv = argv
        self.stderr_path = stderr_path
        self.unmounted = False
        self.exit_problem = None
        self.sanitizer_checked = False  # a test that judged the report itself sets this
        with open(stderr_path, "wb") as se:
            self.proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL,
                                         stdout=se, stderr=subprocess.STDOUT)

    def p(self, *parts):
        """A path inside the mount, as text."""
        return str(self.path.joinpath(*parts))

    def stderr(self):
        return self.stderr_path.read_text(errors="replace")

    def is_mounted(self):
        return mounted_fstype(self.path) is not None

    def wait_live(self):
        deadline = time.monotonic() + START_TIMEOUT_S
        while mounted_fstype(self.path) != "fuse.ncffs":
            if self.proc.poll() is not None:
                raise AssertionError(f"ncffs exited {self.proc.returncode} before mounting:\n"
                                     f"{self.stderr()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"ncffs did not mount within {START_TIMEOUT_S}s:\n"
                                     f"{self.stderr()}")
            time.sleep(0.02)

    def unmount(self):
        """Unmount and reap the daemon, whatever state it is in. Never raises; records in
        self.exit_problem why the exit was not clean."""
        if self.unmounted:
            return
        self.unmounted = True
        clean = True
        if self.is_mounted():
            if run(["fusermount3", "-u", self.path]).returncode != 0:
                clean = False
                run(["fusermount3", "-uz", self.path])
        try:
            self.proc.wait(EXIT_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            clean = False
            self.proc.kill()
            self.proc.wait()
            if self.is_mounted():
                run(["fusermount3", "-uz", self.path])
        if not clean:
            self.exit_problem = "needed a lazy unmount or a kill to go away"
        elif self.proc.returncode != 0:
            self.exit_problem = f"exited {self.proc.returncode} after fusermount3 -u"


def write_wskprops(home):
    """AUTH for OpenWhisk mounts, where the wsk CLI keeps it (never on the command line)."""
    path = Path(home) / ".wskprops"
    path.write_text(f"AUTH={OW_AUTH}\nNAMESPACE=_\n")
    path.chmod(0o600)


def openwhisk_options(opts):
    """NCP mount options as an OpenWhisk mount: endpoint=URL becomes apihost= (its scheme
    and authority), backend=openwhisk; the NCP-only region/api/platform are dropped."""
    converted = ["backend=openwhisk"]
    for opt in opts:
        key, _, value = opt.partition("=")
        if key == "endpoint":
            scheme, sep, rest = value.partition("://")
            converted.append(f"apihost={scheme}{sep}{rest.split('/', 1)[0]}")
        elif key not in ("region", "api", "platform"):
            converted.append(opt)
    return converted


class Harness:
    """What a test gets: mount(), start(), and the default emulator."""

    def __init__(self, tmp_path, emulator, emulator_factory):
        self.tmp = tmp_path
        self.emulator = emulator
        self.new_emulator = emulator_factory
        self.home = tmp_path / "home"
        self.home.mkdir()
        self.mounts = []
        self.runs = []          # (argv, stderr text) of start attempts that did not mount
        self.count = 0

    def env(self, credentials=True, extra=None):
        env = base_env(self.home)
        if credentials and OPENWHISK:
            write_wskprops(self.home)
        elif credentials:
            env["NCLOUD_ACCESS_KEY_ID"] = ACCESS_KEY
            env["NCLOUD_SECRET_ACCESS_KEY"] = SECRET_KEY
        env.update(extra or {})
        return env

    def mountpoint(self):
        self.count += 1
        path = self.tmp / f"mnt{self.count}"
        path.mkdir()
        return path

    def argv(self, mountpoint, options, endpoint, emulator, foreground=True):
        emu = emulator or self.emulator
        opts = [f"endpoint={endpoint or emu.endpoint()}"] + list(options)
        # Every mount gets a disk cache of its own, so that no test is served
        # records an earlier mount kept (request counts stay cold); a test of
        # the disk cache passes its own cache_dir= (or none).
        if not any(o.startswith("cache_dir=") for o in opts):
            opts.append(f"cache_dir={self.tmp}/cache-{mountpoint.name}")
        if OPENWHISK:
            opts = openwhisk_options(opts)
        return (WRAPPER + [NCFFS, str(mountpoint)] + (["-f"] if foreground else [])
                + ["-o", ",".join(opts)])

    def mount(self, options=(), endpoint=None, emulator=None, env=None):
        """Mount ncffs with -f and wait until it is live; unmounted at teardown."""
        path = self.mountpoint()
        argv = self.argv(path, options, endpoint, emulator)
        m = Mount(path, argv, env if env is not None else self.env(),
                  self.tmp / f"ncffs{self.count}.stderr")
        self.mounts.append(m)
        m.wait_live()
        return m

    def start(self, options=(), endpoint=None, emulator=None, env=None, foreground=True,
              timeout=COMMAND_TIMEOUT_S):
        """Run ncffs and wait for it to exit (for start-up failures). -> (CompletedProcess,
        mountpoint). If it mounted after all, the mount is registered for teardown."""
        path = self.mountpoint()
        argv = self.argv(path, options, endpoint, emulator, foreground)
        try:
            result = run(argv, env=env if env is not None else self.env(), timeout=timeout)
        except subprocess.TimeoutExpired:
            result = None
        if mounted_fstype(path) is not None:
            run(["fusermount3", "-u", path])
            if mounted_fstype(path) is not None:
                run(["fusermount3", "-uz", path])
        if result is None:
            raise AssertionError(f"{argv} did not exit within {timeout}s")
        self.runs.append((argv, result.stderr.decode(errors="replace")))
        return result, path

    def teardown(self):
        problems = []
        for m in reversed(self.mounts):
            m.unmount()
            if m.exit_problem:
                problems.append(f"{m.argv}: {m.exit_problem}\n{m.stderr()}")
            if not m.sanitizer_checked and sanitizer_reports(m.stderr()):
                problems.append(f"sanitizer report from {m.argv}:\n{m.stderr()}")
        for argv, text in self.runs:
            if sanitizer_reports(text):
                problems.append(f"sanitizer report from {argv}:\n{text}")
        return problems


@pytest.fixture(scope="session")
def ncffs_bin():
    assert os.access(NCFFS, os.X_OK), f"no executable ncffs at {NCFFS} (set NCFFS_BIN)"
    assert shutil.which("fusermount3"), "fusermount3 is needed"
    return NCFFS


@pytest.fixture(scope="session")
def emulator(tmp_path_factory, ncffs_bin):
    """The shared emulator (test data set, default page cap). Tests only read from it."""
    emu = Emulator(tmp_path_factory.mktemp("emulator"))
    yield emu
    emu.stop()
    tracebacks = [l for l in emu.stderr().splitlines() if "Traceback" in l]
    assert not tracebacks, f"emulator raised:\n{emu.stderr()}"


@pytest.fixture
def emulator_factory(tmp_path):
    """Start a private emulator with extra command-line flags (stopped at teardown)."""
    started = []

    def factory(*extra_args):
        emu = Emulator(tmp_path / f"emulator{len(started)}", extra_args)
        started.append(emu)
        return emu
    yield factory
    for emu in started:
        emu.stop()


@pytest.fixture
def harness(tmp_path, emulator, emulator_factory):
    h = Harness(tmp_path, emulator, emulator_factory)
    try:
        yield h
    finally:
        problems = h.teardown()
    if problems:
        pytest.fail("\n\n".join(problems), pytrace=False)


@pytest.fixture(scope="module")
def shared_mnt(tmp_path_factory, emulator):
    """One mount for a whole module of tests that only look (never wait for TTLs). Tests
    reset the request log themselves; its sanitizer check runs at module end."""
    h = Harness(tmp_path_factory.mktemp("shared"), emulator, None)
    try:
        yield h.mount()
    finally:
        problems = h.teardown()
    if problems:
        pytest.fail("\n\n".join(problems), pytrace=False)


@pytest.fixture
def mnt(harness, emulator):
    """A default mount over the shared emulator, request log reset once it is live."""
    m = harness.mount()
    emulator.reset()        # the start-up probe ran before the mount went live
    return m
