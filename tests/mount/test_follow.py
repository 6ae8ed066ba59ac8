"""follow.log (issue 11): an action's and a package's activations as a file that grows while it
is open. Real programs follow it (tail -F in a pipe; tail -f and less +F in tmux, stopped
with Ctrl-C); runs added to the emulator (some readable only seconds after they are listed)
show up within two poll intervals, each once; the request log shows polling only while a
handle is open, one list request per followed action per poll however many readers and files
include it, and none once they closed; a reader further behind than follow_buffer gets EIO;
a byte once at an offset never changes. The emulator's list order is not assumed
(`make mount-test-oldest-first` runs this file against --order oldest-first too, and one test
here runs both orders itself)."""

import collections
import errno
import os
import re
import shlex
import subprocess
import threading
import time

import pytest

from conftest import SLOW, out, run
from unix_support import (Pane, calls_of, iso_ms, module_emulators, stats_of,  # noqa: F401
                          terminal_env, tmux, wait_until)

POLL_S = 1                          # -o poll= of these mounts
SLACK_S = 6.0 if SLOW else 1.0      # tail's own polling, scheduling, a valgrind daemon
WAIT_S = 60 if SLOW else 15         # anything that should happen "soon"
MIB = 1 << 20
HEADER_RE = re.compile(r"== (\S+) ([0-9a-f]{32}) ([^/\s]+)/(\S+) (\d+ms|-) (.+)")
LOG_TIME = "2026-01-01T00:00:00.000Z"


@pytest.fixture(scope="module")
def changing(module_emulators):
    """A private emulator that the tests of this module add activations to."""
    return module_emulators()


def follow_log(m, pkg, action=None):
    return m.p("packages", pkg, *([action] if action else []), "follow.log")


def entry(emu, pkg, action, activation):
    """The bytes follow.log shows for one activation: its header line, then its logs."""
    record = emu.record(pkg, action, activation)
    status = (record.get("response") or {}).get("status") or "-"
    header = (f"== {iso_ms(record['start'])} {activation} {pkg}/{action} "
              f"{record['duration']}ms {status}\n")
    return header + "".join(line + "\n" for line in record["logs"])


def newest(emu, owners):
    """(pkg, action, id) of the newest activation among owners' newest ones."""
    heads = [(pkg, action, emu.ids(pkg, action)[0]) for pkg, action in owners]
    return max(heads, key=lambda h: emu.record(*h)["start"])


def add(emu, pkg, action, text, visible_after_s=0, lines=None):
    """A new run of pkg/action logging text (or lines); -> (id, epoch s it is readable)."""
    body = {"logs": lines or [f"{LOG_TIME} stdout: {text}"]}
    if visible_after_s:
        body["visible_after_s"] = visible_after_s
    added = emu.admin("POST", f"/addactivation/{pkg}/{action}", body)
    return added["activationId"], added["visible_at"] / 1000


def poll_calls(calls, owner):
    """The list requests of owner's activations."""
    return [c for c in calls if c.kind == "activations" and c.owner == owner]


CONTROL = "logs/empty"               # an action no test here follows or changes


def polls_of(m, owner):
    """Polls made by owner's poller (0 when it has none)."""
    return stats_of(m.p(".ncffs-stats")).get(f"follow_polls:{owner}", 0)


def not_control(calls):
    return [c for c in calls if c.owner != CONTROL]


def warm_control(m):
    """Look the control's follow.log up once, so that later opens cost no listing."""
    os.stat(follow_log(m, *CONTROL.split("/")))


def let_polls_pass(m, n):
    """Wait until n poll periods have passed on the daemon's own beat: follow a control
    action until its poller has polled n times (a condition, not a sleep: under load the
    beat slows with everything else). Its own requests are the control's (not_control)."""
    fd = os.open(follow_log(m, *CONTROL.split("/")), os.O_RDONLY)
    try:
        wait_until(lambda: polls_of(m, CONTROL) >= n, WAIT_S + 2 * n * POLL_S,
                   f"{n} polls of {CONTROL}")
    finally:
        os.close(fd)


