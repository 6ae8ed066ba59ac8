"""What file managers, shells and version-control prompts look for in every directory they
show (issue 5): .hidden, .directory, .Trash, .Trash-0, autorun.inf, desktop.ini, .git, HEAD.
At every level of the tree each one is ENOENT, at once and without an API call; HEAD (a valid
Cloud Functions name) is answered from the listing the directory was shown from.

The emulator answers slowly here, so that "at once" means "without a round trip"."""

import errno
import os
import shutil
import time

import pytest

from conftest import run
from unix_support import calls_of

LATENCY_MS = 400
INSTANT_S = LATENCY_MS / 1000 / 2
QUIET_S = LATENCY_MS / 1000 + 0.3      # no request answered for this long: nothing in flight
PROBES = (".hidden", ".directory", ".Trash", ".Trash-0", "autorun.inf", "desktop.ini", ".git",
          "HEAD")


@pytest.fixture
def slow(harness, emulator_factory):
    """A mount over an emulator that answers at once; slow() makes every answer take
    LATENCY_MS from then on."""
    emu = emulator_factory()
    m = harness.mount(emulator=emu)

    def slow_down():
        emu.settle()
        emu.reset()
        emu.config(latency_ms=LATENCY_MS)
    return m, emu, slow_down


def levels(m, emu):
    """Every kind of directory of the tree, root first."""
    activation = emu.ids("billing", "invoice")[0]
    tick = emu.admin("GET", "/trigger-ids/tick")["ids"][0]
    return [
        m.p(), m.p("packages"), m.p("packages", "billing"), m.p("packages", "-"),
        m.p("packages", "billing", "invoice"),
        m.p("packages", "billing", "invoice", "activations"),
        m.p("packages", "billing", "invoice", "activations", activation),
        m.p("packages", "billing", "invoice", "failed"),
        m.p("triggers"), m.p("triggers", "tick"), m.p("triggers", "tick", "activations"),
        m.p("triggers", "tick", "activations", tick),
    ]


def test_probes_are_enoent_at_once_and_cost_nothing(slow):
    m, emu, slow_down = slow
    where = levels(m, emu)
    for level in where:     # a file manager shows each directory before it probes it
        assert not set(PROBES) & set(os.listdir(level))
    slow_down()
    for level in where:
        for probe in PROBES:
            path = os.path.join(level, probe)
            started = time.monotonic()
            with pytest.raises(OSError) as caught:
                os.lstat(path)
            took = time.monotonic() - started
            assert caught.value.errno == errno.ENOENT, path
            assert took < INSTANT_S, f"{path}: {took:.3f}s"
    # HEAD at package level is a valid name: the listing shown above says it is not there,
    # and below a name that is not there nothing is
    for path in (m.p("packages", "HEAD"), m.p("packages", "HEAD", "HEAD"),
                 m.p("packages", "HEAD", ".git", "HEAD"), m.p("packages", "billing", "HEAD"),
                 m.p("triggers", "HEAD", "activations")):
        started = time.monotonic()
        with pytest.raises(FileNotFoundError):
            os.stat(path)
        assert time.monotonic() - started < INSTANT_S, path
    # the shell idiom of prompts, and git's own walk up looking for .git, HEAD, objects ...
    prompt = run(["sh", "-c", 'test -e "$1/HEAD" || test -d "$1/.git"', "sh", m.p("packages")])
    assert prompt.returncode == 1
    if shutil.which("git"):
        result = run(["git", "rev-parse", "--git-dir"], cwd=where[6],   # an activation
                     env=dict(os.environ, LC_ALL="C",
                              GIT_CEILING_DIRECTORIES=os.path.dirname(m.p())))
        assert result.returncode == 128 and b"not a git repository" in result.stderr
    emu.settle(quiet_s=QUIET_S)
    assert calls_of(emu) == []
