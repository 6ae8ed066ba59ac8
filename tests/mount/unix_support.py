"""Helpers and fixtures for the Unix-citizen, views and call-economy mount tests
(test_unix_*.py, test_views_*.py, test_call_economy.py).

Scope: reading the emulator's request log as API calls by kind; terminal programs (vim, less,
mc) driven in a private tmux server; mounts made through mount(8), whose daemon mount.fuse3
starts in the background, found by /proc and ALWAYS unmounted again; credentials files.

Left out on purpose: the emulator and foreground mounts themselves, which conftest.py owns
(another engineer may still change it, so only its documented names are used here). Fixtures
defined here are imported by name into the test modules that use them.

Runs under Debian's /usr/bin/python3 and pytest, standard library only.
"""

import collections
import glob
import os
import re
import shlex
import shutil
import signal
import tempfile
import time
from pathlib import Path

import pytest

from conftest import (ACCESS_KEY, EXIT_TIMEOUT_S, OPENWHISK,  # noqa: E501
                      SECRET_KEY, Emulator, base_env, mounted_fstype,
                      mountinfo_entry,
                      run)

# ---------------------------------------------------------------------------------------------
# Named limits and constants.

INSTALLED_NCFFS = "/usr/local/bin/ncffs"     # where `make install` puts it; mount(8) finds it
PAGE_SIZE = 100                 # ncffs(1) CACHING: listings are read 100 entries a page
POLL_S = 0.05
TERMINAL_TIMEOUT_S = 15         # a terminal program shows what it should within this
HELPER_MOUNT_TIMEOUT_S = 30     # mount(8) -> mount.fuse3 -> ncffs -> live mount
NOBODY = 65534                  # uid/gid of nobody/nogroup on Debian

# The files of an activation directory that ncffs(1) fixes from the original spec.
FIVE_FILES = ("activation.json", "result.json", "logs.txt", "duration", "status")


def wait_until(predicate, timeout, what):
    """Poll predicate until it returns something true; -> that value, or AssertionError."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(POLL_S)


def iso_ms(ms):
    """Epoch ms -> ISO 8601 UTC with milliseconds, the way activations.tsv writes times."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}Z"


def stats_of(path):
    """/.ncffs-stats (read with cat, as a user would) as {name: number}."""
    text = run(["cat", path], check=True).stdout.decode()
    pairs = {}
    for line in text.splitlines():
        name, value = line.split(" ")
        pairs[name] = float(value) if "." in value else int(value)
    return pairs


# ---------------------------------------------------------------------------------------------
# The request log as API calls.

Call = collections.namedtuple("Call", "kind owner id page target status")

_SHAPES = (
    # (path after the API base, split at "/") -> kind; names are matched by position
    (("packages",), "packages"),
    (("packages", None), "package"),
    (("packages", None, "actions"), "actions"),
    (("packages", None, "actions", None), "action"),
    (("packages", None, "actions", None, "activations"), "activations"),
    (("packages", None, "actions", None, "activations", None), "record"),
    (("triggers",), "triggers"),
    (("triggers", None), "trigger"),
    (("triggers", None, "activations"), "activations"),
    (("triggers", None, "activations", None), "record"),
    (("activations",), "namespace-activations"),
)
_BASE_RE = re.compile(r"^/(?:ncf/)?api/v2/(.*)$")


def classify(request):
    """One logged request -> Call. owner is "pkg/action" or "@trigger" where one applies."""
    m = _BASE_RE.match(request["path"])
    parts = tuple(m.group(1).split("/")) if m else ()
    kind = "other"
    for shape, name in _SHAPES:
        if len(shape) == len(parts) and all(s is None or s == p for s, p in zip(shape, parts)):
            kind = name
            break
    owner = activation = None
    if parts[:1] == ("packages",) and len(parts) >= 4:
        owner = f"{parts[1]}/{parts[3]}"
    elif parts[:1] == ("triggers",) and len(parts) >= 2:
        owner = "@" + parts[1]
    if kind == "record":
        activation = parts[-1]
    query = dict(p.split("=", 1) for p in request["query"].split("&") if "=" in p)
    page = int(query["pageNo"]) if "pageNo" in query else None
    if kind == "activations" and query.get("count") == "true":
        kind = "count"      # OpenWhisk's length of a list (NCP sends totalCount with page 1)
    return Call(kind, owner, activation, page, request["target"], request["status"])


