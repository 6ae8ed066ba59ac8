"""The shared record cache on Redis (issue 20): a real redis-server on a loopback port, and
mounts of one account that share records through it, counted in the emulator's request log.

A second mount's grep -r asks the API for no record; what Redis holds names no package,
action or id and carries no record text; a value altered in Redis is read right (from the
API) and counted once as rejected; Redis killed in the middle of a run, or never there, costs
no read its right bytes; a bad cache_url= or password stops the mount with one clear line and
never shows the password.

redis-server missing is a failure that says what to install, never a skip. Each mount gets
its own disk cache (conftest), so only Redis can carry records from one mount to another."""

import json
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from conftest import HOST, run
from unix_support import module_emulators, quiet_calls, record_calls  # noqa: F401

N = 230                          # > 2 listing pages of 100
OWNER = "bench/load"
TOP = ("packages", "bench", "load", "activations")
WAIT_S = 30
PASSWORD = "redis-test-password"
# Counts here are exact, so a lookup must not time out because a sanitizer build on a busy
# 2-core machine is slow: what the 50 ms default costs is the unit tests' business
# (tests/unit/test_redis_tier.c, against a silent server). Dead servers refuse at once.
TIMEOUT = "cache_timeout=2000"


# ---------------------------------------------------------------------------------------------
# A real redis-server.

def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class Redis:
    """redis-server on a free loopback port, no persistence, in a folder of its own."""

    def __init__(self, folder, password=None):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.password = password
        self.port = free_port()
        self.proc = None
        self.start()

    def start(self):
        argv = ["redis-server", "--port", str(self.port), "--bind", HOST, "--save", "",
                "--appendonly", "no", "--dir", str(self.folder)]
        if self.password:
            argv += ["--requirepass", self.password]
        try:
            self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL)
        except FileNotFoundError:
            pytest.fail("redis-server is not installed: install the Debian package "
                        "redis-server (make deps)", pytrace=False)
        deadline = time.monotonic() + WAIT_S
        while self.cli("PING") != "PONG":
            assert self.proc.poll() is None, f"redis-server exited {self.proc.returncode}"
            assert time.monotonic() < deadline, "redis-server did not answer PING"
            time.sleep(0.02)

    def cli(self, *args):
        """redis-cli's answer as text (the password through its environment, not argv)."""
        env = dict(os.environ, REDISCLI_AUTH=self.password) if self.password else None
        result = run(["redis-cli", "-h", HOST, "-p", str(self.port), *args], env=env)
        return result.stdout.decode(errors="replace").strip()

    def keys(self):
        """The entries (not the claims on fetches, which lapse within a second)."""
        return [k for k in self.cli("--scan").splitlines() if k and not k.endswith(":claim")]

    def claims(self):
        return [k for k in self.cli("--scan").splitlines() if k.endswith(":claim")]

    def url(self):
        return f"redis://{HOST}:{self.port}"

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()


@pytest.fixture
def redis(tmp_path):
    servers = []

    def factory(password=None):
        servers.append(Redis(tmp_path / f"redis{len(servers)}", password))
        return servers[-1]
    yield factory
    for server in servers:
        server.kill()


# ---------------------------------------------------------------------------------------------
# Mounts.

@pytest.fixture(scope="module")
def emu(module_emulators):
    return module_emulators("--bench-activations", str(N))


def stats(m):
    text = Path(m.p(".ncffs-stats")).read_text()
    return dict(re.findall(r"^(redis_\w+|disk_cache_\w+) (\S+)$", text, re.M))


def number(st, key):
    return int(st[key])


def wait_stored(m, count):
    """Wait until m's background stores are over and at least count landed in Redis."""
    deadline = time.monotonic() + WAIT_S
    while True:
        st = stats(m)
        if number(st, "redis_pending") == 0 and number(st, "redis_stores") >= count:
            return st
        assert time.monotonic() < deadline, f"stores never landed: {st}"
        time.sleep(0.02)


def grep(m):
    result = run(["grep", "-r", "ERROR", m.p(*TOP)], timeout=120)
    assert result.returncode in (0, 1), result.stderr
    return sorted(result.stdout.decode().replace(m.p(), "").splitlines())


def fresh(harness, emu, options, env=None):
    m = harness.mount(list(options), emulator=emu, env=env)
    emu.settle_and_reset()
    return m


def check_record(m, emu, activation):
    """The files of one activation hold exactly what the emulator serves."""
    record = emu.record("bench", "load", activation)
    path = Path(m.p(*TOP, activation))
    assert json.loads((path / "activation.json").read_text()) == record
    assert (path / "logs.txt").read_text() == "".join(line + "\n" for line in record["logs"])


# ---------------------------------------------------------------------------------------------
# The tests.

