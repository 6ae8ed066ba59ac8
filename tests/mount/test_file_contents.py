"""File contents, read with cat/jq/python3, equal what the emulator holds for each record."""

import json
import os
import re
import sys

import pytest

from conftest import (ACTIVATION_FILES, ANNOTATED_ACTIVATION_FILES, OPENWHISK, activation_ids,
                      definition, out, run)


@pytest.fixture
def mnt(shared_mnt):
    """These tests only look: one mount serves the whole module."""
    return shared_mnt


ACTIONS = (("demo", "hello"), ("demo", "resize-image"), ("-", "standalone"),
           ("billing", "invoice"), ("logs", "empty"), ("hostile", "ok"))


def cat(path):
    return run(["cat", path], check=True).stdout


def activation_dir(m, pkg, action, activation):
    return m.p("packages", pkg, action, "activations", activation)


LOG_LINE = re.compile(r"(\S+) (stdout|stderr): (.*)", re.S)


def stream_text(logs, stream):
    """stdout.txt / stderr.txt as ncffs(1) defines them: one stream, time and stream prefix
    stripped; a line without the "time stream:" shape counts as stdout, kept whole."""
    kept = []
    for line in logs:
        m = LOG_LINE.fullmatch(line)
        if m is None:
            if stream == "stdout":
                kept.append(line)
        elif m.group(2) == stream:
            kept.append(m.group(3))
    return "".join(line + "\n" for line in kept).encode("utf-8")


def expected_files(record):
    """What each file must hold, byte for byte, except the two JSON files (parsed)."""
    logs = "".join(line + "\n" for line in record["logs"])
    cold = any(a["key"] == "initTime" for a in record.get("annotations", []))
    return {
        "result.json": record["response"]["result"],
        "logs.txt": logs.encode("utf-8"),
        "stdout.txt": stream_text(record["logs"], "stdout"),
        "stderr.txt": stream_text(record["logs"], "stderr"),
        "duration": f"{record['duration']}\n".encode(),
        "status": (record["response"]["status"] + "\n").encode(),
        "cold_start": b"true\n" if cold else b"false\n",
    }


def check_pretty_json(data, expected):
    """Pretty-printed JSON with one trailing newline, parsing to expected, keys in order."""
    text = data.decode("utf-8")
    assert text.endswith("\n") and not text.endswith("\n\n")
    assert text.count("\n") > 1, "not pretty-printed"
    parsed = json.loads(text, object_pairs_hook=list)
    assert [k for k, _ in parsed] == list(expected), "top-level key order differs"
    assert json.loads(text) == expected


@pytest.mark.parametrize("pkg,action", ACTIONS, ids=lambda v: v)
def test_every_file_matches_the_record(mnt, emulator, pkg, action):
    ids = emulator.ids(pkg, action)
    assert ids
    # ls first, as a user would: the listing is also what lets ncffs fetch records in parallel.
    listed = out(["ls", mnt.p("packages", pkg, action, "activations")]).split()
    assert sorted(activation_ids(listed)) == sorted(ids)
    for activation in ids:
        record = emulator.record(pkg, action, activation)
        want = expected_files(record)
        base = activation_dir(mnt, pkg, action, activation)
        check_pretty_json(cat(f"{base}/activation.json"), record)
        check_pretty_json(cat(f"{base}/result.json"), want["result.json"])
        for name in ("logs.txt", "stdout.txt", "stderr.txt", "duration", "status"):
            assert cat(f"{base}/{name}") == want[name], f"{pkg}/{action}/{activation}/{name}"
        if OPENWHISK:   # OpenWhisk records always carry annotations: cold_start tells
            assert cat(f"{base}/cold_start") == want["cold_start"]
            continue
        # the documented record carries no annotations: there is no cold start to tell
        assert "annotations" not in record
        assert not os.path.exists(f"{base}/cold_start")


def test_cold_start_shows_when_the_server_sends_annotations(harness, emulator_factory):
    emu = emulator_factory("--annotations")
    m = harness.mount(emulator=emu)
    seen = set()
    for activation in emu.ids("demo", "hello"):
        record = emu.record("demo", "hello", activation)
        base = activation_dir(m, "demo", "hello", activation)
        assert out(["ls", "-1", base]).split() == list(ANNOTATED_ACTIVATION_FILES)
        assert cat(f"{base}/cold_start") == expected_files(record)["cold_start"]
        seen.add(cat(f"{base}/cold_start"))
    assert seen == {b"true\n", b"false\n"}     # the data set has both kinds


def test_jq_and_python_read_activation_json(mnt, emulator):
    activation = emulator.ids("demo", "resize-image")[0]
    record = emulator.record("demo", "resize-image", activation)
    path = f"{activation_dir(mnt, 'demo', 'resize-image', activation)}/activation.json"
    assert out(["jq", "-r", ".activationId", path]) == activation + "\n"
    assert out(["jq", "-r", ".response.status", path]) == record["response"]["status"] + "\n"
    assert json.loads(out(["jq", "-c", ".", path])) == record
    dumped = out([sys.executable, "-c",
                  "import json,sys; print(json.dumps(json.load(open(sys.argv[1]))))", path])
    assert json.loads(dumped) == record


def test_jq_reads_result_json(mnt, emulator):
    for activation in emulator.ids("demo", "resize-image"):
        record = emulator.record("demo", "resize-image", activation)
        path = f"{activation_dir(mnt, 'demo', 'resize-image', activation)}/result.json"
        assert json.loads(out(["jq", "-c", ".", path])) == record["response"]["result"]


def test_error_results_and_statuses_come_through(mnt, emulator):
    """resize-image has an application error and a developer error in its data."""
    seen = {}
    for activation in emulator.ids("demo", "resize-image"):
        base = activation_dir(mnt, "demo", "resize-image", activation)
        status = out(["cat", f"{base}/status"]).rstrip("\n")
        seen[status] = json.loads(cat(f"{base}/result.json"))
    assert {"success", "application error", "action developer error"} <= set(seen)
    assert "error" in seen["application error"]
    assert "payload" in seen["success"]


def test_action_json_is_get_action_content(mnt, emulator):
    for pkg, action in ACTIONS + (("paging", "many"), ("logs", "long")):
        expected = definition(emulator, f"/packages/{pkg}/actions/{action}")
        data = cat(mnt.p("packages", pkg, action, "action.json"))
        check_pretty_json(data, expected)
        kind = out(["jq", "-c", ".exec.kind", mnt.p("packages", pkg, action, "action.json")])
        assert json.loads(kind) == expected["exec"]["kind"]


def test_every_file_of_an_activation_is_listed_and_readable(mnt, emulator):
    activation = emulator.ids("-", "standalone")[0]
    base = activation_dir(mnt, "-", "standalone", activation)
    names = out(["ls", "-1", base]).split()
    assert names == list(ACTIVATION_FILES)
    for name in names:
        assert run(["cat", f"{base}/{name}"]).returncode == 0
