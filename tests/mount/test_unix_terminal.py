"""Full-screen programs on the tree, each in a tmux pane of its own (issue 5): vim -R and view
open result.json and logs.txt and show them; plain vim opens with its read-only notice and no
error; less pages a file; Midnight Commander browses into an activation and views logs.txt with
F3. Every one of them quits cleanly (exit status 0), and none costs an API call once the record
is cached: their probes (swap files, .hidden ...) are answered without one."""

import re
import shutil

import pytest

from conftest import out
from unix_support import quiet_calls, terminal_env, tmux  # noqa: F401

VIM_ERROR = re.compile(r"\bE\d{2,4}: ")      # vim's error messages: E303:, E325: ...


def need(program):
    if not shutil.which(program):
        pytest.skip(f"{program} is not installed (apt-get install {program})")


@pytest.fixture(scope="module")
def m(shared_mnt):
    return shared_mnt


@pytest.fixture
def home(tmp_path):
    path = tmp_path / "home"
    path.mkdir()
    return path


def cached_activation(m, emulator, pkg="demo", action="hello", index=1):
    """An activation whose record is cached (read once with cat); the log is then reset."""
    activation = emulator.ids(pkg, action)[index]
    top = m.p("packages", pkg, action, "activations", activation)
    out(["cat", f"{top}/result.json", f"{top}/logs.txt"])
    emulator.settle_and_reset()
    return top, emulator.record(pkg, action, activation)


def quit_vim(pane):
    pane.keys("Escape")
    pane.type(":q")
    pane.keys("Enter")
    return pane.exit_status()


@pytest.mark.parametrize("argv", [["vim", "-R"], ["view"]], ids=["vim-R", "view"])
def test_vim_read_only_shows_result_json_and_logs_txt(m, emulator, tmux, home, argv):
    need(argv[0])
    top, record = cached_activation(m, emulator)
    result_values = [str(v) for v in record["response"]["result"].values()]
    for name, shown in (("result.json", result_values), ("logs.txt", record["logs"])):
        pane = tmux.start([*argv, f"{top}/{name}"], terminal_env(home))
        screen = pane.wait_for("[readonly]")
        screen = pane.wait_for(shown[-1])
        assert all(text in screen for text in shown), screen
        assert not VIM_ERROR.search(screen), screen
        assert quit_vim(pane) == 0
    assert quiet_calls(emulator) == []


def test_plain_vim_opens_with_its_read_only_notice_and_no_error(m, emulator, tmux, home):
    need("vim")
    top, record = cached_activation(m, emulator, index=2)
    pane = tmux.start(["vim", f"{top}/logs.txt"], terminal_env(home))
    # '"PATH" [readonly] 3L, 219B' (vim shortens a long PATH from the left, with "<")
    screen = pane.wait_for(re.compile(r'logs\.txt" \[readonly\] \d+L, \d+B'))
    pane.wait_for(record["logs"][-1][:60])
    assert not VIM_ERROR.search(screen), screen
    assert "W10" not in screen                      # nothing was changed
    # trying to change it is refused by vim's own read-only check, not by an I/O error
    pane.type("x")
    screen = pane.wait_for("W10")
    pane.keys("Escape")
    pane.type(":q!")
    pane.keys("Enter")
    assert pane.exit_status() == 0
    assert quiet_calls(emulator) == []


def test_less_pages_a_file_and_quits(m, emulator, tmux, home):
    need("less")
    top, record = cached_activation(m, emulator, "logs", "long", 0)
    pane = tmux.start(["less", f"{top}/logs.txt"], terminal_env(home), size=(160, 20))
    pane.wait_for(record["logs"][0])
    pane.keys("G")                                  # to the end: the whole file is read
    pane.wait_for(record["logs"][-1])
    pane.type("q")
    assert pane.exit_status() == 0
    assert quiet_calls(emulator) == []


def test_mc_browses_into_an_activation_and_views_logs_txt(m, emulator, tmux, home, tmp_path):
    need("mc")
    activation = emulator.ids("demo", "hello")[5]
    record = emulator.record("demo", "hello", activation)
    top = m.p("packages", "demo", "hello", "activations")
    other = tmp_path / "other"
    other.mkdir()
    pane = tmux.start(["mc", "-u", "-d", top, other], terminal_env(home), size=(160, 45))
    pane.wait_for(activation)                       # the activations are listed
    pane.keys("C-s")                                # quick search to the activation ...
    pane.type(activation)
    pane.keys("Enter")                              # ... and into it
    pane.wait_for("logs.txt")
    pane.wait_for("stderr.txt")
    pane.keys("C-s")
    pane.type("logs.txt")
    pane.keys("F3")                                 # the viewer
    screen = pane.wait_for(record["logs"][0])
    for line in record["logs"]:
        assert line in screen
    pane.keys("F10")                                # leave the viewer ...
    pane.wait_for("stderr.txt")
    pane.keys("F10")                                # ... and mc
    assert pane.exit_status() == 0