def wait_poll_requests(m, more):
    """Wait until the mount made `more` poll requests beyond what it has made now."""
    start = stats_of(m.p(".ncffs-stats"))["follow_poll_requests"]
    wait_until(lambda: stats_of(m.p(".ncffs-stats"))["follow_poll_requests"] >= start + more,
               WAIT_S + 2 * more * POLL_S, f"{more} more polls")


def pollers_of(m):
    """The daemon's pollers not freed yet: those polling, and those stopped whose job (a timer
    in the request scheduler, or a poll under way) is not over yet."""
    stats = stats_of(m.p(".ncffs-stats"))
    return stats["follow_actions_polled"] + stats["follow_pollers_stopping"]


class Tail:
    """`tail -F -n +1` of a file in a pipe, its output collected with arrival times."""

    def __init__(self, path):
        self.proc = subprocess.Popen(["tail", "-F", "-s", "0.1", "-n", "+1", path],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.text = ""
        self.arrivals = []          # (length of the output, epoch time that line came)
        self.lock = threading.Lock()
        self.reader = threading.Thread(target=self.collect, daemon=True)
        self.reader.start()

    def collect(self):
        for raw in iter(self.proc.stdout.readline, b""):
            with self.lock:
                self.text += raw.decode()
                self.arrivals.append((len(self.text), time.time()))

    def output(self):
        with self.lock:
            return self.text

    def wait_for(self, text, timeout=WAIT_S):
        """Wait until the output holds text; -> the epoch time its last line came."""
        wait_until(lambda: text in self.output(), timeout, f"{text[:60]!r} from tail -F")
        with self.lock:
            end = self.text.index(text) + len(text)
            return next(t for length, t in self.arrivals if length >= end)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)
        self.reader.join(10)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


# ---- what a follow.log holds -------------------------------------------------------------------

def test_cat_prints_the_newest_activation_and_exits(harness, changing):
    emu = changing
    m = harness.mount(emulator=emu, options=[f"poll={POLL_S}"])
    for pkg, action in (("demo", "hello"), ("billing", "invoice")):
        path = follow_log(m, pkg, action)
        assert os.stat(path).st_size == 0                   # closed: empty, nothing polled
        assert out(["cat", path]) == entry(emu, pkg, action, emu.ids(pkg, action)[0])
    pkg_newest = newest(emu, (("demo", "hello"), ("demo", "resize-image")))
    assert out(["cat", follow_log(m, "demo")]) == entry(emu, *pkg_newest)
    text = out(["cat", follow_log(m, "demo", "hello")])
    header = HEADER_RE.fullmatch(text.splitlines()[0])
    assert header and header.group(2) == emu.ids("demo", "hello")[0]
    assert header.group(3, 4) == ("demo", "hello")
    # awk finds the headers: $3 the id, $4 the action, $5+0 the milliseconds
    fields = out(["awk", '$1 == "==" {print $3, $4, $5 + 0}', follow_log(m, "demo", "hello")])
    record = emu.record("demo", "hello", emu.ids("demo", "hello")[0])
    assert fields == f"{emu.ids('demo', 'hello')[0]} demo/hello {record['duration']}\n"
    # cat closed it: no poller is left, no request follows
    wait_until(lambda: pollers_of(m) == 0, WAIT_S, "the pollers to be freed")
    warm_control(m)
    emu.reset()
    let_polls_pass(m, 3)
    assert not_control(calls_of(emu)) == []


