"""Tests of the NCP Cloud Functions emulator, run as a real subprocess on a free port.

Signatures here are computed independently of the emulator (hmac in this file, openssl for the
known answer), so a shared bug cannot make both sides agree.
Run: /usr/bin/python3 -m pytest tests/emulator -q
"""

import base64
import hashlib
import hmac
import http.client
import importlib.util
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "ncf_emulator.py")
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
AK, SK = "emulator-access-key", "emulator-secret-key"
LOG_LINE_RE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (stdout|stderr): .*")
HEX32_RE = re.compile(r"[0-9a-f]{32}")


def md5_id(key):
    return hashlib.md5(key.encode()).hexdigest()


def signature(secret, method, target, ts, ak):
    message = f"{method} {target}\n{ts}\n{ak}".encode()
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


def now_ms():
    return int(time.time() * 1000)


class Response:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        return json.loads(self.body)


class Emulator:
    """One emulator subprocess plus request helpers."""

    def __init__(self, tmp_dir, *args):
        self.tmp_dir = str(tmp_dir)
        self.port_file = os.path.join(self.tmp_dir, "port")
        self.stderr = open(os.path.join(self.tmp_dir, "stderr"), "w")
        self.proc = subprocess.Popen(
            [PYTHON, SCRIPT, "--port", "0", "--port-file", self.port_file, "--quiet", *args],
            stdout=subprocess.PIPE, stderr=self.stderr, text=True)
        self.listening_line = self.proc.stdout.readline().strip()
        deadline = time.time() + 10
        while not os.path.exists(self.port_file):
            assert self.proc.poll() is None and time.time() < deadline, "emulator did not start"
            time.sleep(0.02)
        with open(self.port_file) as f:
            self.port = int(f.read())

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        code = self.proc.wait(10)
        self.stderr.close()
        return code

    def connect(self, timeout=10):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(self, target, method="GET", signed=True, ak=AK, sk=SK, ts=None, sign_target=None,
                headers=None, body=None, conn=None, timeout=10):
        ts = str(now_ms()) if ts is None else str(ts)
        all_headers = dict(headers or {})
        if signed:
            all_headers.update({
                "x-ncp-apigw-timestamp": ts, "x-ncp-iam-access-key": ak,
                "x-ncp-apigw-signature-v2": signature(sk, method, sign_target or target, ts, ak)})
        own = conn is None
        conn = conn or self.connect(timeout)
        try:
            conn.request(method, target, body=body, headers=all_headers)
            resp = conn.getresponse()
            return Response(resp.status, resp.headers, resp.read())
        finally:
            if own:
                conn.close()

    def get(self, target, **kw):
        return self.request(target, **kw)

    def content(self, target, **kw):
        resp = self.get(target, **kw)
        assert resp.status == 200, (target, resp.status, resp.body)
        return resp.json()["content"]

    def admin(self, method, path, payload=None):
        body = None if payload is None else json.dumps(payload)
        resp = self.request("/_emulator/" + path, method=method, signed=False, body=body)
        return resp.status, resp.json()

    def configure(self, **config):
        status, body = self.admin("POST", "config", config)
        assert status == 200, body
        return body

    def all_activations(self, list_target):
        """Every entry of a paged activations list, following pageNo."""
        entries, page = [], 1
        while True:
            content = self.content(f"{list_target}?pageSize=100&pageNo={page}")
            entries += content["activations"]
            if not content["activations"]:
                return entries, content["totalCount"]
            page += 1


def error_of(resp):
    return resp.json()["error"]


