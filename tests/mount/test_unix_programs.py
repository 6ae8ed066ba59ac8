"""Everyday command-line programs on the tree (issue 5): jq, python3's json, head, tail, wc,
find | xargs jq, tree, du, ls -lR, df, stat -f, getfattr, and access(2). Each must answer what
the API holds, exit 0 and print nothing on standard error."""

import json
import os
import re
import shutil

import pytest

from conftest import ACTIVATION_FILES, PYTHON, activation_ids, run


def ok(argv, **kwargs):
    """stdout of a program that must succeed quietly, as text."""
    result = run(argv, **kwargs)
    assert result.returncode == 0, (argv, result.stderr)
    assert result.stderr == b"", (argv, result.stderr)
    return result.stdout.decode("utf-8")


def sh(script, *args):
    return ok(["sh", "-c", script, "sh", *map(str, args)])


@pytest.fixture(scope="module")
def m(shared_mnt):
    return shared_mnt


def activation_dir(m, pkg, action, activation):
    return m.p("packages", pkg, action, "activations", activation)


LOAD_EACH = "import json, sys\nfor p in sys.argv[1:]: print(json.dumps(json.load(open(p))))"


def test_jq_and_python_json_read_result_json(m, emulator):
    ids = emulator.ids("demo", "resize-image")
    paths = [f"{activation_dir(m, 'demo', 'resize-image', a)}/result.json" for a in ids]
    expected = [emulator.record("demo", "resize-image", a)["response"]["result"] for a in ids]
    for path, result in zip(paths, expected):
        assert json.loads(ok(["jq", ".", path])) == result
    assert [json.loads(line) for line in ok([PYTHON, "-c", LOAD_EACH, *paths]).splitlines()] \
        == expected
    records = [json.loads(line) for line in ok(
        [PYTHON, "-c", LOAD_EACH, *(p.replace("result.json", "activation.json") for p in paths)]
    ).splitlines()]
    assert records == [emulator.record("demo", "resize-image", a) for a in ids]


def test_head_tail_wc_on_a_3000_line_log(m, emulator):
    activation = emulator.ids("logs", "long")[0]
    path = f"{activation_dir(m, 'logs', 'long', activation)}/logs.txt"
    lines = emulator.record("logs", "long", activation)["logs"]
    assert len(lines) == 3000
    assert ok(["wc", "-l", path]).split()[0] == "3000"
    assert ok(["head", "-n", "5", path]) == "".join(l + "\n" for l in lines[:5])
    assert ok(["tail", "-n", "7", path]) == "".join(l + "\n" for l in lines[-7:])
    assert ok(["head", "-c", "100", path]) == "\n".join(lines)[:100]
    assert ok(["tail", "-c", "+1", path]) == "".join(l + "\n" for l in lines)


def test_find_name_result_json_xargs_jq(m, emulator):
    top = m.p("packages", "billing", "invoice")
    payloads = sh('find "$1" -name result.json | xargs jq -r .payload', top).splitlines()
    expected = [str(emulator.record("billing", "invoice", a)["response"]["result"].get("payload"))
                .replace("None", "null") for a in emulator.ids("billing", "invoice")]
    assert sorted(payloads) == sorted(expected)
    # find does not follow latest or failed/ links: one result.json per activation
    found = ok(["find", top, "-name", "result.json"]).splitlines()
    assert len(found) == len(emulator.ids("billing", "invoice"))
    assert all("/activations/" in f and "/latest/" not in f for f in found)


def test_tree_L3_shows_packages_and_actions(m, emulator):
    assert shutil.which("tree"), "tree is needed (apt-get install tree)"
    text = ok(["tree", "-L", "3", "--noreport", m.p()])
    assert text.splitlines()[0] == m.p()
    names = set(re.findall(r"[-|`└├│ ]+ (\S+)$", text, re.M))
    assert {"packages", "triggers", "demo", "billing", "hello", "resize-image", "invoice",
            "standalone", "tick", "on-upload", "trigger.json", "activations"} <= names
    assert ".ncffs-stats" not in names               # tree hides dot files like ls does
    assert ".ncffs-stats" in ok(["tree", "-a", "-L", "1", m.p()])