def test_tail_F_of_an_action_and_its_package_sees_new_runs_within_two_polls(harness, changing):
    emu = changing
    m = harness.mount(emulator=emu, options=[f"poll={POLL_S}"])
    invoice = emu.ids("billing", "invoice")[0]
    demo_newest = newest(emu, (("demo", "hello"), ("demo", "resize-image")))
    with Tail(follow_log(m, "billing", "invoice")) as action_tail, \
            Tail(follow_log(m, "demo")) as package_tail:
        action_tail.wait_for(entry(emu, "billing", "invoice", invoice))
        package_tail.wait_for(entry(emu, *demo_newest))
        runs = [("billing", "invoice", add(emu, "billing", "invoice", "run one"), action_tail),
                ("billing", "invoice", add(emu, "billing", "invoice", "run two, late", 3),
                 action_tail),
                ("demo", "hello", add(emu, "demo", "hello", "hello again"), package_tail),
                ("demo", "resize-image", add(emu, "demo", "resize-image", "resized, late", 3),
                 package_tail)]
        for (pkg, action, (activation, readable_at), tail), late_s in zip(runs, (0, 3, 0, 3)):
            seen_at = tail.wait_for(entry(emu, pkg, action, activation))
            # a late record is asked again 1, 2, 4 ... s after its first 404 (+ a quarter
            # of jitter), so it is seen at most that backoff after it became readable
            assert seen_at - readable_at <= 1.25 * late_s + 2 * POLL_S + SLACK_S, (pkg, action)
        texts = (action_tail.output(), package_tail.output())
    for pkg, action, (activation, _), tail in runs:
        text = texts[0] if tail is action_tail else texts[1]
        assert text.count(activation) == 1, activation          # never twice
    # each file holds whole entries, oldest first: its start, then those runs
    for text in texts:
        headers = [HEADER_RE.fullmatch(line) for line in text.splitlines() if line[:3] == "== "]
        assert all(headers) and len(headers) == 3
    # the late runs were listed (and asked for) while their records still answered 404
    records = [c for c in calls_of(emu) if c.kind == "record"]
    for activation in (runs[1][2][0], runs[3][2][0]):
        statuses = [c.status for c in records if c.id == activation]
        assert 404 in statuses and statuses[-1] == 200, statuses


def test_a_run_its_list_shows_late_is_followed_once_after_newer_ones(harness, changing):
    """A stale list index (OpenWhisk documents it; NCP is built on it): a run missing from
    every list for 5 s, while a newer run is listed at once. Each shows up, once: polls ask
    for a window that reaches back FOLLOW_LATE_LISTING_S before the newest start seen."""
    emu = changing
    m = harness.mount(emulator=emu, options=[f"poll={POLL_S}"])
    with Tail(follow_log(m, "billing", "invoice")) as tail:
        tail.wait_for(entry(emu, "billing", "invoice", emu.ids("billing", "invoice")[0]))
        late = emu.admin("POST", "/addactivation/billing/invoice",
                         {"logs": [f"{LOG_TIME} stdout: listed late"], "listed_after_s": 5})
        # the newer run starts 2.5 s after the late one: beyond v2.0's rounding of windows
        # to the second, so only the reach back brings the late one in
        time.sleep(2.5)
        newer, _ = add(emu, "billing", "invoice", "listed at once")
        tail.wait_for(entry(emu, "billing", "invoice", newer))
        seen_at = tail.wait_for(entry(emu, "billing", "invoice", late["activationId"]))
        assert seen_at >= late["listed_at"] / 1000 - SLACK_S
        let_polls_pass(m, 2)
        text = tail.output()
    assert text.count(late["activationId"]) == 1 and text.count(newer) == 1
    assert text.index(newer) < text.index(late["activationId"])     # in the order they came


