"""The derived files of an activation (issue 6) and the trigger side of the tree:
stdout.txt/stderr.txt are logs.txt split by stream with the "<time> stdout: " prefixes
stripped; cold_start says true exactly when the record's annotations carry initTime;
triggers/<t>/trigger.json and triggers/<t>/activations/<id>/ with the five files, dated by
the record's start. All of an activation's files cost one record GET together."""

import json
import os

import pytest

from conftest import ACTIVATION_FILES, OPENWHISK, out, run
from conftest import definition as definition_of
from unix_support import (FIVE_FILES, listing_pages, module_emulators, quiet_calls,  # noqa: F401
                          record_calls)


def split_streams(logs):
    """What ncffs(1) says stdout.txt and stderr.txt hold, computed from the record."""
    streams = {"stdout": [], "stderr": []}
    for line in logs:
        stamp, sep, rest = line.partition(" ")
        if sep and rest[:7] in ("stdout:", "stderr:"):
            text = rest[7:]
            streams[rest[:6]].append(text[1:] if text.startswith(" ") else text)
        else:
            streams["stdout"].append(line)      # not OpenWhisk-shaped: stdout, whole
    return {k: "".join(t + "\n" for t in v) for k, v in streams.items()}


def annotations(record):
    return {a["key"]: a["value"] for a in record.get("annotations", [])}


def test_stdout_and_stderr_split_the_log_with_prefixes_stripped(mnt, emulator):
    seen_stderr = seen_stdout = 0
    ids = emulator.ids("demo", "hello")
    top = mnt.p("packages", "demo", "hello", "activations")
    for activation in ids:
        record = emulator.record("demo", "hello", activation)
        expected = split_streams(record["logs"])
        got = {s: out(["cat", f"{top}/{activation}/{s}.txt"]) for s in ("stdout", "stderr")}
        assert got == expected, activation
        assert "stdout:" not in got["stdout"] and "stderr:" not in got["stderr"]
        seen_stderr += bool(got["stderr"])
        seen_stdout += bool(got["stdout"])
        # together they hold every line of logs.txt, and nothing else
        assert len(got["stdout"].splitlines()) + len(got["stderr"].splitlines()) == \
            len(out(["cat", f"{top}/{activation}/logs.txt"]).splitlines())
    assert seen_stderr and seen_stdout, "the data set should have both kinds"
    calls = quiet_calls(emulator)
    assert record_calls(calls, "demo/hello") == {a: 1 for a in ids}


def test_odd_log_lines_in_an_added_activation(harness, emulator_factory):
    emu = emulator_factory()
    m = harness.mount(emulator=emu)
    logs = ["2026-01-01T00:00:00.000Z stdout: plain",
            "2026-01-01T00:00:00.001Z stderr: err: with a colon",
            "2026-01-01T00:00:00.002Z stdout:",
            "2026-01-01T00:00:00.003Z stderr:  two leading blanks",
            "no prefix at all",
            "2026-01-01T00:00:00.004Z stdout: tab\there"]
    added = emu.admin("POST", "/addactivation/demo/hello", {"logs": logs})["activationId"]
    top = m.p("packages", "demo", "hello", "activations", added)
    assert out(["cat", f"{top}/logs.txt"]) == "".join(l + "\n" for l in logs)
    assert out(["cat", f"{top}/stdout.txt"]) == "plain\n\nno prefix at all\ntab\there\n"
    assert out(["cat", f"{top}/stderr.txt"]) == "err: with a colon\n two leading blanks\n"
    assert out(["cat", f"{top}/stdout.txt"]) == split_streams(logs)["stdout"]
    for name in ("stdout.txt", "stderr.txt"):
        assert os.stat(f"{top}/{name}").st_size == len(out(["cat", f"{top}/{name}"]).encode())


def test_empty_logs_give_empty_streams(mnt, emulator):
    quiet = emulator.ids("logs", "empty")[-1]          # index 0: logs []
    assert emulator.record("logs", "empty", quiet)["logs"] == []
    top = mnt.p("packages", "logs", "empty", "activations", quiet)
    for name in ("logs.txt", "stdout.txt", "stderr.txt"):
        assert os.stat(f"{top}/{name}").st_size == 0
        assert run(["cat", f"{top}/{name}"], check=True).stdout == b""