@pytest.fixture(scope="module")
def emu(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("emu")
    server = Emulator(tmp, "--dataset", "test", "--bench-activations", "30",
                      "--log", str(tmp / "requests.jsonl"))
    yield server
    assert server.stop() == 0


@pytest.fixture(autouse=True)
def clean(emu):
    emu.configure(latency_ms=0, faults=[])
    emu.admin("POST", "reset")
    yield
    emu.configure(latency_ms=0, faults=[])


@pytest.fixture
def fresh(tmp_path):
    """A private emulator for tests that change data or need other flags."""
    started = []

    def start(*args):
        directory = tmp_path / f"emu{len(started)}"
        directory.mkdir()
        started.append(Emulator(directory, *args))
        return started[-1]
    yield start
    for server in started:
        if server.proc.poll() is None:
            server.stop(signal.SIGKILL)


# ------------------------------------------------------------------ signing and authentication

def test_known_answer_signature_matches_openssl_and_emulator():
    script = ("printf 'GET /api/v2/packages?platform=classic\\n1700000000000\\nAK' "
              "| openssl dgst -sha256 -hmac secret -binary | base64")
    from_openssl = subprocess.run(["sh", "-c", script], capture_output=True, text=True,
                                  check=True).stdout.strip()
    from_hmac = signature("secret", "GET", "/api/v2/packages?platform=classic",
                          "1700000000000", "AK")
    spec = importlib.util.spec_from_file_location("ncf_emulator", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    from_emulator = module.sign("secret", "GET", "/api/v2/packages?platform=classic",
                                "1700000000000", "AK")
    print("known-answer signature:", from_hmac)
    assert from_openssl == from_hmac == from_emulator
    assert len(base64.b64decode(from_hmac, validate=True)) == 32


def test_request_signed_with_openssl_is_accepted(emu):
    target = "/api/v2/packages?platform=classic"
    ts = str(now_ms())
    mac = subprocess.run(["openssl", "dgst", "-sha256", "-hmac", SK, "-binary"],
                         input=f"GET {target}\n{ts}\n{AK}".encode(), capture_output=True,
                         check=True).stdout
    headers = {"x-ncp-apigw-timestamp": ts, "x-ncp-iam-access-key": AK,
               "x-ncp-apigw-signature-v2": base64.b64encode(mac).decode()}
    resp = emu.request(target, signed=False, headers=headers)
    assert resp.status == 200
    assert "demo" in [p["name"] for p in resp.json()["content"]]


def auth_headers(secret=SK, method="GET", target="/api/v2/packages?platform=classic", ak=AK):
    ts = str(now_ms())
    return {"x-ncp-apigw-timestamp": ts, "x-ncp-iam-access-key": ak,
            "x-ncp-apigw-signature-v2": signature(secret, method, target, ts, ak)}


def with_header(headers, name, value):
    return {**headers, name: value}


# case -> headers, built at call time so the timestamp is fresh
BAD_CREDENTIALS = {
    "bad-signature": lambda: with_header(auth_headers(), "x-ncp-apigw-signature-v2",
                                         base64.b64encode(b"x" * 32).decode()),
    "unpadded-signature": lambda: (lambda h: with_header(
        h, "x-ncp-apigw-signature-v2", h["x-ncp-apigw-signature-v2"].rstrip("=")))(auth_headers()),
    "unknown-key": lambda: auth_headers(ak="someone-else"),
    "wrong-secret": lambda: auth_headers(secret="not-the-secret"),
    "no-headers": lambda: {},
    "no-signature": lambda: {k: v for k, v in auth_headers().items()
                             if k != "x-ncp-apigw-signature-v2"},
    "signed-other-target": lambda: auth_headers(target="/api/v2/packages?platform=vpc"),
    "signed-other-method": lambda: auth_headers(method="POST"),
}


@pytest.mark.parametrize("case", sorted(BAD_CREDENTIALS))
def test_bad_credentials_get_401_code_200(emu, case):
    resp = emu.request("/api/v2/packages?platform=classic", signed=False,
                       headers=BAD_CREDENTIALS[case]())
    assert resp.status == 401
    assert resp.json() == {"error": {"errorCode": "200", "message": "Authentication Failed",
                                     "details": "Invalid authentication information."}}


@pytest.mark.parametrize("offset_ms", [-6 * 60_000, 6 * 60_000])
def test_timestamp_more_than_five_minutes_off_is_rejected(emu, offset_ms):
    resp = emu.get("/api/v2/packages", ts=now_ms() + offset_ms)
    assert resp.status == 401
    err = error_of(resp)
    assert err["errorCode"] == "200" and "timestamp" in err["details"].lower()


def test_timestamp_four_minutes_off_is_accepted(emu):
    assert emu.get("/api/v2/packages", ts=now_ms() - 4 * 60_000).status == 200


def test_signature_covers_the_raw_encoded_target(emu):
    encoded = "/api/v2/packages?platform=%63lassic"
    decoded = "/api/v2/packages?platform=classic"
    assert emu.get(encoded, sign_target=decoded).status == 401
    assert emu.get(encoded).status == 200


def test_responses_carry_date_type_and_length(emu):
    resp = emu.get("/api/v2/packages")
    date = parsedate_to_datetime(resp.headers["Date"]).timestamp()
    assert abs(date - time.time()) < 5
    assert resp.headers["Content-Type"] == "application/json;charset=UTF-8"
    assert int(resp.headers["Content-Length"]) == len(resp.body)
    bad = emu.get("/api/v2/packages", signed=False)
    assert "Date" in bad.headers and int(bad.headers["Content-Length"]) == len(bad.body)


# ------------------------------------------------------------------ paging

def test_paging_walks_250_activations_newest_first(emu):
    listing = "/api/v2/packages/paging/actions/many/activations"
    pages = [emu.content(f"{listing}?pageSize=100&pageNo={n}") for n in (1, 2, 3, 4)]
    assert [len(p["activations"]) for p in pages] == [100, 100, 50, 0]
    assert all(p["totalCount"] == 250 for p in pages)
    ids = [a["activationId"] for p in pages for a in p["activations"]]
    assert ids == [md5_id(f"paging/many/{i}") for i in range(249, -1, -1)]


@pytest.mark.parametrize("size", ["500", "250", "9" * 30])
def test_page_size_has_no_maximum_by_default(emu, size):
    content = emu.content(f"/api/v2/packages/paging/actions/many/activations?pageSize={size}")
    assert len(content["activations"]) == 250 and content["totalCount"] == 250
    assert [a["activationId"] for a in content["activations"]] == \
        [md5_id(f"paging/many/{i}") for i in range(249, -1, -1)]


def test_default_page_size_is_20(emu):
    content = emu.content("/api/v2/packages/paging/actions/many/activations")
    assert len(content["activations"]) == 20


BAD_PARAMETERS = ["pageNo=0", "pageSize=0", "pageSize=abc", "pageNo=", "pageSize=-1",
                  "pageSize=1.5", "pageNo=%2B1", "pageSize=%201", "platform=gov", "platform=",
                  "start=abc", "end=-5", "start=" + "1" * 16]
ACTIVATION_LISTS = ["/api/v2/packages/paging/actions/many/activations",
                    "/api/v2/triggers/tick/activations", "/api/v2/activations",
                    "/ncf/api/v2/activations"]


@pytest.mark.parametrize("listing", ACTIVATION_LISTS)
@pytest.mark.parametrize("query", BAD_PARAMETERS)
def test_bad_parameters_are_400_service_code_80000(emu, listing, query):
    resp = emu.get(f"{listing}?{query}")
    assert resp.status == 400
    err = error_of(resp)
    assert err["errorCode"] == "80000" and err["message"] == "INVALID_PARAMETER"
    assert set(err) == {"errorCode", "message", "details"}


@pytest.mark.parametrize("query", ["start=2024-01-01", "end=2024-01-01%2000:00:00",
                                   "start=2024-1-01T00:00:00", "start=2024-13-01T00:00:00",
                                   "end=2024-02-30T00:00:00", "start=1714111020170",
                                   "start=2024-01-01T00:00:00Z", "end=0000-01-01T00:00:00"])
def test_malformed_v20_times_are_400_80000(emu, query):
    resp = emu.get(f"/api/v2/packages/paging/actions/many/activations?{query}")
    assert resp.status == 400 and error_of(resp)["errorCode"] == "80000"


def test_bad_platform_is_80000_everywhere(emu):
    for target in ("/api/v2/packages", "/api/v2/packages/demo", "/api/v2/triggers",
                   f"/api/v2/packages/demo/actions/hello/activations/{md5_id('demo/hello/0')}"):
        resp = emu.get(f"{target}?platform=gov")
        assert resp.status == 400 and error_of(resp)["errorCode"] == "80000", target


def test_page_past_the_end_is_empty_with_real_total(emu):
    content = emu.content("/api/v2/packages/paging/actions/many/activations?pageNo=" + "9" * 30)
    assert content == {"activations": [], "totalCount": 250}


TEST_PACKAGE_NAMES = ["demo", "../etc", "billing", "paging", "logs", "hostile", "window",
                      "x y", "allbad"]
HOSTILE_LISTING = ["..", ".", "a/b", "x" * 300, "ok", "bad name", "-leading", "ünï", ""]


@pytest.mark.parametrize("query", ["", "?pageSize=2", "?pageSize=2&pageNo=2", "?pageNo=3",
                                   "?pageNo=0&pageSize=abc", "?pageNo=999999"])
def test_unpaged_lists_answer_whole_ignoring_paging(emu, query):
    """The docs give the package, action and trigger lists only `platform`."""
    sep = "&" if query else "?"
    packages = emu.content(f"/api/v2/packages{query}")
    assert [p["name"] for p in packages] == TEST_PACKAGE_NAMES + ["bench"]
    assert packages[0] == {"name": "demo", "description": "Demo actions"}
    actions = emu.content(f"/api/v2/packages/hostile/actions{query}")
    assert list(actions) == ["actions"]
    assert [a["name"] for a in actions["actions"]] == HOSTILE_LISTING
    triggers = emu.content(f"/api/v2/triggers{query}")
    assert triggers == {"triggers": [{"name": "tick", "type": "cron"},
                                     {"name": "on-upload", "type": "basic"}]}
    assert [p["name"] for p in emu.content(f"/api/v2/packages{query}{sep}platform=vpc")] == \
        ["vpcpkg"]


# ------------------------------------------------------------------ platforms and errors

def test_platform_selection_and_mismatch(emu):
    mismatch = emu.get("/api/v2/packages/vpcpkg")
    assert mismatch.status == 400
    assert error_of(mismatch)["errorCode"] == "80102"
    assert error_of(mismatch)["message"] == "PACKAGE_PLATFORM_MISMATCH"
    assert emu.content("/api/v2/packages/vpcpkg?platform=vpc")["platform"] == "vpc"
    assert emu.content("/ncf/api/v2/packages/vpcpkg")["actions"] == ["ping"]
    assert error_of(emu.get("/ncf/api/v2/packages/demo"))["errorCode"] == "80102"
    assert emu.content("/ncf/api/v2/packages/demo?platform=classic")["name"] == "demo"
    assert [p["name"] for p in emu.content("/ncf/api/v2/packages")] == ["vpcpkg"]
    bad = emu.get("/api/v2/packages?platform=gov")
    assert bad.status == 400 and error_of(bad)["errorCode"] == "80000"


NOT_FOUND_CASES = [
    ("/api/v2/packages/nope", "80101"),
    ("/api/v2/packages/nope/actions", "80101"),
    ("/api/v2/packages/demo/actions/nope", "80301"),
    ("/api/v2/packages/demo/actions/nope/activations", "80301"),
    ("/api/v2/packages/demo/actions/hello/activations/" + "0" * 32, "80322"),
    ("/api/v2/packages/demo/actions/hello/activations/" + md5_id("billing/invoice/0"), "80322"),
    ("/api/v2/packages/hostile/actions/ok/activations/NOT-HEX", "80322"),
    ("/api/v2/triggers/nope", "80501"),
    ("/api/v2/triggers/tick/activations/" + "f" * 32, "80518"),
    ("/api/v2/triggers/tick/activations/" + md5_id("demo/hello/0"), "80518"),
    ("/api/v2/packages/allbad/actions/ok", "80301"),
    ("/api/v2/nothing", "300"),
    ("/api/v2", "300"),
    ("/api/v2/", "300"),
    ("/api/v3/packages", "300"),
    ("/", "300"),
    ("/api/v2/packages/demo/", "300"),
    ("/api/v2/packages/%2E%2E", "300"),
    ("/api/v2/packages/..%2Fetc", "300"),
    ("/api/v2/packages/x%20y", "300"),
    ("/api/v2/packages/hostile/actions/a%2Fb", "300"),
    ("/api/v2/packages/hostile/actions/%C3%BCn%C3%AF", "300"),
    ("/api/v2/packages/hostile/actions/" + "x" * 300, "300"),
    ("/api/v2/packages/hostile/actions/-leading", "300"),
    ("/api/v2/packages/hostile/actions/bad%20name", "300"),
    ("/api/v2/packages/hostile/actions/%ff%fe", "300"),
    ("/api/v2/packages/hostile/actions/%zz", "300"),
    ("/api/v2/packages/hostile/actions/%00", "300"),
]


@pytest.mark.parametrize("target,code", NOT_FOUND_CASES)
def test_not_found_codes(emu, target, code):
    resp = emu.get(target)
    assert resp.status == 404, resp.body
    err = error_of(resp)
    assert err["errorCode"] == code and set(err) == {"errorCode", "message", "details"}


def test_percent_encoded_valid_name_is_decoded_once(emu):
    assert emu.content("/api/v2/packages/%64emo")["name"] == "demo"
    assert emu.get("/api/v2/packages/%2564emo").status == 404


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "BREW"])
def test_non_get_is_405(emu, method):
    resp = emu.request("/api/v2/packages", method=method, body=b"{}" if method != "OPTIONS" else None)
    assert resp.status == 405 and resp.headers["Allow"] == "GET"
    assert error_of(resp)["message"] == "Method Not Allowed"


# ------------------------------------------------------------------ records and data sets