@pytest.mark.parametrize("order", ["newest-first", "oldest-first"])
def test_new_runs_are_found_in_either_list_order_at_one_request_a_poll(harness,
                                                                          emulator_factory,
                                                                          order):
    emu = emulator_factory("--order", order)
    m = harness.mount(emulator=emu, options=[f"poll={POLL_S}"])
    path = follow_log(m, "paging", "many")                  # 250 runs: three pages at 100
    with Tail(path) as tail:
        tail.wait_for(entry(emu, "paging", "many", emu.ids("paging", "many")[0]))
        emu.reset()
        added = [add(emu, "paging", "many", f"run {k} in {order}") for k in range(3)]
        for activation, _ in added:
            tail.wait_for(entry(emu, "paging", "many", activation))
        wait_poll_requests(m, 2)        # later polls fetch no record again
        calls = calls_of(emu)
    lists = poll_calls(calls, "paging/many")
    # one request a poll: a window of start times, one short page whatever the order
    assert lists and all("start=" in c.target for c in lists)
    assert {c.page for c in lists} == {1}
    records = collections.Counter(c.id for c in calls if c.kind == "record")
    assert records == {activation: 1 for activation, _ in added}


def test_a_record_never_readable_is_given_up_after_late_max(harness, emulator_factory):
    """-o late_max=3: a run listed but never readable is asked on the backoff (at 0, 1, 3 s),
    then given up with a warning and counted in the stats; the runs after it still show, and
    it never does."""
    emu = emulator_factory()
    m = harness.mount(emulator=emu, options=[f"poll={POLL_S}", "late_max=3"])
    with Tail(follow_log(m, "billing", "invoice")) as tail:
        tail.wait_for(entry(emu, "billing", "invoice", emu.ids("billing", "invoice")[0]))
        emu.reset()
        never, _ = add(emu, "billing", "invoice", "never readable", 3600)
        wait_until(lambda: stats_of(m.p(".ncffs-stats"))["follow_given_up"] >= 1, WAIT_S,
                   "the record to be given up")
        after, _ = add(emu, "billing", "invoice", "after it")
        tail.wait_for(entry(emu, "billing", "invoice", after))
        wait_poll_requests(m, 3)            # and still not asked again
        text = tail.output()
    assert never not in text
    assert f"gave up on activation {never}" in m.stderr()
    asked = [c.status for c in calls_of(emu) if c.kind == "record" and c.id == never]
    assert 2 <= len(asked) <= 4 and set(asked) == {404}, asked
    stats = stats_of(m.p(".ncffs-stats"))
    assert stats["records_gone"] >= 1 and stats["follow_given_up"] == 1, stats


def test_unmount_while_a_poll_is_in_flight(harness, emulator_factory):
    """A poll that hangs (the server never answers) when the last reader goes and the mount
    is unmounted: the daemon cancels it and exits 0 at once, not after the hang."""
    emu = emulator_factory()
    m = harness.mount(emulator=emu, options=[f"poll={POLL_S}", "timeout=60"])
    fd = os.open(follow_log(m, "billing", "invoice"), os.O_RDONLY)
    try:
        wait_until(lambda: os.fstat(fd).st_size > 0, WAIT_S, "follow.log to start")
        # A poll is a start window (NCP: .../invoice/activations?...start=; OpenWhisk:
        # /activations?name=billing/invoice...&since=).
        poll = r"(/invoice/activations\?.*start=|activations\?name=billing(/|%2F)invoice&.*since=)"
        emu.config(faults=[{"path_regex": poll, "kind": "hang",
                            "seconds": 60}])
        wait_until(lambda: stats_of(m.p(".ncffs-stats"))["api_in_flight"] > 0, WAIT_S,
                   "a poll in flight")
    finally:
        os.close(fd)
    started = time.monotonic()
    m.unmount()
    assert m.exit_problem is None, m.stderr()
    assert time.monotonic() - started < 10
    assert m.proc.returncode == 0


# ---- what following costs ----------------------------------------------------------------------

FOLLOWED = ("demo/hello", "demo/resize-image", "billing/invoice")