def test_a_second_mount_greps_with_no_record_request(harness, emu, redis):
    server = redis()
    first = fresh(harness, emu, [f"cache_url={server.url()}", TIMEOUT])
    cold = grep(first)
    assert sum(record_calls(quiet_calls(emu), OWNER).values()) == N
    st = wait_stored(first, N)
    assert number(st, "redis_stores") == N and number(st, "redis_dropped") == 0
    assert st["redis_breaker"] == "closed"

    # What the server holds: N opaque names, sealed values, no record text.
    keys = server.keys()
    assert len(keys) == N
    assert all(re.fullmatch(r"ncffs:v1:[0-9a-f]{64}", k) for k in keys)
    assert all(re.fullmatch(r"ncffs:v1:[0-9a-f]{64}:claim", k) for k in server.claims())
    ids = emu.ids("bench", "load")
    value = server.cli("GET", keys[0])
    for secret in ["bench", "load", ids[0][:12], "activationId", "logs"]:
        assert not any(secret in k for k in keys)
        assert secret not in value
    ttl = int(server.cli("TTL", keys[0]))
    assert 29 * 86400 < ttl <= 30 * 86400

    emu.reset()
    second = fresh(harness, emu, [f"cache_url={server.url()}", TIMEOUT])
    assert grep(second) == cold
    assert record_calls(quiet_calls(emu), OWNER) == {}, "the second mount asked the API"
    st = stats(second)
    assert number(st, "redis_hits") == N and number(st, "redis_rejected") == 0
    # A shared hit lands on this host's disk too.
    assert number(st, "disk_cache_writes") >= N