def test_activation_record_shape_and_admin_copy(emu):
    ids = emu.admin("GET", "ids/demo/hello")[1]["ids"]
    assert ids == [md5_id(f"demo/hello/{i}") for i in range(24, -1, -1)]
    for index in (0, 7, 24):
        aid = md5_id(f"demo/hello/{index}")
        record = emu.content(f"/api/v2/packages/demo/actions/hello/activations/{aid}")
        assert record == emu.admin("GET", f"record/demo/hello/{aid}")[1]
        assert record["activationId"] == aid and record["name"] == "demo/hello"
        assert record["end"] == record["start"] + record["duration"]
        assert 1 <= record["duration"] <= 5000
        assert abs(record["start"] - now_ms()) < 2 * 86_400_000 and record["start"] < now_ms()
        assert record["logs"] and all(LOG_LINE_RE.fullmatch(line) for line in record["logs"])
        status = record["response"]["status"]
        assert record["response"]["success"] == (status == "success")
        assert set(record) == {"activationId", "name", "namespace", "subject", "start", "end",
                               "duration", "logs", "response"}     # no annotations


def test_statuses_and_failure_results(emu):
    statuses = {}
    for i in range(25):
        record = emu.admin("GET", f"record/demo/hello/{md5_id(f'demo/hello/{i}')}")[1]
        statuses.setdefault(record["response"]["status"], []).append(record)
        if record["response"]["status"] == "success":
            assert record["response"]["result"]["n"] == i
        else:
            assert "ERROR" in record["logs"][-1]
    assert len(statuses["success"]) >= 20
    assert {"application error", "action developer error", "whisk internal error"} <= set(statuses)
    assert all("error" in r["response"]["result"] for s, rs in statuses.items() if s != "success"
               for r in rs)
    resize, total = emu.all_activations("/api/v2/packages/demo/actions/resize-image/activations")
    assert total == 8 and sum(a["status"] != "success" for a in resize) == 2


def test_demo_counts_in_test_dataset(emu):
    expected = {("demo", "hello"): 25, ("demo", "resize-image"): 8, ("billing", "invoice"): 5,
                ("-", "standalone"): 3}
    for (pkg, action), count in expected.items():
        entries, total = emu.all_activations(f"/api/v2/packages/{pkg}/actions/{action}/activations")
        assert total == count == len(entries)
    assert emu.content("/ncf/api/v2/packages/vpcpkg/actions/ping/activations")["totalCount"] == 4
    standalone = emu.admin("GET", f"record/-/standalone/{md5_id('-/standalone/0')}")[1]
    assert standalone["name"] == "standalone"
    assert [a["name"] for a in emu.content("/api/v2/packages/-/actions")["actions"]] == ["standalone"]


def test_long_and_empty_logs_and_string_duration(emu):
    long_id = md5_id("logs/long/0")
    logs = emu.content(f"/api/v2/packages/logs/actions/long/activations/{long_id}")["logs"]
    assert len(logs) == 3000 and "line 2999" in logs[-1]
    assert all(LOG_LINE_RE.fullmatch(line) for line in logs)
    entries, total = emu.all_activations("/api/v2/packages/logs/actions/empty/activations")
    assert total == 2
    by_id = {e["activationId"]: e for e in entries}
    assert by_id[md5_id("logs/empty/1")]["duration"] == "34"
    empty = emu.content(f"/api/v2/packages/logs/actions/empty/activations/{md5_id('logs/empty/0')}")
    assert empty["logs"] == []
    stringy = emu.content(f"/api/v2/packages/logs/actions/empty/activations/{md5_id('logs/empty/1')}")
    assert stringy["duration"] == "34" and stringy["end"] == stringy["start"] + 34


def test_hostile_names_only_in_listings(emu):
    names = [a["name"] for a in emu.content("/api/v2/packages/hostile/actions?pageSize=100")["actions"]]
    assert sorted(names) == sorted(["..", ".", "a/b", "x" * 300, "bad name", "-leading", "ünï", "",
                                    "ok"])
    assert emu.content("/api/v2/packages/hostile")["actions"] == names
    packages = [p["name"] for p in emu.content("/api/v2/packages?pageSize=100")]
    assert "../etc" in packages and "x y" in packages
    entries, total = emu.all_activations("/api/v2/packages/hostile/actions/ok/activations")
    ids = [e["activationId"] for e in entries]
    assert total == 3 and "NOT-HEX" in ids
    assert sorted(i for i in ids if HEX32_RE.fullmatch(i)) == \
        sorted([md5_id("hostile/ok/0"), md5_id("hostile/ok/1")])


def test_triggers(emu):
    triggers = emu.content("/api/v2/triggers")["triggers"]
    assert sorted(t["name"] for t in triggers) == ["on-upload", "tick"]
    assert emu.content("/api/v2/triggers/tick")["type"] == "cron"
    assert emu.content("/ncf/api/v2/triggers")["triggers"] == []
    content = emu.content("/api/v2/triggers/tick/activations")
    assert content["totalCount"] == 3
    assert [a["activationId"] for a in content["activations"]] == \
        [md5_id(f"@trigger/tick/{i}") for i in (2, 1, 0)]
    for entry in content["activations"]:
        record = emu.content(f"/api/v2/triggers/tick/activations/{entry['activationId']}")
        assert record["end"] == 0 and record["name"] == "tick"
        assert record == emu.admin("GET", f"trigger-record/tick/{entry['activationId']}")[1]


def test_namespace_activations_cover_platform_newest_first(emu):
    entries, total = emu.all_activations("/api/v2/activations")
    expected = 25 + 8 + 5 + 3 + 250 + 1 + 2 + 2 + 3 + 30 + 3 + 2   # window/edges: 3 of 5
    assert total == expected == len(entries)
    owners = {}
    for pkg, action in [("demo", "hello"), ("paging", "many"), ("bench", "load")]:
        for aid in emu.admin("GET", f"ids/{pkg}/{action}")[1]["ids"]:
            owners[aid] = (pkg, action)
    starts = [emu.admin("GET", "record/%s/%s/%s" % (*owners[e["activationId"]], e["activationId"]))
              [1]["start"] for e in entries if e["activationId"] in owners]
    assert starts == sorted(starts, reverse=True) and len(starts) == 25 + 250 + 30
    vpc = emu.content("/ncf/api/v2/activations")
    assert vpc["totalCount"] == 4


