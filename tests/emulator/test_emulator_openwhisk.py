"""Tests of the emulator's OpenWhisk personality (/api/v1), against the facts of
/work/shared/openwhisk-api.md: basic auth, limit/skip paging, the name filter, since/upto,
docs and count, newest first, records with /logs and /result, end left out when 0, initTime
only on cold starts, errors {"error", "code"}. Expected values come from the NCP personality
of the same emulator (same data) or from the test data tables, never from the code under test.
Run: /usr/bin/python3 -m pytest tests/emulator/test_emulator_openwhisk.py -q
"""

import base64
import json
import time

import pytest

from test_emulator import Emulator, HEX32_RE, md5_id

AUTH = "0f0e0d0c-0b0a-4009-8008-070605040302:ncfemuOpenWhiskKey0123456789abcdef"
NS = "/api/v1/namespaces/_"


def basic(auth=AUTH):
    return {"Authorization": "Basic " + base64.b64encode(auth.encode()).decode()}


@pytest.fixture(scope="module")
def emu(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("owemu")
    server = Emulator(tmp, "--dataset", "test", "--log", str(tmp / "requests.jsonl"))
    yield server
    assert server.stop() == 0


def ow(emu, target, status=200, auth=AUTH):
    resp = emu.get(target, signed=False, headers=basic(auth))
    assert resp.status == status, (target, resp.status, resp.body)
    return resp.json()


def ncp(emu, target):
    return emu.content(target)


def all_ncp_ids(emu, pkg, action):
    ids, page = [], 1
    while True:
        content = ncp(emu, f"/api/v2/packages/{pkg}/actions/{action}/activations"
                           f"?pageSize=100&pageNo={page}")
        if not content["activations"]:
            return ids
        ids += [a["activationId"] for a in content["activations"]]
        page += 1


def test_basic_auth_is_checked(emu):
    for headers in ({}, basic("wrong:key"), {"Authorization": "Bearer x"},
                    {"Authorization": "Basic !!!"}):
        resp = emu.get(NS + "/packages", signed=False, headers=headers)
        assert resp.status == 401
        body = resp.json()
        assert isinstance(body["error"], str) and HEX32_RE.fullmatch(body["code"])


def test_another_namespace_is_forbidden_own_name_works(emu):
    ow(emu, "/api/v1/namespaces/someoneelse/packages", 403)
    assert ow(emu, "/api/v1/namespaces/ncfemu01/packages?limit=0") == \
        ow(emu, NS + "/packages?limit=0")


def test_packages_are_the_ncp_listing_paged_by_limit_and_skip(emu):
    names = [p["name"] for p in ncp(emu, "/api/v2/packages")]
    assert len(names) > 3
    assert [p["name"] for p in ow(emu, NS + "/packages?limit=0")] == names
    assert len(ow(emu, NS + "/packages")) == min(30, len(names))    # default 30
    assert [p["name"] for p in ow(emu, NS + "/packages?limit=2&skip=1")] == names[1:3]
    assert ow(emu, NS + "/packages?skip=1000") == []


@pytest.mark.parametrize("query", ["limit=201", "limit=-1", "limit=x", "skip=-3",
                                   "docs=maybe", "since=soon"])
def test_bad_parameters_are_400(emu, query):
    body = ow(emu, NS + "/activations?" + query, 400)
    assert body["error"] and body["code"]


def test_actions_carry_their_package_in_the_namespace(emu):
    actions = ow(emu, NS + "/actions?limit=200")
    by_ns = {}
    for a in actions:
        by_ns.setdefault(a["namespace"], []).append(a["name"])
    assert by_ns["ncfemu01/demo"] == [a["name"] for a in
                                      ncp(emu, "/api/v2/packages/demo/actions")["actions"]]
    assert by_ns["ncfemu01"] == ["standalone"]      # outside any package
    assert "../etc" not in by_ns


def test_activations_by_name_are_the_ncp_ones_newest_first(emu):
    ids = all_ncp_ids(emu, "demo", "hello")
    rows = ow(emu, NS + "/activations?name=demo/hello&limit=0")
    assert [r["activationId"] for r in rows] == ids
    starts = [r["start"] for r in rows]
    assert starts == sorted(starts, reverse=True)
    assert all(r["name"] == "hello" and "logs" not in r and "response" not in r for r in rows)
    assert {r["statusCode"] for r in rows} <= {0, 1, 2, 3}
    page = ow(emu, NS + "/activations?name=demo/hello&limit=5&skip=5")
    assert [r["activationId"] for r in page] == ids[5:10]
    assert ow(emu, NS + "/activations?name=demo/hello")[0]["activationId"] == ids[0]
    assert [r["activationId"] for r in ow(emu, NS + "/activations?name=standalone&limit=0")] \
        == all_ncp_ids(emu, "-", "standalone")
    assert ow(emu, NS + "/activations?name=demo/nosuch") == []
    ow(emu, NS + "/activations?name=a/b/c", 400)


def test_status_code_matches_the_record_status(emu):
    codes = {"success": 0, "application error": 1, "action developer error": 2,
             "whisk internal error": 3}
    for row in ow(emu, NS + "/activations?name=demo/resize-image&limit=0"):
        record = ow(emu, f"{NS}/activations/{row['activationId']}")
        assert row["statusCode"] == codes[record["response"]["status"]]


def test_since_and_upto_are_inclusive_on_start(emu):
    rows = ow(emu, NS + "/activations?name=demo/hello&limit=0")
    lo, hi = rows[15]["start"], rows[5]["start"]
    window = ow(emu, f"{NS}/activations?name=demo/hello&limit=0&since={lo}&upto={hi}")
    assert [r["activationId"] for r in window] == [r["activationId"] for r in rows[5:16]]
    newer = ow(emu, f"{NS}/activations?name=demo/hello&limit=0&since={rows[0]['start'] + 1}")
    assert newer == []


def test_count_and_docs(emu):
    total = len(all_ncp_ids(emu, "paging", "many"))
    assert ow(emu, NS + "/activations?name=paging/many&count=true") == {"activations": total}
    ow(emu, NS + "/activations?name=paging/many&count=true&docs=true", 400)
    docs = ow(emu, NS + "/activations?name=paging/many&docs=true&limit=3")
    assert all("logs" in d and "response" in d for d in docs)
    assert len(ow(emu, NS + "/activations?name=paging/many&limit=0")) == 200


def test_namespace_wide_list_is_newest_first(emu):
    rows = ow(emu, NS + "/activations?limit=200")
    starts = [r["start"] for r in rows]
    assert len(rows) == 200 and starts == sorted(starts, reverse=True)


def test_record_logs_and_result_agree_with_the_ncp_record(emu):
    aid = all_ncp_ids(emu, "demo", "hello")[3]
    mine = ncp(emu, f"/api/v2/packages/demo/actions/hello/activations/{aid}")
    record = ow(emu, f"{NS}/activations/{aid}")
    assert record["activationId"] == aid and record["name"] == "hello"
    assert record["start"] == mine["start"] and record["end"] == mine["end"]
    assert record["logs"] == mine["logs"] and record["response"] == mine["response"]
    notes = {a["key"]: a["value"] for a in record["annotations"]}
    assert notes["path"] == "ncfemu01/demo/hello" and notes["kind"] == "nodejs:16"
    assert ow(emu, f"{NS}/activations/{aid}/logs") == {"logs": mine["logs"]}
    assert ow(emu, f"{NS}/activations/{aid}/result") == {
        "result": mine["response"]["result"], "success": mine["response"]["success"],
        "status": mine["response"]["status"]}
    body = ow(emu, f"{NS}/activations/{'0' * 32}", 404)
    assert body["error"] and body["code"]


def test_init_time_only_on_cold_starts_and_index_0_is_cold(emu):
    ids = all_ncp_ids(emu, "demo", "hello")
    cold = [("initTime" in {a["key"] for a in ow(emu, f"{NS}/activations/{aid}")["annotations"]})
            for aid in ids]
    assert cold[-1]             # the oldest (index 0) is a cold start in the data tables
    assert not all(cold)        # and not every run is


def test_trigger_records_leave_end_out(emu):
    rows = ow(emu, NS + "/activations?name=tick&limit=0")
    assert [r["activationId"] for r in rows] == [md5_id(f"@trigger/tick/{i}") for i in (2, 1, 0)]
    record = ow(emu, f"{NS}/activations/{rows[0]['activationId']}")
    assert "end" not in record and record["start"] == rows[0]["start"]
    assert [t["name"] for t in ow(emu, NS + "/triggers")] == ["tick", "on-upload"]


def test_action_and_trigger_entities(emu):
    action = ow(emu, NS + "/actions/demo/hello")
    assert action["namespace"] == "ncfemu01/demo" and action["exec"]["kind"] == "nodejs:16"
    assert ow(emu, NS + "/actions/standalone")["name"] == "standalone"
    ow(emu, NS + "/actions/demo/nosuch", 404)
    assert ow(emu, NS + "/triggers/tick")["name"] == "tick"


def test_requests_are_logged_with_their_targets(emu):
    emu.admin("POST", "reset")
    ow(emu, NS + "/packages?limit=1")
    status, log = emu.admin("GET", "requests")
    assert status == 200
    assert [(e["path"], e["query"], e["status"]) for e in log] == \
        [(NS + "/packages", "limit=1", 200)]


def test_only_get(emu):
    resp = emu.request(NS + "/packages", method="POST", signed=False, headers=basic(), body="{}")
    assert resp.status == 405 and json.loads(resp.body)["error"]


def test_admin_ow_record_is_what_the_api_serves(emu):
    aid = all_ncp_ids(emu, "demo", "hello")[0]
    status, record = emu.admin("GET", f"ow-record/demo/hello/{aid}")
    assert status == 200 and record == ow(emu, f"{NS}/activations/{aid}")
    tick = md5_id("@trigger/tick/1")
    status, record = emu.admin("GET", f"ow-trigger-record/tick/{tick}")
    assert status == 200 and record == ow(emu, f"{NS}/activations/{tick}")
    assert emu.admin("GET", f"ow-record/demo/hello/{'0' * 32}")[0] == 404


def test_the_log_names_the_ncp_twin_of_each_request(emu):
    aid = all_ncp_ids(emu, "demo", "hello")[2]
    tick = md5_id("@trigger/tick/0")
    emu.admin("POST", "reset")
    for target in (f"{NS}/activations?name=demo/hello&limit=20&skip=40&since=5&upto=9",
                   f"{NS}/activations?name=standalone&limit=0", f"{NS}/activations?name=tick",
                   f"{NS}/activations/{aid}", f"{NS}/activations/{tick}/logs",
                   f"{NS}/actions/demo/hello", f"{NS}/packages?limit=200&skip=0",
                   f"{NS}/packages/demo", f"{NS}/actions?limit=100"):
        ow(emu, target)
    twins = [(e["ncp_path"], e["ncp_query"]) for e in emu.admin("GET", "requests")[1]]
    assert twins == [
        ("/api/v2/packages/demo/actions/hello/activations",
         "pageNo=3&pageSize=20&start=5&end=9"),
        ("/api/v2/packages/-/actions/standalone/activations", "pageNo=1&pageSize=200"),
        ("/api/v2/triggers/tick/activations", ""),
        (f"/api/v2/packages/demo/actions/hello/activations/{aid}", ""),
        (f"/api/v2/triggers/tick/activations/{tick}/logs", ""),
        ("/api/v2/packages/demo/actions/hello", ""),
        ("/api/v2/packages", "pageNo=1&pageSize=200"),
        ("/api/v2/packages/demo/actions", ""),
        ("/api/v2/packages/-/actions", "pageNo=1&pageSize=100")]


def test_a_package_carries_its_actions(emu):
    package = ow(emu, NS + "/packages/demo")
    assert [a["name"] for a in package["actions"]] == \
        [a["name"] for a in ncp(emu, "/api/v2/packages/demo/actions")["actions"]]
    ow(emu, NS + "/packages/nosuch", 404)
    ow(emu, NS + "/packages/-", 404)


def test_a_run_listed_late_is_missing_from_every_list_yet_readable(tmp_path):
    """listed_after_s: the stale list index OpenWhisk documents (a new run missing from lists
    for a moment), in both personalities, while its record answers at once."""
    server = Emulator(tmp_path, "--dataset", "test")
    try:
        status, added = server.admin("POST", "addactivation/demo/hello", {"listed_after_s": 1.5})
        aid = added["activationId"]
        assert status == 200 and added["listed_at"] == added["start"] + 1500
        status, shown = server.admin("POST", "addactivation/demo/hello", {})
        newer = shown["activationId"]

        def lists():
            return {
                "ncp action": [a["activationId"] for a in ncp(
                    server, "/api/v2/packages/demo/actions/hello/activations?pageSize=100")[
                        "activations"]],
                "ncp namespace": [a["activationId"] for a in ncp(
                    server, "/api/v2/activations?pageSize=100")["activations"]],
                "ow action": [a["activationId"] for a in ow(
                    server, NS + "/activations?name=demo/hello&limit=200")],
                "ow namespace": [a["activationId"] for a in ow(
                    server, NS + "/activations?limit=200")],
            }

        early = lists()
        for name, ids in early.items():
            assert newer in ids and aid not in ids, name
        assert ow(server, NS + "/activations?name=demo/hello&count=true")["activations"] == \
            len(early["ow action"])
        assert ow(server, f"{NS}/activations/{aid}")["activationId"] == aid
        assert ncp(server, f"/api/v2/packages/demo/actions/hello/activations/{aid}")[
            "activationId"] == aid
        time.sleep(max(0.0, (added["listed_at"] - time.time() * 1000) / 1000) + 0.1)
        late = lists()
        for name, ids in late.items():
            assert ids.index(newer) + 1 == ids.index(aid), name     # newest first by start
        status, answer = server.admin("POST", "addactivation/demo/hello", {"listed_after_s": -1})
        assert status == 400
    finally:
        assert server.stop() == 0