def test_an_altered_value_is_read_from_the_api_and_counted(harness, emu, redis):
    server = redis()
    first = fresh(harness, emu, [f"cache_url={server.url()}", TIMEOUT])
    cold = grep(first)
    wait_stored(first, N)
    first.unmount()
    victim = server.keys()[7]
    value_len = int(server.cli("STRLEN", victim))
    assert server.cli("SETRANGE", victim, str(value_len // 2), "X") == str(value_len)

    emu.reset()
    second = fresh(harness, emu, [f"cache_url={server.url()}", TIMEOUT])
    assert grep(second) == cold
    for activation in emu.ids("bench", "load"):
        check_record(second, emu, activation)
    assert sum(record_calls(quiet_calls(emu), OWNER).values()) == 1
    st = wait_stored(second, 1)
    assert number(st, "redis_rejected") == 1
    assert number(st, "redis_hits") == N - 1
    # The record the API gave replaced the altered entry.
    assert number(st, "redis_stores") == 1
    assert len(server.keys()) == N


def test_redis_killed_mid_run_costs_no_read_its_bytes(harness, emu, redis):
    server = redis()
    first = fresh(harness, emu, [f"cache_url={server.url()}", TIMEOUT])
    cold = grep(first)
    wait_stored(first, N)
    first.unmount()

    emu.reset()
    second = fresh(harness, emu,
                   ["readahead=0", "prefetch=0", f"cache_url={server.url()}", TIMEOUT])
    ids = emu.ids("bench", "load")
    half = N // 2
    for activation in ids[:half]:
        check_record(second, emu, activation)
    server.kill()
    for activation in ids[half:]:
        check_record(second, emu, activation)
    assert grep(second) == cold
    fetched = record_calls(quiet_calls(emu), OWNER)
    assert set(fetched) == set(ids[half:])
    st = stats(second)
    assert number(st, "redis_hits") == half
    assert number(st, "redis_breaker_trips") >= 1
    assert number(st, "redis_errors") >= 3
    warned = [l for l in second.stderr().splitlines() if "cache server" in l]
    assert len(warned) == 1, second.stderr()


def test_a_dead_server_from_the_start_changes_no_byte(harness, emu):
    port = free_port()                      # nothing listens there
    plain = grep(fresh(harness, emu, []))
    emu.reset()
    started = time.monotonic()
    m = fresh(harness, emu, [f"cache_url=redis://{HOST}:{port}/2"])
    assert grep(m) == plain
    assert sum(record_calls(quiet_calls(emu), OWNER).values()) == N
    st = stats(m)
    assert number(st, "redis_breaker_trips") >= 1 and number(st, "redis_hits") == 0
    assert time.monotonic() - started < WAIT_S
    assert "warning: cache_url=" in m.stderr()


@pytest.mark.parametrize("url,why", [
    ("http://127.0.0.1:6379", "expected redis://HOST:PORT[/DB]"),
    ("redis://127.0.0.1", "HOST and PORT are required"),
    ("redis://127.0.0.1:99999", "PORT must be 1 to 65535"),
    ("redis://127.0.0.1:6379/x", "DB must be a number"),
    ("rediss://127.0.0.1:6379", "TLS (rediss://) is not supported"),
    ("redis://:hunter2@127.0.0.1:6379", "ncffs_cache_password"),
])
def test_a_bad_cache_url_stops_the_mount_with_one_line(harness, emu, url, why):
    result, _ = harness.start([f"cache_url={url}"], emulator=emu)
    err = result.stderr.decode()
    assert result.returncode != 0
    assert why in err and "invalid cache_url=" in err
    assert "hunter2" not in err


def test_the_password_comes_from_the_environment_or_the_credentials_file(harness, emu, redis,
                                                                          tmp_path):
    server = redis(PASSWORD)
    url = f"cache_url={server.url()}/3,{TIMEOUT}"
    # No password, or a wrong one: the server refuses, the mount stops and says where the
    # password comes from, never what it was.
    result, _ = harness.start([url], emulator=emu)
    assert result.returncode != 0 and b"refused: NOAUTH" in result.stderr
    env = harness.env(extra={"NCFFS_CACHE_PASSWORD": "wrong-password"})
    result, _ = harness.start([url], emulator=emu, env=env)
    assert result.returncode != 0 and b"AUTH refused" in result.stderr
    assert b"NCFFS_CACHE_PASSWORD" in result.stderr
    assert b"wrong-password" not in result.stderr

    env = harness.env(extra={"NCFFS_CACHE_PASSWORD": PASSWORD})
    a = fresh(harness, emu, [url], env=env)
    check_record(a, emu, emu.ids("bench", "load")[0])
    wait_stored(a, 1)
    assert len(server.cli("-n", "3", "--scan", "--pattern", "*[0-9a-f]").split()) == 1
    assert PASSWORD not in " ".join(a.argv)

    creds = tmp_path / "configure"
    creds.write_text("[DEFAULT]\nncloud_access_key_id = emulator-access-key\n"
                     "ncloud_secret_access_key = emulator-secret-key\n"
                     f"ncffs_cache_password = {PASSWORD}\n")
    creds.chmod(0o600)
    emu.reset()
    b = fresh(harness, emu, [url, f"credentials={creds}"], env=harness.env(credentials=False))
    check_record(b, emu, emu.ids("bench", "load")[0])
    assert record_calls(quiet_calls(emu), OWNER) == {}
    assert number(stats(b), "redis_hits") == 1


def test_a_password_too_long_to_keep_is_refused_never_cut(harness, emu, redis):
    """A cut password would fail as a wrong one with no reason given: the mount says how long
    a password may be, goes on without the shared cache, and never prints the password."""
    server = redis(PASSWORD)
    too_long = "p" * 300
    env = harness.env(extra={"NCFFS_CACHE_PASSWORD": too_long})
    m = fresh(harness, emu, [f"cache_url={server.url()}", TIMEOUT], env=env)
    check_record(m, emu, emu.ids("bench", "load")[0])
    assert number(stats(m), "redis_enabled") == 0
    err = m.stderr()
    assert "NCFFS_CACHE_PASSWORD) is longer than 255 bytes" in err
    assert too_long not in err and too_long not in " ".join(m.argv)


def test_another_account_on_the_same_server_sees_nothing(harness, emu, emulator_factory,
                                                         redis):
    """Another access key and secret (same records): other names, so every record is asked
    of that account's API, and nothing of the first account's is served or rejected."""
    server = redis()
    first = fresh(harness, emu, [f"cache_url={server.url()}", TIMEOUT])
    grep(first)
    wait_stored(first, N)

    other = emulator_factory("--bench-activations", str(N), "--access-key", "other-key",
                             "--secret-key", "other-secret")
    env = harness.env(extra={"NCLOUD_ACCESS_KEY_ID": "other-key",
                             "NCLOUD_SECRET_ACCESS_KEY": "other-secret"})
    second = harness.mount([f"cache_url={server.url()}", TIMEOUT], emulator=other, env=env)
    other.settle_and_reset()
    grep(second)
    assert sum(record_calls(quiet_calls(other), OWNER).values()) == N
    st = wait_stored(second, N)
    assert number(st, "redis_hits") == 0 and number(st, "redis_rejected") == 0
    assert len(server.keys()) == 2 * N


def test_mounts_that_grep_at_once_fetch_each_record_about_once(harness, emu, redis):
    """Three hosts miss the same records at the same moment: the first to ask claims each
    fetch, the others wait for its copy in Redis instead of asking the API too."""
    server = redis()
    mounts = [fresh(harness, emu, [f"cache_url={server.url()}", TIMEOUT]) for _ in range(3)]
    emu.settle_and_reset()
    greps = [subprocess.Popen(["grep", "-r", "ERROR", m.p(*TOP)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE) for m in mounts]
    outputs = [g.communicate(timeout=120) for g in greps]
    assert all(g.returncode in (0, 1) for g in greps), outputs
    lines = [sorted(o.decode().replace(m.p(), "").splitlines())
             for (o, _), m in zip(outputs, mounts)]
    assert lines[0] == lines[1] == lines[2]
    fetched = sum(record_calls(quiet_calls(emu), OWNER).values())
    stats_all = [wait_stored(m, 0) for m in mounts]
    assert N <= fetched <= N + N // 20, f"{fetched} record requests for {N} records: {stats_all}"
    assert sum(number(st, "redis_hits") for st in stats_all) >= 2 * N - N // 20
    assert len(server.keys()) == N