def test_start_end_filters(emu):
    """v2.1 takes epoch ms, v2.0 takes yyyy-MM-ddTHH:mm:ss in KST; both bound start inclusively."""
    many = "packages/paging/actions/many/activations"
    ids = emu.admin("GET", "ids/paging/many")[1]["ids"]
    newer, older = (emu.admin("GET", f"record/paging/many/{ids[i]}")[1] for i in (10, 20))
    window = f"start={older['start']}&end={newer['start']}"
    content = emu.content(f"/ncf/api/v2/{many}?platform=classic&{window}")
    assert content["totalCount"] == 11
    assert content["activations"][0]["activationId"] == ids[10]
    kst = datetime.fromtimestamp(older["start"] // 1000, timezone(timedelta(hours=9)))
    since = emu.content(f"/api/v2/{many}?start={kst.strftime('%Y-%m-%dT%H:%M:%S')}")
    assert since["totalCount"] == 21
    assert emu.get(f"/api/v2/{many}?start=123").status == 400
    assert emu.get(f"/ncf/api/v2/{many}?platform=classic&end=2024-01-01T00:00:00").status == 400
    assert emu.content(f"/api/v2/{many}?end=2999-01-01T00:00:00")["totalCount"] == 250
    assert emu.content(f"/api/v2/{many}?start=2999-01-01T00:00:00")["totalCount"] == 0


def test_bench_activations_have_20_lines_some_with_error(emu):
    ids = emu.admin("GET", "ids/bench/load")[1]["ids"]
    assert len(ids) == 30
    records = [emu.admin("GET", f"record/bench/load/{aid}")[1] for aid in ids]
    assert all(len(r["logs"]) == 20 for r in records)
    assert any("ERROR" in line for r in records for line in r["logs"])
    assert not all(any("ERROR" in line for line in r["logs"]) for r in records)


def test_demo_dataset_is_default_and_deterministic(fresh):
    one, two = fresh(), fresh()
    assert [p["name"] for p in one.content("/api/v2/packages")] == ["demo", "billing"]
    assert one.get("/api/v2/packages/paging").status == 404
    assert one.content("/api/v2/triggers")["triggers"] == []
    for server in (one, two):
        assert server.admin("GET", "ids/demo/hello")[1]["ids"][-1] == md5_id("demo/hello/0")
    aid = md5_id("demo/resize-image/2")
    a, b = (s.admin("GET", f"record/demo/resize-image/{aid}")[1] for s in (one, two))
    assert a["response"] == b["response"] and a["duration"] == b["duration"]
    assert a["response"]["status"] == "application error"
    strip = lambda rec: [line.split(" ", 1)[1] for line in rec["logs"]]
    assert strip(a) == strip(b)


# ------------------------------------------------------------------ request log, keep-alive

def test_request_log_records_raw_targets_not_admin(emu):
    emu.get("/api/v2/packages?platform=classic&pageSize=%32")
    emu.get("/api/v2/packages", signed=False)
    emu.get("/ncf/api/v2/packages/%76pcpkg")
    emu.admin("GET", "config")
    entries = emu.admin("GET", "requests")[1]
    assert [(e["method"], e["target"], e["path"], e["query"], e["status"]) for e in entries] == [
        ("GET", "/api/v2/packages?platform=classic&pageSize=%32", "/api/v2/packages",
         "platform=classic&pageSize=%32", 200),
        ("GET", "/api/v2/packages", "/api/v2/packages", "", 401),
        ("GET", "/ncf/api/v2/packages/%76pcpkg", "/ncf/api/v2/packages/%76pcpkg", "", 200),
    ]
    assert all(abs(e["ts"] - now_ms()) < 60_000 for e in entries)
    with open(os.path.join(emu.tmp_dir, "requests.jsonl")) as f:
        lines = [json.loads(line) for line in f]
    assert lines[-3:] == entries
    assert not any("/_emulator" in line["target"] for line in lines)
    assert emu.admin("POST", "reset") == (200, {})
    assert emu.admin("GET", "requests")[1] == []


def test_keep_alive_reuses_one_connection(emu):
    conn = emu.connect()
    try:
        for _ in range(3):
            resp = emu.get("/api/v2/packages", conn=conn)
            assert resp.status == 200 and resp.headers.get("Connection") != "close"
        assert emu.get("/api/v2/nope", conn=conn).status == 404   # errors keep it too
        assert emu.get("/api/v2/packages", conn=conn).status == 200
    finally:
        conn.close()
    conns = {e["conn"] for e in emu.admin("GET", "requests")[1]}
    assert len(conns) == 1


# ------------------------------------------------------------------ latency

def test_runtime_latency_applies_and_overlaps(emu):
    emu.configure(latency_ms=300)
    began = time.monotonic()
    assert emu.get("/api/v2/packages").status == 200
    assert time.monotonic() - began >= 0.3
    results = []
    threads = [threading.Thread(target=lambda: results.append(emu.get("/api/v2/packages").status))
               for _ in range(6)]
    began = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - began
    assert results == [200] * 6 and 0.3 <= elapsed < 1.2
    began = time.monotonic()
    emu.admin("GET", "requests")
    assert time.monotonic() - began < 0.25      # admin requests are never delayed


def test_latency_flag(fresh):
    server = fresh("--latency-ms", "250")
    began = time.monotonic()
    assert server.get("/api/v2/packages").status == 200
    assert time.monotonic() - began >= 0.25


# ------------------------------------------------------------------ faults

@pytest.mark.parametrize("status,code", [(503, "500"), (429, "420"), (500, "900"), (504, "510")])
def test_fault_status(emu, status, code):
    emu.configure(faults=[{"path_regex": "/packages$", "status": status}])
    resp = emu.get("/api/v2/packages")
    assert resp.status == status and error_of(resp)["errorCode"] == code
    assert "Retry-After" not in resp.headers        # only when the fault asks for it
    assert emu.get("/api/v2/packages/demo").status == 200      # regex does not match
    log = emu.admin("GET", "requests")[1]
    assert log[0]["status"] == status and log[0]["fault"] == "status" and "fault" not in log[1]


def test_fault_fraction_and_count(emu):
    emu.configure(faults=[{"path_regex": "", "fraction": 0.0}])
    assert all(emu.get("/api/v2/packages").status == 200 for _ in range(10))
    emu.configure(faults=[{"path_regex": "", "fraction": 0.5}], seed=7)
    first = [emu.get("/api/v2/packages").status for _ in range(40)]
    assert 5 < first.count(503) < 35 and first.count(200) == 40 - first.count(503)
    emu.configure(faults=[{"path_regex": "", "fraction": 0.5}], seed=7)
    assert [emu.get("/api/v2/packages").status for _ in range(40)] == first   # seeded
    emu.configure(faults=[{"path_regex": "", "count": 2}])
    assert [emu.get("/api/v2/packages").status for _ in range(4)] == [503, 503, 200, 200]


@pytest.mark.parametrize("rst", [True, False])
def test_fault_reset_cuts_the_body(emu, rst):
    emu.configure(faults=[{"kind": "reset", "rst": rst}])
    conn = emu.connect(timeout=5)
    try:
        conn.request("GET", "/api/v2/packages")
        resp = conn.getresponse()
        assert resp.status == 200 and int(resp.headers["Content-Length"]) > 100
        with pytest.raises((http.client.IncompleteRead, ConnectionResetError)):
            resp.read()
    finally:
        conn.close()
    assert emu.admin("GET", "requests")[1][0]["fault"] == "reset"


def response_complete(received):
    """True once `received` holds a whole response framed by Content-Length."""
    head, sep, body = received.partition(b"\r\n\r\n")
    match = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    return bool(sep) and match is not None and len(body) >= int(match.group(1))


def raw_exchange(port, request, timeout):
    """Send bytes; -> (bytes received until the peer closed, went quiet, or completed one
    response, timed_out)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.sendall(request)
    received = b""
    try:
        while not response_complete(received):
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
        return received, False
    except socket.timeout:
        return received, True
    finally:
        sock.close()


def wait_for_logged(emu, kind, timeout=10):
    """The log entry of a faulted request, which appears only once the fault has ended."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        entries = [e for e in emu.admin("GET", "requests")[1] if e.get("fault") == kind]
        if entries:
            return entries[0]
        time.sleep(0.1)
    raise AssertionError(f"no {kind} entry logged")


def test_fault_stall_sends_headers_then_nothing(emu):
    emu.configure(faults=[{"kind": "stall", "seconds": 2}])
    began = time.monotonic()
    received, timed_out = raw_exchange(emu.port, b"GET /api/v2/packages HTTP/1.1\r\nHost: x\r\n\r\n", 1)
    assert timed_out and time.monotonic() - began < 2.5
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and b"Content-Length:" in head and body == b""
    assert wait_for_logged(emu, "stall")["status"] == 200


def test_fault_hang_never_answers(emu):
    emu.configure(faults=[{"kind": "hang", "seconds": 2}])
    received, timed_out = raw_exchange(emu.port, b"GET /api/v2/packages HTTP/1.1\r\nHost: x\r\n\r\n", 1)
    assert timed_out and received == b""
    assert wait_for_logged(emu, "hang")["status"] == 0     # never answered


def test_fault_garbage_and_html(emu):
    emu.configure(faults=[{"kind": "garbage", "path_regex": "garbage"},
                          {"kind": "html", "path_regex": "html"}])
    garbage = emu.get("/api/v2/packages?garbage")
    assert garbage.status == 200 and garbage.body.startswith(b'{"content"')
    with pytest.raises(ValueError):
        garbage.json()
    html = emu.get("/api/v2/packages?html")
    assert html.status == 502 and html.headers["Content-Type"].startswith("text/html")
    assert b"<html>" in html.body


def test_fault_huge_streams_exact_size_valid_json(emu):
    emu.configure(faults=[{"kind": "huge", "size_mb": 3}])
    resp = emu.get("/api/v2/packages", timeout=30)
    assert resp.status == 200 and len(resp.body) == 3 * 1024 * 1024
    assert int(resp.headers["Content-Length"]) == len(resp.body)
    assert set(resp.json()["content"]) == {"padding"}


@pytest.mark.parametrize("config", [{"faults": [{"kind": "explode"}]},
                                    {"faults": [{"path_regex": "("}]},
                                    {"faults": [{"fraction": 2}]},
                                    {"faults": [{"status": 200}]},
                                    {"faults": "no"}, {"latency_ms": -1}, {"color": "red"}])
def test_bad_config_is_rejected_whole(emu, config):
    emu.configure(latency_ms=5)
    status, body = emu.admin("POST", "config", config)
    assert status == 400 and body["error"]["errorCode"] == "100"
    assert emu.admin("GET", "config")[1] == {"latency_ms": 5, "faults": []}


# ------------------------------------------------------------------ admin endpoints

def test_admin_add_activation_becomes_newest(fresh):
    server = fresh("--dataset", "test")
    listing = "/api/v2/packages/demo/actions/hello/activations"
    status, added = server.admin("POST", "addactivation/demo/hello",
                                 {"status": "application error", "logs": ["x stderr: ERROR boom"],
                                  "duration": 7})
    assert status == 200 and added["activationId"] == md5_id("demo/hello/25")
    content = server.content(listing)
    assert content["totalCount"] == 26
    assert content["activations"][0] == {"activationId": added["activationId"], "duration": 7,
                                         "status": "application error"}
    record = server.content(f"{listing}/{added['activationId']}")
    assert record["logs"] == ["x stderr: ERROR boom"] and record["response"]["success"] is False
    assert abs(record["start"] - now_ms()) < 5000
    assert server.content("/api/v2/activations")["activations"][0]["activationId"] == \
        added["activationId"]
    status, plain = server.admin("POST", "addactivation/-/standalone")
    assert status == 200 and server.content(
        "/api/v2/packages/-/actions/standalone/activations")["activations"][0]["activationId"] == \
        plain["activationId"]


def test_admin_errors(emu):
    assert emu.admin("GET", "record/demo/nope/" + "0" * 32)[0] == 404
    assert emu.admin("GET", "record/demo/hello/" + "0" * 32)[0] == 404
    assert emu.admin("GET", "nothing")[0] == 404
    assert emu.admin("GET", "reset")[0] == 405
    assert emu.admin("POST", "addactivation/demo/hello", {"status": "meh"})[0] == 400
    assert emu.admin("POST", "addactivation/nope/nope")[0] == 404
    assert emu.admin("GET", "requests")[1] == []        # none of that was logged


@pytest.mark.parametrize("body", [{"visible_after_s": -1}, {"visible_after_s": "2"},
                                  {"visible_after_s": 3601}, {"visible_after_s": True}])
def test_admin_add_activation_bad_visibility_is_400(emu, body):
    status, answer = emu.admin("POST", "addactivation/demo/hello", body)
    assert status == 400 and answer["error"]["errorCode"] == "100"


def test_added_activation_is_listed_at_once_but_readable_only_after_its_delay(fresh):
    """NCP: a freshly listed activation can answer 404 80322 for a while (third parties)."""
    server = fresh("--dataset", "test")
    listing = "/api/v2/packages/demo/actions/hello/activations"
    status, added = server.admin("POST", "addactivation/demo/hello", {"visible_after_s": 1.5})
    aid = added["activationId"]
    assert status == 200 and added["visible_at"] == added["start"] + 1500
    page = server.content(f"{listing}?pageSize=1")
    assert [a["activationId"] for a in page["activations"]] == [aid] and page["totalCount"] == 26
    early = server.get(f"{listing}/{aid}")
    assert early.status == 404 and error_of(early) == {
        "errorCode": "80322", "message": "ACTION_ACTIVATION_NOT_FOUND",
        "details": f"Activation '{aid}' not found."}
    truth = server.admin("GET", f"record/demo/hello/{aid}")     # admin sees it at once
    assert truth[0] == 200 and truth[1]["start"] == added["start"]
    time.sleep(max(0.0, (added["visible_at"] - now_ms()) / 1000) + 0.1)
    assert server.content(f"{listing}/{aid}") == truth[1]


# ------------------------------------------------------------------ the one-month window

def local_time(ms, hours):
    """Epoch ms -> 'yyyy-MM-ddTHH:mm:ss' at UTC+hours (v2.0 start/end)."""
    zone = timezone(timedelta(hours=hours))
    return datetime.fromtimestamp(ms // 1000, zone).strftime("%Y-%m-%dT%H:%M:%S")


def ids_of(content):
    return [a["activationId"] for a in content["activations"]]


EDGES = "packages/window/actions/edges/activations"


def edge_start(emu, index):
    return emu.admin("GET", f"record/window/edges/{md5_id(f'window/edges/{index}')}")[1]["start"]


def test_window_lists_only_the_last_31_days_by_default(emu):
    """window/edges is 40 d, 32 d, 29 d, 7 d and 2 h old: the first two are not listed."""
    expected = [md5_id(f"window/edges/{i}") for i in (4, 3, 2)]
    for target in (f"/api/v2/{EDGES}", f"/ncf/api/v2/{EDGES}?platform=classic"):
        content = emu.content(target)
        assert ids_of(content) == expected and content["totalCount"] == 3
    assert set(emu.admin("GET", "ids/window/edges")[1]["ids"]) >= set(expected)
    now = now_ms()      # the module's emulator started a little earlier
    assert now - 32 * 86_400_000 - 120_000 < edge_start(emu, 1) < now - 31 * 86_400_000


def test_start_older_than_a_month_is_clamped_not_refused(emu):
    month_ago = now_ms() - 31 * 86_400_000
    for start in (0, edge_start(emu, 0) - 1000, month_ago - 3_600_000):
        content = emu.content(f"/ncf/api/v2/{EDGES}?platform=classic&start={start}")
        assert content["totalCount"] == 3 and ids_of(content)[-1] == md5_id("window/edges/2")
    old = f"start={edge_start(emu, 0) - 1000}&end={edge_start(emu, 1) + 1000}"
    assert emu.content(f"/ncf/api/v2/{EDGES}?platform=classic&{old}") == \
        {"activations": [], "totalCount": 0}
    v20 = local_time(edge_start(emu, 0) - 1000, 9)
    assert emu.content(f"/api/v2/{EDGES}?start={v20}")["totalCount"] == 3
    # The record itself stays readable by id (emulator choice).
    aged = md5_id("window/edges/0")
    assert emu.content(f"/api/v2/{EDGES}/{aged}")["activationId"] == aged


def test_end_alone_keeps_the_month_floor(emu):
    twenty_days_ago = now_ms() - 20 * 86_400_000
    content = emu.content(f"/ncf/api/v2/{EDGES}?platform=classic&end={twenty_days_ago}")
    assert ids_of(content) == [md5_id("window/edges/2")] and content["totalCount"] == 1


def test_v20_times_are_korean_local_and_end_covers_its_second(emu):
    ids = emu.admin("GET", "ids/paging/many")[1]["ids"]
    start = emu.admin("GET", f"record/paging/many/{ids[100]}")[1]["start"]
    second = local_time(start, 9)
    content = emu.content(f"/api/v2/packages/paging/actions/many/activations"
                          f"?start={second}&end={second}")
    assert ids_of(content) == [ids[100]] and content["totalCount"] == 1
    utc = local_time(start, 0)      # the same digits read as KST: nine hours off
    assert emu.content(f"/api/v2/packages/paging/actions/many/activations"
                       f"?start={utc}&end={utc}")["totalCount"] == 0


def test_namespace_list_filters_by_start_and_end(emu):
    start = edge_start(emu, 3)      # 7 days old: alone in its hour
    lo, hi = local_time(start - 3_600_000, 9), local_time(start + 3_600_000, 9)
    content = emu.content(f"/api/v2/activations?start={lo}&end={hi}")
    assert ids_of(content) == [md5_id("window/edges/3")] and content["totalCount"] == 1
    content = emu.content(f"/ncf/api/v2/activations?platform=classic&start={start}&end={start}")
    assert ids_of(content) == [md5_id("window/edges/3")]
    assert emu.content(f"/ncf/api/v2/activations?start={start}&end={start}")["totalCount"] == 0


def test_hostile_extra_entry_only_without_start_or_end(emu):
    listing = "/ncf/api/v2/packages/hostile/actions/ok/activations?platform=classic"
    assert "NOT-HEX" in ids_of(emu.content(listing))
    filtered = emu.content(f"{listing}&start=1")
    assert ids_of(filtered) == [md5_id("hostile/ok/1"), md5_id("hostile/ok/0")]
    assert filtered["totalCount"] == 2


def test_region_sg_reads_v20_times_as_utc_plus_8(fresh):
    server = fresh("--region", "sg")
    aid = md5_id("demo/hello/10")
    start = server.admin("GET", f"record/demo/hello/{aid}")[1]["start"]
    listing = "/api/v2/packages/demo/actions/hello/activations"
    for hours, expected in ((8, [aid]), (9, [])):   # demo/hello spans 25 minutes
        second = local_time(start, hours)
        assert ids_of(server.content(f"{listing}?start={second}&end={second}")) == expected
    # v2.1 epoch ms does not depend on the region.
    assert ids_of(server.content(f"/ncf/api/v2/{listing[8:]}?platform=classic"
                                 f"&start={start}&end={start}")) == [aid]


@pytest.mark.parametrize("region", ["jp", "kr"])
def test_region_jp_and_kr_read_utc_plus_9(fresh, region):
    server = fresh("--region", region)
    aid = md5_id("demo/hello/3")
    start = server.admin("GET", f"record/demo/hello/{aid}")[1]["start"]
    second = local_time(start, 9)
    assert ids_of(server.content(f"/api/v2/packages/demo/actions/hello/activations"
                                 f"?start={second}&end={second}")) == [aid]


# ------------------------------------------------------------------ flags beyond the docs

HELLO = "/api/v2/packages/demo/actions/hello/activations"
MANY = "/api/v2/packages/paging/actions/many/activations"


def test_order_oldest_first(fresh):
    server = fresh("--dataset", "test", "--order", "oldest-first")
    pages = [server.content(f"{MANY}?pageSize=100&pageNo={n}") for n in (1, 2, 3)]
    assert [a for p in pages for a in ids_of(p)] == \
        [md5_id(f"paging/many/{i}") for i in range(250)]
    assert ids_of(server.content(f"{HELLO}?pageSize=3")) == \
        [md5_id(f"demo/hello/{i}") for i in range(3)]
    assert ids_of(server.content("/api/v2/triggers/tick/activations")) == \
        [md5_id(f"@trigger/tick/{i}") for i in range(3)]
    assert ids_of(server.content(f"/api/v2/{EDGES}")) == \
        [md5_id(f"window/edges/{i}") for i in (2, 3, 4)]
    hostile = ids_of(server.content("/api/v2/packages/hostile/actions/ok/activations"))
    assert hostile == ["NOT-HEX", md5_id("hostile/ok/0"), md5_id("hostile/ok/1")]
    # /_emulator/ids is newest first whatever the order: tests use it as ground truth.
    assert server.admin("GET", "ids/demo/hello")[1]["ids"] == \
        [md5_id(f"demo/hello/{i}") for i in range(24, -1, -1)]
    status, added = server.admin("POST", "addactivation/demo/hello")
    assert ids_of(server.content(f"{HELLO}?pageSize=1&pageNo=26")) == [added["activationId"]]


def test_order_oldest_first_namespace_list(fresh):
    server = fresh("--order", "oldest-first")
    content = server.content("/api/v2/activations?pageSize=100")
    assert content["totalCount"] == 25 + 8 + 5 + 3 == len(content["activations"])
    owners = {aid: (pkg, action) for pkg, action in
              [("demo", "hello"), ("demo", "resize-image"), ("billing", "invoice"),
               ("-", "standalone")]
              for aid in server.admin("GET", f"ids/{pkg}/{action}")[1]["ids"]}
    starts = [server.admin("GET", "record/%s/%s/%s" % (*owners[aid], aid))[1]["start"]
              for aid in ids_of(content)]
    assert starts == sorted(starts)


def test_order_flag_rejects_other_values():
    proc = subprocess.run([PYTHON, SCRIPT, "--port", "0", "--order", "random"],
                          capture_output=True, text=True, timeout=20)
    assert proc.returncode == 2 and "--order" in proc.stderr


def test_annotations_flag_restores_openwhisk_annotations(fresh):
    server = fresh("--dataset", "test", "--annotations")
    cold = []
    for index in range(25):
        aid = md5_id(f"demo/hello/{index}")
        record = server.content(f"{HELLO}/{aid}")
        assert record == server.admin("GET", f"record/demo/hello/{aid}")[1]
        keys = [a["key"] for a in record["annotations"]]
        assert keys[:2] == ["kind", "waitTime"] and keys[-2:] == ["limits", "path"]
        notes = {a["key"]: a["value"] for a in record["annotations"]}
        assert notes["kind"] == "nodejs:16" and notes["path"] == "ncfemu01/demo/hello"
        assert notes["limits"] == {"concurrency": 1, "logs": 10, "memory": 256, "timeout": 60000}
        cold.append("initTime" in notes)
    assert cold[0] and not all(cold)        # index 0 is a cold start; not every one is
    tick = md5_id("@trigger/tick/0")
    assert server.content(f"/api/v2/triggers/tick/activations/{tick}")["annotations"] == \
        [{"key": "path", "value": "ncfemu01/tick"}]


def test_page_lists_flag_pages_packages_actions_and_triggers(fresh):
    server = fresh("--dataset", "test", "--page-lists")
    pages = [server.content(f"/api/v2/packages?pageSize=4&pageNo={n}") for n in (1, 2, 3, 4)]
    assert [[p["name"] for p in page] for page in pages] == \
        [TEST_PACKAGE_NAMES[:4], TEST_PACKAGE_NAMES[4:8], TEST_PACKAGE_NAMES[8:], []]
    assert [p["name"] for p in server.content("/api/v2/packages")] == TEST_PACKAGE_NAMES
    actions = server.content("/api/v2/packages/hostile/actions?pageSize=4&pageNo=3")
    assert actions == {"actions": [{"name": "", "description": "listed only", "type": "basic",
                                    "runtime": "nodejs:16"}]}         # no totalCount
    assert server.content("/api/v2/triggers?pageSize=1&pageNo=2") == \
        {"triggers": [{"name": "on-upload", "type": "basic"}]}
    bad = server.get("/api/v2/packages?pageNo=0")
    assert bad.status == 400 and error_of(bad)["errorCode"] == "80000"


def test_page_cap_flag(fresh):
    server = fresh("--dataset", "test", "--page-cap", "7")
    content = server.content(f"{MANY}?pageSize=20&pageNo=2")
    assert ids_of(content) == [md5_id(f"paging/many/{i}") for i in range(242, 235, -1)]
    assert content["totalCount"] == 250
    assert len(server.content("/api/v2/packages?pageSize=2")) == 9     # unpaged: no cap
    capped = fresh("--dataset", "test", "--page-cap", "3", "--page-lists")
    assert [p["name"] for p in capped.content("/api/v2/packages?pageSize=100&pageNo=2")] == \
        TEST_PACKAGE_NAMES[3:6]


def test_max_page_size_flag_refuses_big_pages(fresh):
    server = fresh("--dataset", "test", "--max-page-size", "50", "--page-cap", "30")
    assert len(server.content(f"{MANY}")["activations"]) == 20
    assert len(server.content(f"{MANY}?pageSize=50")["activations"]) == 30    # cap after limit
    for listing in (MANY, "/api/v2/activations", "/api/v2/triggers/tick/activations"):
        resp = server.get(f"{listing}?pageSize=51")
        assert resp.status == 400 and error_of(resp) == {
            "errorCode": "80000", "message": "INVALID_PARAMETER",
            "details": "pageSize must be at most 50."}
    assert len(server.content("/api/v2/packages?pageSize=51")) == 9   # unpaged: not read


def test_max_page_size_below_the_default_is_refused():
    proc = subprocess.run([PYTHON, SCRIPT, "--port", "0", "--max-page-size", "19"],
                          capture_output=True, text=True, timeout=20)
    assert proc.returncode == 2 and "max-page-size" in proc.stderr


def test_repeat_items_flag(fresh):
    server = fresh("--dataset", "test", "--repeat-items", "3")
    thrice = lambda names: [n for n in names for _ in range(3)]    # noqa: E731
    assert [p["name"] for p in server.content("/api/v2/packages")] == \
        thrice(TEST_PACKAGE_NAMES)
    assert [a["name"] for a in server.content("/api/v2/packages/allbad/actions")["actions"]] == \
        thrice(["..", "a/b", "bad name", "-x"])
    assert [t["name"] for t in server.content("/api/v2/triggers")["triggers"]] == \
        thrice(["tick", "on-upload"])
    page = server.content(f"{MANY}?pageSize=5&pageNo=2")
    assert ids_of(page) == thrice([md5_id(f"paging/many/{i}") for i in range(244, 239, -1)])
    assert page["totalCount"] == 250
    namespace = server.content("/api/v2/activations?pageSize=2")
    assert len(namespace["activations"]) == 6 and namespace["totalCount"] == 301 + 3


def test_ignore_page_no_flag(fresh):
    server = fresh("--dataset", "test", "--ignore-page-no")
    first = server.content(f"{MANY}?pageSize=10")
    for page_no in ("2", "25", "0", "abc"):
        assert server.content(f"{MANY}?pageSize=10&pageNo={page_no}") == first
    assert ids_of(first) == [md5_id(f"paging/many/{i}") for i in range(249, 239, -1)]
    assert first["totalCount"] == 250
    assert server.get(f"{MANY}?pageSize=0").status == 400      # pageSize is still read


@pytest.mark.parametrize("lie", ["0", "1000"])
def test_total_count_lie_flag(fresh, lie):
    server = fresh("--dataset", "test", "--total-count-lie", lie)
    page = server.content(f"{HELLO}?pageSize=10&pageNo=3")
    assert ids_of(page) == [md5_id(f"demo/hello/{i}") for i in range(4, -1, -1)]
    assert page["totalCount"] == int(lie)
    assert server.content(f"{HELLO}?pageSize=10&pageNo=4") == \
        {"activations": [], "totalCount": int(lie)}
    assert server.content("/api/v2/activations")["totalCount"] == int(lie)
    assert "totalCount" not in server.content("/api/v2/triggers")


# target -> (HTTP status, errorCode with --numeric-service-codes); gateway codes stay strings
NUMERIC_CODE_CASES = {
    "/api/v2/packages/nope": (404, 80101),
    "/api/v2/packages/vpcpkg": (400, 80102),
    "/api/v2/packages/demo/actions/nope": (404, 80301),
    f"{HELLO}/{'0' * 32}": (404, 80322),
    f"/api/v2/triggers/tick/activations/{'0' * 32}": (404, 80518),
    f"{HELLO}?pageNo=0": (400, 80000),
    "/api/v2/nothing": (404, "300"),
}


def test_numeric_service_codes_flag(fresh):
    server = fresh("--dataset", "test", "--numeric-service-codes")
    for target, (status, code) in NUMERIC_CODE_CASES.items():
        resp = server.get(target)
        assert resp.status == status and error_of(resp)["errorCode"] == code, target
    assert error_of(server.get("/api/v2/packages", signed=False))["errorCode"] == "200"
    server.configure(faults=[{"status": 403}])
    assert error_of(server.get("/api/v2/packages"))["errorCode"] == 80002


def test_service_codes_are_strings_by_default_in_faults_too(emu):
    emu.configure(faults=[{"status": 403}])
    resp = emu.get("/api/v2/packages")
    assert resp.status == 403 and error_of(resp)["errorCode"] == "80002"
    emu.configure(faults=[{"status": 404, "error_code": 80322}])    # verbatim, as configured
    assert error_of(emu.get("/api/v2/packages"))["errorCode"] == 80322


IMF_FIXDATE_RE = re.compile(r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d "
                            r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} "
                            r"\d\d:\d\d:\d\d GMT")


@pytest.mark.parametrize("kind,status", [("status", 503), ("status", 429), ("html", 502)])
def test_fault_retry_after_seconds(emu, kind, status):
    emu.configure(faults=[{"kind": kind, "status": status, "retry_after": 3}])
    resp = emu.get("/api/v2/packages")
    assert resp.status == status and resp.headers.get_all("Retry-After") == ["3"]


@pytest.mark.parametrize("offset_s", [120, 0, -30])
def test_fault_retry_after_http_date(emu, offset_s):
    emu.configure(faults=[{"status": 503, "retry_after": f"date:{offset_s}"}])
    resp = emu.get("/api/v2/packages")
    value = resp.headers["Retry-After"]
    assert IMF_FIXDATE_RE.fullmatch(value), value
    assert abs(parsedate_to_datetime(value).timestamp() - (time.time() + offset_s)) < 3
    assert value.endswith(" GMT") and resp.status == 503


def test_fault_retry_after_raw_text(emu):
    emu.configure(faults=[{"status": 429, "retry_after": "raw:soon, maybe"}])
    assert emu.get("/api/v2/packages").headers["Retry-After"] == "soon, maybe"
    assert emu.admin("GET", "config")[1]["faults"][0]["retry_after"] == "raw:soon, maybe"


@pytest.mark.parametrize("fault", [{"status": 503, "retry_after": -1},
                                   {"status": 503, "retry_after": 1.5},
                                   {"status": 503, "retry_after": True},
                                   {"status": 503, "retry_after": "date:soon"},
                                   {"status": 503, "retry_after": "5"},
                                   {"status": 503, "retry_after": "raw:a\r\nX-Evil: 1"},
                                   {"kind": "reset", "retry_after": 1},
                                   {"kind": "hang", "retry_after": "date:5"}])
def test_fault_retry_after_bad_values_are_refused(emu, fault):
    status, body = emu.admin("POST", "config", {"faults": [fault]})
    assert status == 400 and body["error"]["errorCode"] == "100"
    assert emu.admin("GET", "config")[1]["faults"] == []


def test_allbad_package_lists_only_invalid_names(emu):
    listing = emu.content("/api/v2/packages/allbad/actions")["actions"]
    assert [a["name"] for a in listing] == ["..", "a/b", "bad name", "-x"]
    assert emu.content("/api/v2/packages/allbad")["actions"] == ["..", "a/b", "bad name", "-x"]
    for encoded in ("%2E%2E", "a%2Fb", "bad%20name", "-x"):
        resp = emu.get(f"/api/v2/packages/allbad/actions/{encoded}")
        assert resp.status == 404 and error_of(resp)["errorCode"] == "300"


def bench_starts(server):
    """{id: start} of every bench/load activation, from the admin API."""
    return {aid: server.admin("GET", f"record/bench/load/{aid}")[1]["start"]
            for aid in server.admin("GET", "ids/bench/load")[1]["ids"]}


def test_spread_days_spreads_the_bench_series_evenly(fresh):
    server = fresh("--bench-activations", "200", "--spread-days", "10")
    starts = bench_starts(server)
    ordered = sorted(starts.values())
    now = now_ms()
    assert len(ordered) == 200 and ordered[-1] < now
    assert abs(ordered[0] - (now - 10 * 86_400_000)) < 60_000
    step = 10 * 86_400_000 // 200
    assert all(abs(b - a - step) < 1000 for a, b in zip(ordered, ordered[1:]))
    assert server.content("/api/v2/packages/bench/actions/load/activations")["totalCount"] == 200
    # The demo data does not move: still within the last day.
    hello = server.admin("GET", f"record/demo/hello/{md5_id('demo/hello/0')}")[1]["start"]
    assert now - 86_400_000 - 5000 < hello < now - 20 * 3_600_000


@pytest.mark.parametrize("hours", [0, 9])
def test_spread_days_listing_one_day_returns_that_days_activations(fresh, hours):
    server = fresh("--bench-activations", "300", "--spread-days", "5")
    starts = bench_starts(server)
    zone = timezone(timedelta(hours=hours))
    day = (datetime.now(zone) - timedelta(days=2)).replace(hour=0, minute=0, second=0,
                                                           microsecond=0)
    lo = int(day.timestamp() * 1000)
    hi = lo + 86_400_000 - 1
    expected = sorted((aid for aid, start in starts.items() if lo <= start <= hi),
                      key=starts.get, reverse=True)
    assert 50 <= len(expected) <= 70        # 300 over 5 days: 60 a day
    listing = "packages/bench/actions/load/activations?pageSize=1000"
    if hours == 0:      # v2.1: epoch ms, the day's bounds exactly
        content = server.content(f"/ncf/api/v2/{listing}&platform=classic&start={lo}&end={hi}")
    else:               # v2.0: Korean wall clock, 00:00:00 .. 23:59:59
        content = server.content(f"/api/v2/{listing}&start={day:%Y-%m-%dT00:00:00}"
                                 f"&end={day:%Y-%m-%dT23:59:59}")
    assert ids_of(content) == expected and content["totalCount"] == len(expected)


@pytest.mark.parametrize("flags", [["--spread-days", "5"],
                                   ["--bench-activations", "10", "--spread-days", "31"],
                                   ["--bench-activations", "10", "--spread-days", "0"]])
def test_spread_days_bad_use_exits_2(flags):
    proc = subprocess.run([PYTHON, SCRIPT, "--port", "0", *flags], capture_output=True,
                          text=True, timeout=20)
    assert proc.returncode == 2 and "spread-days" in proc.stderr


# ------------------------------------------------------------------ process behaviour

@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signals_exit_zero(fresh, sig):
    server = fresh()
    assert server.get("/api/v2/packages").status == 200
    assert server.stop(sig) == 0


def test_shutdown_is_prompt_during_a_hang(fresh):
    server = fresh()
    server.configure(faults=[{"kind": "hang"}])
    sock = socket.create_connection(("127.0.0.1", server.port))
    sock.sendall(b"GET /api/v2/packages HTTP/1.1\r\nHost: x\r\n\r\n")
    time.sleep(0.3)
    began = time.monotonic()
    assert server.stop() == 0 and time.monotonic() - began < 5
    sock.close()


def test_listening_line_and_port_file(emu):
    assert emu.listening_line == f"listening 127.0.0.1:{emu.port}"
    with open(emu.port_file) as f:
        assert f.read() == f"{emu.port}\n"
    assert not [n for n in os.listdir(emu.tmp_dir) if ".tmp." in n]


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.1", "example.com", "::"])
def test_refuses_non_loopback_host(host):
    proc = subprocess.run([PYTHON, SCRIPT, "--host", host, "--port", "0"], capture_output=True,
                          text=True, timeout=20)
    assert proc.returncode == 2 and "listening" not in proc.stdout
    assert "loopback" in proc.stderr


def test_sign_helper_prints_usable_headers(emu):
    out = subprocess.run([PYTHON, SCRIPT, "--sign", "GET", "/api/v2/packages"], capture_output=True,
                         text=True, check=True).stdout
    headers = dict(line.split(": ", 1) for line in out.strip().splitlines())
    assert emu.request("/api/v2/packages", signed=False, headers=headers).status == 200


HOSTILE_RAW_REQUESTS = [
    b"\x00\x01\x02garbage\r\n\r\n",
    b"GET\r\n\r\n",
    b"GET /api/v2/packages HTTP/9.9\r\n\r\n",
    b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n",
    b"GET /api/v2/packages HTTP/1.1\r\n" + b"X: y\r\n" * 200 + b"\r\n",
    b"GET /api/v2/packages HTTP/1.1\r\nContent-Length: banana\r\n\r\n",
    b"GET /api/v2/packages HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n",
    b"GET /api/v2/packages HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    b"GET /api/v2/packages/\xff\xfe HTTP/1.1\r\n\r\n",
    b"GET /_emulator/record/%ff/%00/x HTTP/1.1\r\n\r\n",
    b"POST /_emulator/config HTTP/1.1\r\nContent-Length: 5\r\n\r\n[1,2]",
    b"POST /_emulator/config HTTP/1.1\r\nContent-Length: 4\r\n\r\n\xff\xfe\x00{",
    b"GET /api/v2/packages?" + b"a=1&" * 100 + b" HTTP/1.1\r\n\r\n",
    b"GET //api/v2/packages HTTP/1.1\r\n\r\n",
]


@pytest.mark.parametrize("raw", HOSTILE_RAW_REQUESTS, ids=lambda raw: raw[:24].decode("latin-1"))
def test_survives_hostile_requests(emu, raw):
    received, timed_out = raw_exchange(emu.port, raw, 5)
    assert not timed_out
    if received:
        assert received.startswith(b"HTTP/1.") or received.startswith(b"{")
        head, _, body = received.partition(b"\r\n\r\n")
        if head.startswith(b"HTTP/1.1 ") and body:
            assert "error" in json.loads(body)
    assert emu.proc.poll() is None
    assert emu.get("/api/v2/packages").status == 200
    with open(os.path.join(emu.tmp_dir, "stderr")) as f:
        assert "Traceback" not in f.read()


# ------------------------------------------------------------------ HTTPS and clock offset

def make_self_signed(directory):
    """A self-signed certificate for 127.0.0.1 and localhost -> (cert path, key path)."""
    cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-keyout", key, "-out", cert, "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True, timeout=60)
    return cert, key