def test_polling_only_while_followed_one_request_per_action_per_poll(harness, changing):
    emu = changing
    m = harness.mount(emulator=emu, options=[f"poll={POLL_S}"])
    files = [follow_log(m, "demo", "hello"), follow_log(m, "demo", "hello"),
             follow_log(m, "demo"), follow_log(m, "billing", "invoice")]
    run(["ls", "-l", m.p("packages", "demo"), m.p("packages", "demo", "hello"),
         m.p("packages", "billing", "invoice")], check=True)
    warm_control(m)
    emu.settle_and_reset()
    # nobody follows: looking at the files costs nothing, and nothing is polled
    run(["stat", *files], check=True)
    let_polls_pass(m, 3)
    assert not_control(calls_of(emu)) == []
    wait_until(lambda: pollers_of(m) == 0, WAIT_S, "the control's poller to go")

    # four handles on three files include three actions: one poller each
    fds = [os.open(path, os.O_RDONLY) for path in files]
    try:
        # The first poll may fetch the records of runs that started in the same second as
        # the newest (a v2.0 window starts at a whole second), once: count from the second.
        wait_until(lambda: all(polls_of(m, o) >= 1 for o in FOLLOWED), WAIT_S, "first polls")
        emu.reset()
        window = 6
        start = {o: polls_of(m, o) for o in FOLLOWED}
        wait_until(lambda: all(polls_of(m, o) >= start[o] + window for o in FOLLOWED),
                   WAIT_S + 2 * window * POLL_S, f"{window} polls of each")
        calls = calls_of(emu)
        stats = stats_of(m.p(".ncffs-stats"))
        assert pollers_of(m) == 3
    finally:
        for fd in fds:
            os.close(fd)
    assert {c.kind for c in calls} == {"activations"}, calls   # nothing new: no record
    for owner in FOLLOWED:
        assert window - 1 <= len(poll_calls(calls, owner)) <= window + 2, (owner, calls)
    assert stats["follow_actions_polled"] == 3
    assert stats["follow_files_open"] == 3 and stats["follow_readers"] == 4
    assert stats["follow_poll_requests"] >= 3 * (window - 1)
    assert {f"follow_polls:{owner}" for owner in FOLLOWED} <= set(stats)

    # the last handle closed: no more polls, and the pollers are freed
    wait_until(lambda: stats_of(m.p(".ncffs-stats"))["follow_actions_polled"] == 0, WAIT_S,
               "the pollers to stop")
    # freed: no poll that was under way when the last file closed is left
    wait_until(lambda: pollers_of(m) == 0, WAIT_S, "the pollers to be freed")
    emu.reset()
    let_polls_pass(m, 3)
    assert not_control(calls_of(emu)) == []


def test_a_reader_behind_the_buffer_gets_eio_never_other_bytes(harness, changing):
    emu = changing
    m = harness.mount(emulator=emu, options=[f"poll={POLL_S}", "follow_buffer=1"])
    path = follow_log(m, "logs", "empty")
    fd = os.open(path, os.O_RDONLY)
    try:
        start = os.pread(fd, 4096, 0)
        assert start.startswith(b"== ")
        padding = "x" * 200
        last = ""
        for k in range(3):                      # three runs of ~750 KB: 2.2 MB > 1 MiB
            lines = [f"{LOG_TIME} stdout: run {k} line {i} {padding}" for i in range(3000)]
            add(emu, "logs", "empty", None, lines=lines)
            last = lines[-1]
        wait_until(lambda: os.fstat(fd).st_size > 2 * MIB, WAIT_S, "the file to grow")
        wait_until(lambda: os.pread(fd, 4096, os.fstat(fd).st_size - 4096)
                   .endswith((last + "\n").encode()), WAIT_S, "the last run")
        with pytest.raises(OSError) as behind:
            os.pread(fd, 4096, 0)
        assert behind.value.errno == errno.EIO
        size = os.fstat(fd).st_size
        # a reader within the newest megabyte gets exact bytes
        assert os.pread(fd, len(last) + 1, size - len(last) - 1) == (last + "\n").encode()
        assert out(["tail", "-n", "1", path]) == last + "\n"
    finally:
        os.close(fd)
    assert "behind the oldest byte kept" in m.stderr()


