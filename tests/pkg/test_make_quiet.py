"""What `make demo`, `make bench` and `make deps` print while they install (issue 19): one line
per step, apt-get's own output only when a step fails.

apt-get (and dpkg-query, sudo) are replaced by small scripts first in PATH that record their
arguments and print what apt-get prints, so the Makefile's recipes run for real without touching
the package database or the network; make itself, its recipes and the shell are the real ones.
The demo's package list is checked too: what it asks for is what it needs, not the test tools."""

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MAKE_TIMEOUT_S = 60
APT_CHATTER = "Reading package lists... Done\n" * 40
FAKE_PACKAGE = "ncffs-test-not-installed"
# What the demo runs: the compiler and libraries, the FUSE helper, the emulator, jq in the tour.
DEMO_NEEDS = {"build-essential", "pkg-config", "libfuse3-dev", "fuse3", "libcurl4-openssl-dev",
              "libssl-dev", "libcjson-dev", "libhiredis-dev", "python3", "jq"}
TEST_ONLY = {"valgrind", "clang", "vim", "mc", "tmux", "cppcheck", "libcmocka-dev", "gnuplot-nox",
             "plocate", "lintian", "debhelper"}


def fake_bin(tmp_path, apt_status):
    """A directory of stand-ins: apt-get logs its argv and chatters, then exits apt_status for
    `install`; dpkg-query says FAKE_PACKAGE is not installed; sudo just runs its command."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "apt-get.argv"
    scripts = {
        "apt-get": f'#!/bin/sh\necho "$*" >> {log}\nprintf "%s" "{APT_CHATTER}"\n'
                   f'[ "$1" = update ] && exit 0\nexit {apt_status}\n',
        "dpkg-query": '#!/bin/sh\nfor a; do last=$a; done\n'
                      f'[ "$last" = {FAKE_PACKAGE} ] && exit 1\nexec /usr/bin/dpkg-query "$@"\n',
        "sudo": '#!/bin/sh\nexec "$@"\n',
    }
    for name, text in scripts.items():
        path = bin_dir / name
        path.write_text(text)
        path.chmod(0o755)
    return bin_dir, log


def make(args, bin_dir):
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}", LC_ALL="C")
    env.pop("MAKEFLAGS", None)
    return subprocess.run(["make", "--no-print-directory", "-C", str(REPO), *args],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                          timeout=MAKE_TIMEOUT_S, text=True)


@pytest.mark.parametrize("target,who", [("demo-deps-check", "make demo"),
                                        ("bench-deps-check", "make bench"),
                                        ("deps", "make deps")])
def test_install_is_one_line_per_step(tmp_path, target, who):
    bin_dir, log = fake_bin(tmp_path, 0)
    # PKGS=no-such-module: the check finds a library missing, as on a fresh machine
    result = make([target, "PKGS=no-such-module", f"DEMO_PACKAGES=jq {FAKE_PACKAGE}",
                   f"DEBIAN_PACKAGES=jq {FAKE_PACKAGE}"], bin_dir)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"{who}: installing with apt-get: {FAKE_PACKAGE}",
        f"{who}: apt-get update ... done",
        f"{who}: apt-get install ... done"]
    assert result.stderr == ""
    assert log.read_text().splitlines() == ["update", f"install -y {FAKE_PACKAGE}"]


def test_a_failed_step_shows_what_apt_get_said(tmp_path):
    bin_dir, _ = fake_bin(tmp_path, 100)
    result = make(["demo-deps-check", "PKGS=no-such-module", f"DEMO_PACKAGES={FAKE_PACKAGE}"],
                  bin_dir)
    assert result.returncode != 0
    assert result.stdout.splitlines()[-1] == "make demo: apt-get install ... failed"
    assert APT_CHATTER in result.stderr
    assert not list(Path(os.environ.get("TMPDIR", "/tmp")).glob("ncffs-make.*"))


def test_nothing_missing_is_one_line(tmp_path):
    bin_dir, log = fake_bin(tmp_path, 0)
    result = make(["demo-deps-check", "PKGS=no-such-module", "DEMO_PACKAGES=dpkg"], bin_dir)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "make demo: all needed Debian packages are installed\n"
    assert not log.exists()


def test_demo_asks_only_for_what_the_demo_needs(tmp_path):
    result = make(["-pn", "demo-stop"], tmp_path)
    lines = [l for l in result.stdout.splitlines() if l.startswith("DEMO_PACKAGES :=")]
    assert len(lines) == 1
    demo = set(lines[0].split(":=", 1)[1].split())
    assert demo == DEMO_NEEDS
    assert not demo & TEST_ONLY