@pytest.fixture(scope="module")
def annotated(module_emulators):
    """An emulator that passes OpenWhisk's annotations on (the API pages do not promise them)."""
    return module_emulators("--annotations")


def test_cold_start_follows_init_time(harness, annotated):
    emulator = annotated
    mnt = harness.mount(emulator=emulator)
    seen = set()
    for pkg, action in (("demo", "hello"), ("paging", "many")):
        top = mnt.p("packages", pkg, action, "activations")
        for activation in emulator.ids(pkg, action)[:40]:
            record = emulator.record(pkg, action, activation)
            cold = "initTime" in annotations(record)
            assert out(["cat", f"{top}/{activation}/cold_start"]) == \
                ("true\n" if cold else "false\n"), activation
            seen.add(cold)
    assert seen == {True, False}
    # the man page's example finds exactly the cold starts
    top = mnt.p("packages", "demo", "hello", "activations")
    hits = out(["grep", "-rl", "--include=cold_start", "true", top]).split()
    assert sorted(hits) == sorted(
        f"{top}/{a}/cold_start" for a in emulator.ids("demo", "hello")
        if "initTime" in annotations(emulator.record("demo", "hello", a)))


def test_all_files_of_an_activation_cost_one_record_get(mnt, emulator):
    activation = emulator.ids("demo", "hello")[9]
    top = mnt.p("packages", "demo", "hello", "activations", activation)
    assert sorted(os.listdir(top)) == sorted(ACTIVATION_FILES)
    run(["cat", *(f"{top}/{n}" for n in ACTIVATION_FILES)], check=True)
    calls = quiet_calls(emulator)
    assert record_calls(calls) == {activation: 1}
    assert listing_pages(calls, "demo/hello") == {}      # no listing needed to reach it


# ---- triggers ----------------------------------------------------------------------------------

def trigger_ids(emulator, trigger):
    return emulator.admin("GET", f"/trigger-ids/{trigger}")["ids"]


def trigger_record(emulator, trigger, activation):
    return emulator.trigger_record(trigger, activation)


@pytest.mark.parametrize("trigger", ["tick", "on-upload"])
def test_trigger_json_and_activation_files_dated_by_start(mnt, emulator, trigger):
    definition = definition_of(emulator, f"/triggers/{trigger}")
    emulator.reset()                        # the test's own GET is not ncffs's
    top = mnt.p("triggers", trigger)
    assert json.loads(out(["cat", f"{top}/trigger.json"])) == definition
    ids = trigger_ids(emulator, trigger)
    assert os.readlink(f"{top}/activations/latest") == ids[0]
    for activation in ids:
        record = trigger_record(emulator, trigger, activation)
        base = f"{top}/activations/{activation}"
        files = {name: out(["cat", f"{base}/{name}"]) for name in FIVE_FILES}
        assert json.loads(files["activation.json"]) == record
        assert json.loads(files["result.json"]) == record["response"]["result"]
        assert files["logs.txt"] == "".join(l + "\n" for l in record["logs"])
        assert files["duration"] == f"{record['duration']}\n"
        assert files["status"] == record["response"]["status"] + "\n"
        # trigger records: their time is the start (end 0, or left out as OpenWhisk does)
        assert record.get("end", 0) == 0 and ("end" in record) != OPENWHISK
        for name in ("", *FIVE_FILES):
            st = os.stat(os.path.join(base, name))
            assert st.st_mtime_ns == record["start"] * 1_000_000, name
        if OPENWHISK:   # annotations always, and no initTime: not a cold start
            assert out(["cat", f"{base}/cold_start"]) == "false\n"
        else:           # documented records: no annotations
            assert not os.path.exists(f"{base}/cold_start")
    calls = quiet_calls(emulator)
    assert record_calls(calls, "@" + trigger) == {a: 1 for a in ids}
    assert [c.kind for c in calls].count("trigger") == 1             # trigger.json


def test_trigger_latest_follows_the_listing(mnt, emulator):
    for trigger in ("tick", "on-upload"):
        link = mnt.p("triggers", trigger, "activations", "latest")
        newest = trigger_ids(emulator, trigger)[0]
        assert out(["readlink", link]).strip() == newest
        assert out(["cat", f"{link}/status"]) == "success\n"
