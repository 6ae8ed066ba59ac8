"""api=v2.1: the /ncf/api/v2 base and the vpc platform, and so the vpc package(s)."""

import json

from conftest import (ACTIVATION_FILES, PACKAGE_ENTRIES, activation_ids, is_valid_name, out,
                      query_of, run)

V21 = "/ncf/api/v2"


def vpc_packages(emulator):
    names = [p["name"] for p in emulator.api_get("/packages?pageSize=100", base=V21)]
    return {n for n in names if is_valid_name(n)} | {"-"}


def test_v21_shows_the_vpc_packages(harness, emulator):
    m = harness.mount(options=["api=v2.1"], endpoint=emulator.endpoint(V21))
    emulator.reset()
    names = out(["ls", "-1", m.p("packages")]).split()
    assert set(names) == vpc_packages(emulator) == {"-", "vpcpkg"}
    assert out(["ls", m.p("packages", "vpcpkg")]).split() == [*PACKAGE_ENTRIES, "ping"]
    emulator.settle()
    requests = emulator.requests()
    assert requests
    for r in requests:
        assert r["path"].startswith(V21 + "/"), r
        assert query_of(r).get("platform", "vpc") == "vpc", r
        assert r["status"] == 200


def test_v21_activation_files_match_the_record(harness, emulator):
    m = harness.mount(options=["api=v2.1"], endpoint=emulator.endpoint(V21))
    top = m.p("packages", "vpcpkg", "ping", "activations")
    ids = emulator.ids("vpcpkg", "ping")
    assert sorted(activation_ids(out(["ls", top]).split())) == sorted(ids)
    for activation in ids:
        record = emulator.record("vpcpkg", "ping", activation)
        base = f"{top}/{activation}"
        assert out(["ls", base]).split() == list(ACTIVATION_FILES)
        assert json.loads(out(["jq", "-c", ".", f"{base}/activation.json"])) == record
        assert out(["cat", f"{base}/status"]) == record["response"]["status"] + "\n"
        assert out(["stat", "-c", "%.3Y", base]).strip() == \
            f"{record['end'] // 1000}.{record['end'] % 1000:03d}"
    action = emulator.api_get("/packages/vpcpkg/actions/ping", base=V21)
    assert json.loads(out(["jq", "-c", ".", m.p("packages", "vpcpkg", "ping", "action.json")])) \
        == action


def test_classic_packages_are_absent_on_v21(harness, emulator):
    m = harness.mount(options=["api=v2.1"], endpoint=emulator.endpoint(V21))
    for name in ("demo", "paging", "hostile"):
        assert run(["ls", m.p("packages", name)]).returncode == 2


def test_platform_vpc_on_the_v2_base(harness, emulator):
    m = harness.mount(options=["platform=vpc"])
    emulator.reset()
    assert set(out(["ls", m.p("packages")]).split()) == {"-", "vpcpkg"}
    assert all(query_of(r)["platform"] == "vpc" and r["path"].startswith("/api/v2/")
               for r in emulator.requests())


def test_v21_wrong_secret_is_rejected(harness, emulator):
    env = harness.env(extra={"NCLOUD_SECRET_ACCESS_KEY": "nope"})
    result, path = harness.start(options=["api=v2.1"], endpoint=emulator.endpoint(V21), env=env)
    assert result.returncode != 0
    assert b"credentials" in result.stderr