def test_a_byte_once_at_an_offset_never_changes(harness, changing):
    emu = changing
    m = harness.mount(emulator=emu, options=[f"poll={POLL_S}"])
    path = follow_log(m, "billing", "invoice")
    follower = os.open(path, os.O_RDONLY)
    try:
        first = out(["cat", path]).encode()
        added = [add(emu, "billing", "invoice", "stable one"),
                 add(emu, "billing", "invoice", "stable two, late", 2)]
        wanted = [entry(emu, "billing", "invoice", a).encode() for a, _ in added]
        wait_until(lambda: all(w in run(["cat", path]).stdout for w in wanted), WAIT_S,
                   "both runs")
        second = run(["cat", path], check=True).stdout
        assert len(second) > len(first) and second[:len(first)] == first
        assert os.pread(follower, len(second), 0) == second
        assert os.fstat(follower).st_size == len(second) == os.stat(path).st_size
        wait_poll_requests(m, 2)                # later polls change nothing already there
        assert run(["cat", path], check=True).stdout[:len(second)] == second
    finally:
        os.close(follower)


# ---- real programs in a terminal ---------------------------------------------------------------

def start_interruptible(tmux, argv, env, size=(160, 45)):
    """Like Tmux.start, but the shell around argv survives Ctrl-C (bash with a trap; its
    children still get the default SIGINT), so the status file gets argv's exit status: 130
    when SIGINT killed it."""
    tmux.count += 1
    name = f"p{tmux.count}"
    status = os.path.join(tmux.dir, f"{name}.status")
    command = shlex.join(["env", "-i", *(f"{k}={v}" for k, v in env.items()), *map(str, argv)])
    script = f"trap : INT; {command}; echo $? > {shlex.quote(status)}"
    tmux.cmd("new-session", "-d", "-s", name, "-x", str(size[0]), "-y", str(size[1]),
             f"exec bash -c {shlex.quote(script)}")
    return Pane(tmux, name, status)


def test_tail_f_and_less_F_follow_and_stop_at_ctrl_c(harness, changing, tmux):
    emu = changing
    m = harness.mount(emulator=emu, options=[f"poll={POLL_S}"])
    home = harness.home
    path = follow_log(m, "demo", "resize-image")
    first = emu.ids("demo", "resize-image")[0]
    tail = start_interruptible(tmux, ["tail", "-f", path], terminal_env(home))
    tail.wait_for(first, timeout=WAIT_S)
    less = start_interruptible(tmux, ["less", "+F", path], terminal_env(home), size=(200, 30))
    less.wait_for("Waiting for data", timeout=WAIT_S)
    activation, _ = add(emu, "demo", "resize-image", "seen in a terminal")
    tail.wait_for("seen in a terminal", timeout=WAIT_S)
    less.wait_for("seen in a terminal", timeout=WAIT_S)
    assert activation in tail.text() and activation in less.text()

    began = time.monotonic()
    tail.keys("C-c")
    assert tail.exit_status(timeout=WAIT_S) == 130          # killed by SIGINT, at once
    assert time.monotonic() - began < 2 + SLACK_S
    began = time.monotonic()
    less.keys("C-c")                                        # stops following ...
    wait_until(lambda: "Waiting for data" not in less.text(), WAIT_S, "less to stop following")
    less.type("q")                                          # ... and quits
    assert less.exit_status(timeout=WAIT_S) == 0
    assert time.monotonic() - began < 2 + SLACK_S

    wait_until(lambda: stats_of(m.p(".ncffs-stats"))["follow_actions_polled"] == 0, WAIT_S,
               "the pollers to stop")
    # unmounting right after the readers closed takes no time
    began = time.monotonic()
    m.unmount()
    assert m.exit_problem is None, m.stderr()
    assert time.monotonic() - began < 3 + SLACK_S
