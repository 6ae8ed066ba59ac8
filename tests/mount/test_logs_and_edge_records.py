"""Log edge cases and odd records: 3000 log lines, no logs, duration sent as a string, and
grep -r finding ERROR lines across an action's activations."""

import json
import re

import pytest

from conftest import out, run


@pytest.fixture
def mnt(shared_mnt):
    """These tests only look: one mount serves the whole module."""
    return shared_mnt


def base(m, pkg, action, activation):
    return m.p("packages", pkg, action, "activations", activation)


def test_3000_line_log_is_whole(mnt, emulator):
    (activation,) = emulator.ids("logs", "long")
    record = emulator.record("logs", "long", activation)
    assert len(record["logs"]) == 3000
    path = f"{base(mnt, 'logs', 'long', activation)}/logs.txt"
    assert out(["wc", "-l", path]).split()[0] == "3000"
    data = run(["cat", path], check=True).stdout
    assert data.decode("utf-8").split("\n") == record["logs"] + [""]
    assert out(["head", "-n", "1", path]) == record["logs"][0] + "\n"
    assert out(["tail", "-n", "1", path]) == record["logs"][-1] + "\n"
    assert out(["sed", "-n", "1500p", path]) == record["logs"][1499] + "\n"


def test_3000_line_activation_json_carries_every_line(mnt, emulator):
    (activation,) = emulator.ids("logs", "long")
    path = f"{base(mnt, 'logs', 'long', activation)}/activation.json"
    assert out(["jq", ".logs | length", path]).strip() == "3000"
    record = emulator.record("logs", "long", activation)
    assert json.loads(out(["jq", "-c", ".logs", path])) == record["logs"]


def test_empty_logs_give_an_empty_file(mnt, emulator):
    records = [emulator.record("logs", "empty", a) for a in emulator.ids("logs", "empty")]
    (empty,) = [r for r in records if r["logs"] == []]
    path = f"{base(mnt, 'logs', 'empty', empty['activationId'])}/logs.txt"
    assert out(["wc", "-c", path]).split()[0] == "0"
    assert out(["wc", "-l", path]).split()[0] == "0"
    assert run(["cat", path], check=True).stdout == b""
    assert out(["stat", "-c", "%s", path]).strip() == "0"
    assert run(["test", "-s", path]).returncode == 1        # exists, size 0
    assert run(["test", "-f", path]).returncode == 0
    activation_json = f"{base(mnt, 'logs', 'empty', empty['activationId'])}/activation.json"
    assert out(["jq", "-c", ".logs", activation_json]).strip() == "[]"


def test_duration_sent_as_a_string(mnt, emulator):
    records = [emulator.record("logs", "empty", a) for a in emulator.ids("logs", "empty")]
    (odd,) = [r for r in records if isinstance(r["duration"], str)]
    assert odd["duration"] == "34"
    top = base(mnt, "logs", "empty", odd["activationId"])
    assert run(["cat", f"{top}/duration"], check=True).stdout == b"34\n"
    assert out(["stat", "-c", "%s", f"{top}/duration"]).strip() == "3"
    # activation.json is the whole record as the server sent it: the string stays a string.
    assert out(["jq", "-c", ".duration", f"{top}/activation.json"]).strip() == '"34"'
    assert odd["end"] == odd["start"] + 34
    # the integer one next to it
    (plain,) = [r for r in records if not isinstance(r["duration"], str)]
    plain_dir = base(mnt, "logs", "empty", plain["activationId"])
    assert run(["cat", f"{plain_dir}/duration"], check=True).stdout == \
        f"{plain['duration']}\n".encode()


def expected_error_lines(emulator, pkg, action, top):
    lines = set()
    for activation in emulator.ids(pkg, action):
        for line in emulator.record(pkg, action, activation)["logs"]:
            if "ERROR" in line:
                lines.add(f"{top}/{activation}/logs.txt:{line}")
    return lines


def test_grep_r_finds_the_error_lines(mnt, emulator):
    for pkg, action in (("demo", "hello"), ("demo", "resize-image")):
        top = mnt.p("packages", pkg, action, "activations")
        expected = expected_error_lines(emulator, pkg, action, top)
        assert expected, f"{pkg}/{action} has no ERROR lines to find"
        result = run(["grep", "-r", "--include=logs.txt", "ERROR", top])
        assert result.returncode == 0
        found = result.stdout.decode().splitlines()
        assert len(found) == len(expected)
        assert set(found) == expected
        files = run(["grep", "-rl", "ERROR", top]).stdout.decode().splitlines()
        assert {line.split("/logs.txt:", 1)[0] + "/logs.txt" for line in expected} \
            <= set(files)


def test_grep_finds_failing_statuses(mnt, emulator):
    top = mnt.p("packages", "demo", "hello", "activations")
    failing = {a for a in emulator.ids("demo", "hello")
               if emulator.record("demo", "hello", a)["response"]["status"] != "success"}
    assert failing
    found = run(["grep", "-rLx", "success", "--include=status", top]).stdout.decode()
    assert {re.search(r"/([0-9a-f]{32})/status$", line).group(1)
            for line in found.splitlines()} == failing