def test_du_and_ls_lR_walk_an_action(m, emulator):
    top = m.p("packages", "billing", "invoice")
    ids = emulator.ids("billing", "invoice")
    size, where = ok(["du", "-sh", top]).split("\t")
    assert where.strip() == top and re.fullmatch(r"\d+(\.\d+)?[KM]?", size)
    apparent = int(ok(["du", "-s", "-b", f"{top}/activations"]).split()[0])
    expected = 0
    for activation in ids:
        for name in ACTIVATION_FILES:
            expected += os.lstat(f"{top}/activations/{activation}/{name}").st_size
    expected += len(ids[0])          # the latest symlink: its size is its target's length
    assert apparent == expected
    listing = ok(["ls", "-lR", top])
    for activation in ids:
        assert f"{top}/activations/{activation}:" in listing
    assert re.search(rf"^lr-xr-xr-x .* latest -> {ids[0]}$", listing, re.M)
    assert listing.count(" result.json\n") == len(ids)


def test_df_and_stat_f(m):
    lines = ok(["df", m.p()]).splitlines()
    assert len(lines) == 2 and lines[1].split()[0] == "ncffs" and lines[1].split()[-1] == m.p()
    assert ok(["df", "-i", m.p()]).splitlines()[1].split()[0] == "ncffs"
    text = ok(["stat", "-f", m.p()])
    assert "Namelen: 255" in text and "Block size: 4096" in text
    assert ok(["stat", "-f", "-c", "%l %S", m.p("packages")]).split() == ["255", "4096"]


def test_getfattr_answers_without_error(m, emulator):
    assert shutil.which("getfattr"), "getfattr is needed (apt-get install attr)"
    newest = emulator.ids("demo", "hello")[0]
    for path in (m.p("packages", "demo", "hello", "action.json"),
                 f"{activation_dir(m, 'demo', 'hello', newest)}/result.json",
                 activation_dir(m, "demo", "hello", newest), m.p()):
        assert ok(["getfattr", "-d", path]) == ""
        assert ok(["getfattr", "-d", "-m", "-", path]) == ""
    assert ok(["getfattr", "-h", "-d", m.p("packages", "demo", "hello", "activations",
                                           "latest")]) == ""


def test_access_read_yes_write_no(m, emulator):
    newest = emulator.ids("demo", "hello")[0]
    files = [m.p("packages", "demo", "hello", "action.json"),
             m.p("packages", "demo", "hello", "activations.tsv"), m.p(".ncffs-stats"),
             *(f"{activation_dir(m, 'demo', 'hello', newest)}/{n}" for n in ACTIVATION_FILES)]
    dirs = [m.p(), m.p("packages"), m.p("packages", "demo"),
            m.p("packages", "demo", "hello", "activations"),
            activation_dir(m, "demo", "hello", newest), m.p("triggers")]
    for path in files:
        assert os.access(path, os.R_OK), path
        assert not os.access(path, os.W_OK), path
        assert not os.access(path, os.X_OK), path
    for path in dirs:
        assert os.access(path, os.R_OK | os.X_OK), path
        assert not os.access(path, os.W_OK), path
    # the shell's view of the same
    assert run(["test", "-r", files[0]]).returncode == 0
    assert run(["test", "-w", files[0]]).returncode == 1


def test_ls_of_every_level_exits_0(m, emulator):
    ids = activation_ids(ok(["ls", m.p("packages", "demo", "hello", "activations")]).split())
    assert sorted(ids) == sorted(emulator.ids("demo", "hello"))
    assert ok(["ls", "-A", m.p()]).split() == [".ncffs-stats", "packages", "triggers"]