def calls_of(emulator):
    """Every API request the emulator logged since its last reset, as Calls."""
    return [classify(r) for r in emulator.requests()]


def kinds(calls):
    """Counter of kind -> number of calls."""
    return collections.Counter(c.kind for c in calls)


def record_calls(calls, owner=None):
    """Counter of activation id -> number of record GETs (for one owner, or all)."""
    return collections.Counter(c.id for c in calls
                               if c.kind == "record" and (owner is None or c.owner == owner))


def listing_pages(calls, owner):
    """Counter of page number -> GETs of owner's activation listing."""
    return collections.Counter(c.page for c in calls
                               if c.kind == "activations" and c.owner == owner)


def pages_for(count):
    """How many 100-entry pages a listing of count activations takes (at least one)."""
    return max(1, -(-count // PAGE_SIZE))


# OpenWhisk's lists carry no totalCount (make mount-test-openwhisk): one count=true request
# gives the length of a list whose page 1 came back full (at most one per look at an
# action), and a walk ends on a short page, so it takes one page more when the length is a
# multiple of the page size.
COUNT_CALLS = 1 if OPENWHISK else 0


def walk_pages(count):
    """Pages a walk of a listing of count activations requests."""
    return count // PAGE_SIZE + 1 if OPENWHISK else pages_for(count)


def quiet_calls(emulator):
    """Wait until background work (prefetch) is over; -> the calls logged since the reset."""
    emulator.settle()
    return calls_of(emulator)


@pytest.fixture(scope="module")
def module_emulators(tmp_path_factory):
    """Start private emulators that live as long as the test module (each start and stop
    costs most of a second); tests that change one must not depend on each other's changes."""
    started = []

    def factory(*extra_args):
        emu = Emulator(tmp_path_factory.mktemp("module-emulator"), extra_args)
        started.append(emu)
        return emu
    yield factory
    for emu in started:
        emu.stop()
    raised = [emu.stderr() for emu in started if "Traceback" in emu.stderr()]
    assert not raised, f"emulator raised:\n{raised}"


# ---------------------------------------------------------------------------------------------
# Terminal programs in a private tmux server.

class Pane:
    """One program running in its own tmux session; its exit status lands in a file."""

    def __init__(self, tmux, name, status_path):
        self.tmux = tmux
        self.name = name
        self.status_path = status_path

    def text(self):
        """What the terminal shows now (capture-pane), or "" once the program is gone."""
        result = self.tmux.cmd("capture-pane", "-p", "-t", self.name, check=False)
        return result.stdout.decode(errors="replace") if result.returncode == 0 else ""

    def wait_for(self, needle, timeout=TERMINAL_TIMEOUT_S):
        """Wait until the screen shows needle (a str, or a compiled regex); -> the screen."""
        def shown():
            screen = self.text()
            found = needle.search(screen) if hasattr(needle, "search") else needle in screen
            return screen if found else None
        try:
            return wait_until(shown, timeout, f"{needle!r} on the screen")
        except AssertionError:
            raise AssertionError(f"{needle!r} never showed; the screen:\n{self.text()}") from None

    def keys(self, *keys):
        """tmux key names (Enter, F3, C-s, Escape ...)."""
        self.tmux.cmd("send-keys", "-t", self.name, *keys)

    def type(self, text):
        """Literal text, as typed."""
        self.tmux.cmd("send-keys", "-t", self.name, "-l", text)

    def exit_status(self, timeout=TERMINAL_TIMEOUT_S):
        """Wait for the program to end; -> its exit status."""
        def ended():
            try:
                text = Path(self.status_path).read_text()
            except FileNotFoundError:
                return None
            return text if text.endswith("\n") else None
        try:
            return int(wait_until(ended, timeout, f"{self.name} to exit"))
        except AssertionError:
            raise AssertionError(f"{self.name} did not exit; the screen:\n{self.text()}") from None


class Tmux:
    """A tmux server on a socket of its own (never the user's), killed at teardown."""

    def __init__(self):
        # Short path: a UNIX socket path must fit in 108 bytes.
        self.dir = tempfile.mkdtemp(prefix="ncffs-tmux-")
        self.sock = os.path.join(self.dir, "sock")
        self.count = 0
        # A server exits with its last session: a session started just then would meet a
        # server on its way out ("server exited unexpectedly"). One idle session keeps it up.
        self.cmd("new-session", "-d", "-s", "keeper", "sleep 86400")

    def cmd(self, *args, check=True):
        """tmux on this server, without any user's configuration file."""
        return run(["tmux", "-S", self.sock, "-f", "/dev/null", *args], check=check)

    def start(self, argv, env, cwd=None, size=(160, 45)):
        """Run argv (with exactly env) in a new detached session of size columns x rows."""
        self.count += 1
        name = f"p{self.count}"
        status = os.path.join(self.dir, f"{name}.status")
        command = ["env", "-i", *(f"{k}={v}" for k, v in env.items()), *map(str, argv)]
        script = f"{shlex.join(command)}; echo $? > {shlex.quote(status)}"
        if cwd:
            script = f"cd {shlex.quote(str(cwd))} && {script}"
        self.cmd("new-session", "-d", "-s", name, "-x", str(size[0]), "-y", str(size[1]),
                 script)
        return Pane(self, name, status)

    def close(self):
        self.cmd("kill-server", check=False)
        shutil.rmtree(self.dir, ignore_errors=True)


def terminal_env(home):
    """The environment of a program in a tmux pane: a terminal, a private HOME."""
    env = {k: v for k, v in base_env(home).items()
           if k in ("HOME", "LC_ALL", "LANG", "NO_PROXY")}
    env.update(PATH="/usr/local/bin:/usr/bin:/bin", TERM="screen", SHELL="/bin/sh")
    return env


@pytest.fixture
def tmux():
    if not shutil.which("tmux"):
        pytest.skip("tmux is not installed (apt-get install tmux)")
    server = Tmux()
    try:
        yield server
    finally:
        server.close()


# ---------------------------------------------------------------------------------------------
# Mounts made by mount(8).

def write_credentials(path, access_key=ACCESS_KEY, secret_key=SECRET_KEY):
    """A ~/.ncloud/configure style file, mode 600 as ncffs(1) demands; -> its path."""
    path = Path(path)
    path.write_text("# ncffs test credentials\n[DEFAULT]\n"
                    f"ncloud_access_key_id = {access_key}\n"
                    f"ncloud_secret_access_key = {secret_key}\n")
    path.chmod(0o600)
    return path


def ncffs_daemons(mountpoint):
    """pids of the ncffs processes serving mountpoint (found by executable and argv)."""
    target = os.path.realpath(mountpoint)
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            exe = os.path.basename(os.readlink(f"/proc/{entry}/exe"))
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if exe.startswith("ncffs") and os.fsencode(target) in argv:
            pids.append(int(entry))
    return pids


def is_running(pid):
    """True while pid is a live process: not gone, and not a zombie waiting for its parent
    (mount.fuse3's daemon is reparented to init, which reaps it when it gets round to it)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as f:
            state = f.read().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X", "x")


def daemon_exe(pid):
    try:
        return os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return None


class HelperMounts:
    """Mounts made with mount(8). The daemon is mount.fuse3's grandchild and goes to the
    background, so its stderr is gone: sanitized builds are told to write their reports to
    files (ASAN_OPTIONS/UBSAN_OPTIONS log_path), which teardown reads."""

    def __init__(self, tmp_path):
        self.tmp = Path(tmp_path)
        self.reports = self.tmp / "sanitizer"
        self.reports.mkdir()
        self.points = []
        self.public = []

    def mountpoint(self, public=False):
        """A new empty directory; public ones sit under /tmp with mode 755, so that other
        users can reach them (the pytest tmp tree is private to root)."""
        if public:
            path = Path(tempfile.mkdtemp(prefix="ncffs-pub-", dir="/tmp"))
            path.chmod(0o755)
            self.public.append(path)
        else:
            path = self.tmp / f"hmnt{len(self.points)}"
            path.mkdir()
        self.points.append(path)
        return path

    def env(self, home, credentials=False):
        env = base_env(home)
        if credentials:
            env["NCLOUD_ACCESS_KEY_ID"] = ACCESS_KEY
            env["NCLOUD_SECRET_ACCESS_KEY"] = SECRET_KEY
        env["ASAN_OPTIONS"] = f"log_path={self.reports}/asan"
        env["UBSAN_OPTIONS"] = f"log_path={self.reports}/ubsan:print_stacktrace=1"
        env["LSAN_OPTIONS"] = f"log_path={self.reports}/lsan"
        return env

    def mount(self, argv, env, mountpoint):
        """Run a mount(8) command line; -> (CompletedProcess, daemon pid or None)."""
        result = run(argv, env=env, timeout=HELPER_MOUNT_TIMEOUT_S)
        pids = ncffs_daemons(mountpoint) if mounted_fstype(mountpoint) else []
        return result, (pids[0] if len(pids) == 1 else None)

    def umount(self, mountpoint):
        """umount(8) the mount point; -> (CompletedProcess, True when no daemon is left
        within EXIT_TIMEOUT_S)."""
        pids = ncffs_daemons(mountpoint)
        result = run(["umount", mountpoint])
        deadline = time.monotonic() + EXIT_TIMEOUT_S
        while any(is_running(p) for p in pids):
            if time.monotonic() > deadline:
                return result, False
            time.sleep(POLL_S)
        return result, True

    def sanitizer_text(self):
        texts = []
        for path in sorted(glob.glob(str(self.reports / "*"))):
            texts.append(Path(path).read_text(errors="replace"))
        return "\n".join(texts)

    def teardown(self):
        """Unmount whatever is still mounted (lazily if need be), kill leftover daemons;
        -> a list of problems (sanitizer reports)."""
        for path in self.points:
            if mounted_fstype(path):
                if run(["umount", path]).returncode != 0:
                    run(["umount", "-l", path])
            for pid in ncffs_daemons(path):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        for path in self.public:
            try:
                path.rmdir()
            except OSError:
                pass
        # The runtimes create a log_path file only to write a report into it.
        text = self.sanitizer_text()
        if text.strip():
            return [f"sanitizer report from a mount(8)-started ncffs:\n{text}"]
        return []


@pytest.fixture
def helper_mounts(tmp_path):
    mounts = HelperMounts(tmp_path)
    try:
        yield mounts
    finally:
        problems = mounts.teardown()
    if problems:
        pytest.fail("\n\n".join(problems), pytrace=False)


def as_nobody(argv):
    """argv run as nobody:nogroup, no supplementary groups (setpriv from util-linux)."""
    return ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", *argv]


def mount_options(mountpoint):
    """(per-mount options, super options) of the mount at mountpoint, from mountinfo."""
    entry = mountinfo_entry(mountpoint)
    return (entry[0][5].split(","), entry[1][2].split(",")) if entry else None


def mount_source(mountpoint):
    entry = mountinfo_entry(mountpoint)
    return entry[1][1] if entry else None