def tls_get(port, target, cafile, host="127.0.0.1", ts=None):
    """A signed GET over HTTPS that trusts only cafile; -> Response."""
    import ssl
    context = ssl.create_default_context(cafile=cafile)
    conn = http.client.HTTPSConnection(host, port, timeout=10, context=context)
    ts = str(now_ms()) if ts is None else str(ts)
    try:
        conn.request("GET", target, headers={
            "x-ncp-apigw-timestamp": ts, "x-ncp-iam-access-key": AK,
            "x-ncp-apigw-signature-v2": signature(SK, "GET", target, ts, AK)})
        resp = conn.getresponse()
        return Response(resp.status, resp.headers, resp.read())
    finally:
        conn.close()


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory):
    return make_self_signed(str(tmp_path_factory.mktemp("tls")))


def test_tls_serves_the_same_api(fresh, tls_files):
    cert, key = tls_files
    server = fresh("--tls-cert", cert, "--tls-key", key)
    assert server.listening_line == f"listening 127.0.0.1:{server.port}"
    for host in ("127.0.0.1", "localhost"):
        resp = tls_get(server.port, "/api/v2/packages", cert, host=host)
        assert resp.status == 200 and resp.json()["content"][0]["name"] == "demo"
    # Everything, admin API included, is behind TLS: plain HTTP gets no HTTP answer.
    with pytest.raises((http.client.HTTPException, ConnectionError, OSError)):
        server.get("/api/v2/packages", timeout=3)


def test_tls_handshake_refused_by_client_leaves_server_serving(fresh, tls_files):
    import ssl
    cert, key = tls_files
    server = fresh("--tls-cert", cert, "--tls-key", key)
    with pytest.raises(ssl.SSLError):
        tls_get(server.port, "/api/v2/packages", cafile=None)   # system CAs: untrusted
    silent = socket.create_connection(("127.0.0.1", server.port))   # never says hello
    try:
        assert tls_get(server.port, "/api/v2/packages", cert).status == 200
    finally:
        silent.close()
    assert server.stop() == 0
    with open(os.path.join(server.tmp_dir, "stderr")) as f:
        assert "Traceback" not in f.read()


@pytest.mark.parametrize("flags", [["--tls-cert", "CERT"], ["--tls-key", "KEY"],
                                   ["--tls-cert", "/nonexistent.pem", "--tls-key", "KEY"],
                                   ["--tls-cert", "KEY", "--tls-key", "CERT"]],
                         ids=["cert-only", "key-only", "missing-file", "swapped"])
def test_tls_bad_flags_exit_2(tls_files, flags):
    cert, key = tls_files
    argv = [PYTHON, SCRIPT, "--port", "0"] + [{"CERT": cert, "KEY": key}.get(f, f) for f in flags]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=20)
    assert proc.returncode == 2 and "listening" not in proc.stdout, proc
    assert "tls" in proc.stderr.lower()


def test_clock_offset_shifts_date_and_the_signature_window(fresh):
    server = fresh("--clock-offset-s", "600")
    resp = server.get("/api/v2/packages")      # signed on the real clock: 10 min behind
    assert resp.status == 401 and "timestamp" in error_of(resp)["details"].lower()
    date = parsedate_to_datetime(resp.headers["Date"]).timestamp()
    assert abs(date - (time.time() + 600)) < 5
    assert server.get("/api/v2/packages", ts=now_ms() + 600_000).status == 200
    entry = server.admin("GET", "requests")[1][-1]
    assert abs(entry["ts"] - (now_ms() + 600_000)) < 5000
    # The data moves with the emulator's clock: it starts one day before the emulator's now.
    oldest = server.admin("GET", "ids/demo/hello")[1]["ids"][-1]
    record = server.admin("GET", f"record/demo/hello/{oldest}")[1]
    assert abs(record["start"] - (now_ms() + 600_000 - 86400_000)) < 30_000


def test_clock_offset_sign_helper_follows_the_offset(fresh):
    server = fresh("--clock-offset-s", "-900")
    out = subprocess.run([PYTHON, SCRIPT, "--clock-offset-s", "-900", "--sign", "GET",
                          "/api/v2/packages"], capture_output=True, text=True, check=True).stdout
    headers = dict(line.split(": ", 1) for line in out.strip().splitlines())
    assert server.request("/api/v2/packages", signed=False, headers=headers).status == 200


@pytest.mark.parametrize("value", ["abc", str(10 * 365 * 24 * 3600 + 1)])
def test_clock_offset_bad_value_exits_2(value):
    proc = subprocess.run([PYTHON, SCRIPT, "--port", "0", "--clock-offset-s", value],
                          capture_output=True, text=True, timeout=20)
    assert proc.returncode == 2 and "clock-offset" in proc.stderr


# ------------------------------------------------------------------ rate limit (--rate)

def emulator_module():
    spec = importlib.util.spec_from_file_location("ncf_emulator", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_token_bucket_refills_at_its_rate_up_to_its_burst():
    now = [100.0]
    bucket = emulator_module().TokenBucket(10, 3, clock=lambda: now[0])
    assert [bucket.take() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take() == pytest.approx(0.1)         # one token every 1/10 s
    now[0] += 0.25                                     # 2.5 tokens back
    assert [bucket.take() == 0.0 for _ in range(3)] == [True, True, False]
    now[0] += 60                                       # a long pause keeps the burst only
    assert sum(bucket.take() == 0.0 for _ in range(10)) == 3


def burst_of(server, count):
    """count requests sent at once; -> their responses."""
    results = [None] * count

    def one(i):
        results[i] = server.get("/api/v2/packages")
    threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@pytest.mark.parametrize("code", ["400", "410", "420"])
def test_rate_answers_429_with_the_gateway_code_beyond_the_bucket(fresh, code):
    server = fresh("--rate", "1", "--rate-burst", "3", "--rate-code", code)
    statuses = [r.status for r in burst_of(server, 8)]
    assert statuses.count(200) >= 3 and statuses.count(429) >= 3
    throttled = [r for r in burst_of(server, 6) if r.status == 429]
    assert throttled, "a drained bucket must refuse"
    for resp in throttled:
        assert error_of(resp)["errorCode"] == code
        assert "Retry-After" not in resp.headers          # not promised: off by default
    log = server.admin("GET", "requests")[1]
    assert sum(e["status"] == 429 for e in log) == sum(
        s == 429 for s in statuses) + len(throttled)
    assert all(e.get("fault") == "rate" for e in log if e["status"] == 429)


@pytest.mark.parametrize("style", ["seconds", "date"])
def test_rate_retry_after_in_seconds_or_as_a_date(fresh, style):
    server = fresh("--rate", "1", "--rate-burst", "1", "--rate-retry-after", style)
    throttled = [r for r in burst_of(server, 4) if r.status == 429]
    assert throttled
    value = throttled[0].headers["Retry-After"]
    if style == "seconds":
        assert value.isdigit() and 1 <= int(value) <= 2
    else:
        when = parsedate_to_datetime(value)
        assert 0 <= (when - datetime.now(timezone.utc)).total_seconds() <= 3


def test_rate_refills_and_no_rate_means_no_429(fresh):
    server = fresh("--rate", "20", "--rate-burst", "2")
    burst_of(server, 6)                                # drain it
    deadline = time.monotonic() + 5
    while server.get("/api/v2/packages").status != 200:   # refilled within ~50 ms
        assert time.monotonic() < deadline
    unlimited = fresh()
    assert [r.status for r in burst_of(unlimited, 30)] == [200] * 30


def test_load_latency_grows_with_requests_being_answered(fresh):
    server = fresh("--latency-ms", "50", "--load-latency-ms", "100")
    began = time.monotonic()
    assert server.get("/api/v2/packages").status == 200
    alone = time.monotonic() - began
    began = time.monotonic()
    assert [r.status for r in burst_of(server, 6)] == [200] * 6
    loaded = time.monotonic() - began
    assert alone < 0.5 and loaded >= 0.2 and loaded > alone + 0.1
