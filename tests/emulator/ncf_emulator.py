#!/usr/bin/python3
"""ncf_emulator.py - an emulator of the NAVER Cloud Platform Cloud Functions *read* API.

Scope: the GET endpoints ncffs reads (packages, actions, activations, triggers) under both API
generations (/api/v2 = v2.0, platform "classic" by default; /ncf/api/v2 = v2.1, "vpc"), API
Gateway signature-v2 authentication, deterministic data sets, a request log, injected latency
and faults, and a small unauthenticated admin API under /_emulator/ that tests use to inspect
and steer the emulator.

The emulator is the documentation. Without flags it answers as the project's API reference
(ncf-api.md) says, and nothing more:
  - package, action and trigger lists take only `platform`: the whole list in one answer,
    pageNo/pageSize ignored, no totalCount;
  - activation lists (per action, per trigger, namespace-wide) page with pageNo (1-based) and
    pageSize (default 20, no maximum) and carry totalCount;
  - start/end filter activation lists and default to the last month (31 days back .. now):
    epoch ms on v2.1, yyyy-MM-ddTHH:mm:ss in region time on v2.0 (Korea, UTC+9, by default);
  - bad parameters (pageNo, pageSize, start, end, platform) answer 400 with service code 80000;
  - errorCode is a string (the reference allows string or number);
  - activation records carry no annotations; trigger records have end 0;
  - a missing activation is 404 80322, a missing trigger activation 404 80518;
  - no Retry-After header unless a fault asks for one.
What the reference leaves open is an "emulator choice", marked so below and in README.md
(e.g. newest-first list order as in OpenWhisk, clamping a start older than a month, the
trigger-not-found code). Everything beyond the reference is a named flag (BEHAVIOUR_FLAGS):
paged lists, a page cap, a page-size limit, oldest-first order, annotations, repeated items,
an ignored pageNo, a lying totalCount, numeric service codes, the region, spread bench data.

HTTPS is optional (--tls-cert/--tls-key wrap the listening socket; everything above it is the
same), and --clock-offset-s shifts the emulator's clock (auth window, Date header, data times) to
imitate a server whose clock differs from the client's.

Left out on purpose: every write endpoint (create, update, delete, invoke), web-action and
sequence semantics, chunked request bodies, client certificates, the VPC-only rule of the
Singapore and Japan regions (--region only picks the v2.0 time zone), and listening anywhere
but loopback. This is a test fixture, not a service.

Python 3 standard library only; runs under Debian 12's /usr/bin/python3 (3.11).
"""

import argparse
import base64
import bisect
import collections
import hashlib
import hmac
import ipaddress
import itertools
import json
import math
import os
import random
import re
import signal
import socket
import socketserver
import ssl
import struct
import sys
import threading
import time
import traceback
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import NamedTuple, Optional
from urllib.parse import parse_qsl, unquote

# --------------------------------------------------------------------------------------------
# Named limits and constants, kept together.

DEFAULT_ACCESS_KEY = "emulator-access-key"
DEFAULT_SECRET_KEY = "emulator-secret-key"
NAMESPACE = "ncfemu01"
PLATFORMS = ("classic", "vpc")
ADMIN_PREFIX = "/_emulator"
JSON_TYPE = "application/json;charset=UTF-8"
HTML_TYPE = "text/html;charset=UTF-8"

TIMESTAMP_WINDOW_MS = 5 * 60 * 1000      # the gateway rejects clocks more than 5 min apart
DEFAULT_PAGE_SIZE = 20                   # documented; no maximum is documented
DAY_MS = 24 * 3600 * 1000
WINDOW_MS = 31 * DAY_MS                  # "only the last month is queryable": 31 days back
MAX_PAGE_SIZE_FLAG = 1_000_000
MAX_REPEAT_ITEMS = 100
MAX_SPREAD_DAYS = 30                     # the oldest spread start stays in the window for a day
MAX_VISIBLE_AFTER_S = 3600
MAX_RETRY_AFTER_S = 10 ** 6
MAX_RAW_RETRY_AFTER = 200
MAX_REQUEST_BODY = 1 << 20               # admin bodies are small JSON; anything bigger is a bug
MAX_QUERY_FIELDS = 64
MAX_LOGGED_REQUESTS = 100_000            # in-memory log is a ring: a long bench must not grow
MAX_BENCH_ACTIVATIONS = 1_000_000
MAX_HUGE_MB = 4096
MAX_FAULT_SECONDS = 3600
DEFAULT_FAULT_SECONDS = 60.0
STREAM_CHUNK = 64 * 1024
IDLE_CONNECTION_TIMEOUT_S = 300          # idle keep-alive connections are dropped after this
LISTEN_BACKLOG = 128                     # benchmarks open many connections at once
TLS_HANDSHAKE_TIMEOUT_S = 10             # a client that connects and never says hello
MAX_CLOCK_OFFSET_S = 10 * 365 * 24 * 3600

ACTIVATION_STEP_MS = 61_000              # generated activations are ~1 min apart ...
MAX_SERIES_SPAN_MS = 20 * 3600 * 1000    # ... unless that would push them past "now"
BASE_AGE_S = 24 * 3600                   # data starts one day before the emulator started

STATUSES = ("success", "application error", "action developer error", "whisk internal error")
KST = timezone(timedelta(hours=9))
# v2.0 start/end are wall-clock times of the region (--region): the API page's table.
REGION_TIME_ZONES = {"kr": KST, "sg": timezone(timedelta(hours=8)), "jp": KST}
LOCAL_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S"
LOCAL_TIME_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}")
NAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,49}")
DIGITS_RE = re.compile(r"[0-9]+")

# HTTP status -> (gateway errorCode, message), from the API page's error table. Gateway codes
# are strings; service codes (80xxx) are ints here and go out as strings unless
# --numeric-service-codes (the page says errorCode "may be a string or a number").
GATEWAY_ERRORS = {
    400: ("100", "Bad Request Exception"),
    401: ("200", "Authentication Failed"),
    403: (80002, "PERMISSION_DENIED"),
    404: ("300", "Not Found Exception"),
    405: ("100", "Method Not Allowed"),      # emulator choice: not in the API page
    413: ("430", "Request Entity Too Large"),
    429: ("420", "Rate Limited"),
    500: ("900", "Unexpected Error"),
    503: ("500", "Endpoint Error"),
    504: ("510", "Endpoint Timeout"),
}


# --------------------------------------------------------------------------------------------
# Signing (pure; the tests and --sign use it too).

def string_to_sign(method, target, timestamp, access_key):
    """The three lines the API Gateway signs, joined by \\n, no trailing newline."""
    return f"{method} {target}\n{timestamp}\n{access_key}"


def sign(secret, method, target, timestamp, access_key):
    """Base64(HMAC-SHA256(secret, string to sign)), standard alphabet with padding.

    The message is encoded as ISO-8859-1 because http.server decodes the request line and
    headers that way: encoding back recovers the exact wire bytes the client signed.
    """
    message = string_to_sign(method, target, timestamp, access_key).encode("latin-1")
    mac = hmac.new(secret.encode("utf-8"), message, hashlib.sha256).digest()
    return base64.b64encode(mac).decode("ascii")


# --------------------------------------------------------------------------------------------
# Errors.

def error_body(code, message, details):
    return {"error": {"errorCode": code, "message": message, "details": details}}


def wire_code(code, numeric):
    """A service code (an int here) as sent: a JSON string by default, a number with
    --numeric-service-codes. Gateway codes are strings either way."""
    return str(code) if isinstance(code, int) and not numeric else code


class ApiError(Exception):
    """An error answer: HTTP status plus the gateway/service error body."""

    def __init__(self, status, code, message, details, headers=()):
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details
        self.headers = tuple(headers)

    def body(self, numeric=False):
        return error_body(wire_code(self.code, numeric), self.message, self.details)


def bad_request(details):
    """The gateway's 400: requests it cannot read (bodies, query syntax, admin input)."""
    return ApiError(400, "100", "Bad Request Exception", details)


def invalid_parameter(details):
    """The service's 400 for a bad parameter value: code 80000 as documented (the message
    text is an emulator choice)."""
    return ApiError(400, 80000, "INVALID_PARAMETER", details)


def gateway_not_found(details="No such resource path."):
    return ApiError(404, "300", "Not Found Exception", details)


def auth_failed(details="Invalid authentication information."):
    return ApiError(401, "200", "Authentication Failed", details)


def method_not_allowed(allowed):
    return ApiError(405, "100", "Method Not Allowed", f"Use {allowed}.",
                    headers=[("Allow", allowed)])


# --------------------------------------------------------------------------------------------
# Small pure helpers.

# Seconds added to the real clock wherever the emulator reads the time (--clock-offset-s):
# the signature window, the Date header, request-log times and generated data. Set once in
# main() before any thread starts, read-only afterwards.
CLOCK_OFFSET_S = 0


def now_s():
    return time.time() + CLOCK_OFFSET_S


def now_ms():
    return int(now_s() * 1000)


def is_valid_name(text):
    return NAME_RE.fullmatch(text) is not None


def activation_id(series_key, index):
    """32 lowercase hex: md5("pkg/action/index") for actions, md5("@trigger/t/index") for
    triggers ('@' cannot appear in a name, so the two spaces never collide)."""
    return hashlib.md5(f"{series_key}/{index}".encode("utf-8")).hexdigest()


def iso_ms(ms):
    """Epoch ms -> '2024-04-26T05:57:00.170Z', as OpenWhisk prefixes log lines."""
    seconds, millis = divmod(ms, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


def json_bytes(obj):
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def raw_target(requestline):
    """The request target exactly as received. self.path is not it: http.server collapses a
    leading '//' there, and signatures are over the raw bytes."""
    words = requestline.split()
    return words[1] if len(words) >= 2 else ""


def decode_segments(path):
    """'/a/b%2Fc' -> ['a', 'b/c']: percent-decoded exactly once, never failing."""
    return [unquote(s, errors="replace") for s in path.split("/")[1:]]


def series_step(count):
    """Spacing between generated activations: 61 s, tighter for big series so the newest
    stays in the past."""
    if count * ACTIVATION_STEP_MS <= MAX_SERIES_SPAN_MS:
        return ACTIVATION_STEP_MS
    return max(1, MAX_SERIES_SPAN_MS // count)


def record_noise(key, index):
    """Deterministic per-record bytes for start jitter, durations, log shapes and so on."""
    return hashlib.sha256(f"{key}/{index}".encode("utf-8")).digest()


def plan_starts(key, count, options, now0_ms):
    """Start times (epoch ms), oldest first, strictly increasing, all before now0_ms (the
    emulator's start, whole seconds). Anchors come from explicit ages (options "ages_s"), an
    even spread over the last options "span_ms" (--spread-days), or by default ~1 min apart
    from one day back; each start adds a 0-999 ms jitter smaller than half a step."""
    if "ages_s" in options:
        anchors, jitter = [now0_ms - age * 1000 for age in options["ages_s"]], 1000
    else:
        span = options.get("span_ms")
        step = max(1, span // max(1, count)) if span else series_step(count)
        base = now0_ms - (span or BASE_AGE_S * 1000)
        anchors, jitter = [base + i * step for i in range(count)], max(1, min(1000, step // 2))
    return [at + int.from_bytes(record_noise(key, i)[2:4], "big") % jitter
            for i, at in enumerate(anchors)]


class Window(NamedTuple):
    """The start/end filter of an activation list, in epoch ms, both bounds inclusive."""
    lo: int
    hi: Optional[int]       # None: no upper bound (nothing starts after now anyway)
    explicit: bool          # the request named start or end


def listed_view(starts, unlisted, window, newest_first):
    """ordered_view of starts less the indexes in unlisted; position(k) is an index of
    starts."""
    if not unlisted:
        return ordered_view(starts, window, newest_first)
    kept = [i for i in range(len(starts)) if i not in unlisted]
    count, position = ordered_view([starts[i] for i in kept], window, newest_first)
    return count, lambda k: kept[position(k)]


def ordered_view(starts, window, newest_first):
    """(count, position(k)) over the sorted starts inside window: position(k) is the index
    of the k-th item of the list in the order the list is served."""
    first = bisect.bisect_left(starts, window.lo)
    stop = len(starts) if window.hi is None else bisect.bisect_right(starts, window.hi)
    count = max(0, stop - first)
    if newest_first:
        return count, lambda k: stop - 1 - k
    return count, lambda k: first + k


# --------------------------------------------------------------------------------------------
# Activation series: records are generated on demand from (key, index), so a bench series of
# a million activations costs a few lists, not gigabytes of logs.

ERROR_RESULTS = {
    "application error": "invalid input in request #{index}",
    "action developer error":
        "The action did not produce a valid response and exited unexpectedly.",
    "whisk internal error": "An internal error occurred while invoking the action.",
}

# index % mod == rem -> status; most records succeed.
STATUS_RULES = ((10, 7, "application error"), (23, 11, "action developer error"),
                (37, 19, "whisk internal error"))

ACTION_LIMITS = {"memory": 256, "timeout": 60000}
ANNOTATION_LIMITS = {"concurrency": 1, "logs": 10, "memory": 256, "timeout": 60000}


def default_status(index):
    for mod, rem, status in STATUS_RULES:
        if index % mod == rem:
            return status
    return "success"


class Series:
    """The activations of one action or trigger, oldest first (starts strictly increase)."""

    def __init__(self, key, record_name, path, kind, count, now0_ms, options, trigger=False):
        self.key = key                  # id derivation key, see activation_id()
        self.record_name = record_name  # the record's "name"
        self.path = path                # the "path" annotation
        self.kind = kind
        self.trigger = trigger
        self.log_lines = options.get("log_lines")
        self.statuses = options.get("statuses")     # explicit {index: status}, else STATUS_RULES
        self.overrides = {i: dict(v) for i, v in options.get("overrides", {}).items()}
        self.extra_entries = [dict(e) for e in options.get("extra_entries", ())]
        self.visible_at = {}            # index -> epoch ms before which the record is a 404
        self.listed_at = {}             # index -> epoch ms before which no list shows it
        self.starts, self.ids, self.index_of = [], [], {}
        for i, start in enumerate(plan_starts(key, count, options, now0_ms)):
            self._append(i, start)

    def __len__(self):
        return len(self.starts)

    def _append(self, index, start):
        aid = activation_id(self.key, index)
        self.starts.append(start)
        self.ids.append(aid)
        self.index_of[aid] = index

    def noise(self, index):
        return record_noise(self.key, index)

    def duration(self, index):
        if self.trigger:
            return 0
        override = self.overrides.get(index, {})
        if "duration" in override:
            return override["duration"]     # may be a string, as the API page warns
        return 1 + int.from_bytes(self.noise(index)[4:6], "big") % 5000

    def status(self, index):
        override = self.overrides.get(index, {})
        if "status" in override:
            return override["status"]
        if self.statuses is not None:
            return self.statuses.get(index, "success")
        return default_status(index)

    def summary(self, index):
        return {"activationId": self.ids[index], "duration": self.duration(index),
                "status": "success" if self.trigger else self.status(index)}

    def record(self, index, annotations):
        if self.trigger:
            return trigger_record(self, index, annotations)
        return action_record(self, index, annotations)

    def is_visible(self, index, at_ms):
        return at_ms >= self.visible_at.get(index, 0)

    def unlisted(self, at_ms):
        """The indexes a list made at at_ms leaves out: runs its stale index has not taken in
        yet (only added activations with listed_after_s)."""
        return {i for i, at in self.listed_at.items() if at_ms < at}

    def view(self, window, newest_first, at_ms):
        """(total, item(k)) over the list as the API shows it at at_ms: hostile extra entries
        first (only when the request names no start/end), then the listed records inside
        window."""
        count, position = listed_view(self.starts, self.unlisted(at_ms), window, newest_first)
        extras = [] if window.explicit else self.extra_entries

        def item(k):
            if k < len(extras):
                return dict(extras[k])
            return self.summary(position(k - len(extras)))
        return len(extras) + count, item

    def add(self, at_ms, fields, visible_after_ms=0, listed_after_ms=0):
        """Append a newest activation (start strictly after every other one), listed
        listed_after_ms after its start, its record readable visible_after_ms after its
        start; returns its index."""
        index = len(self.starts)
        start = max(at_ms, self.starts[-1] + 1) if self.starts else at_ms
        self.overrides[index] = dict(fields)
        self._append(index, start)
        if visible_after_ms:
            self.visible_at[index] = start + visible_after_ms
        if listed_after_ms:
            self.listed_at[index] = start + listed_after_ms
        return index


def make_logs(series, index, start, duration, status, noise):
    """OpenWhisk-style lines: stdout mostly, some stderr, some records with ERROR lines, and
    a failing record always ends with an ERROR line."""
    count = series.log_lines if series.log_lines is not None else 1 + noise[9] % 4
    noisy = noise[11] % 3 == 0
    lines = []
    for j in range(count):
        at = iso_ms(start + (j * duration) // max(1, count))
        if noisy and (noise[12] + j) % 7 == 0:
            lines.append(f"{at} stderr: ERROR upstream call failed, retrying (line {j})")
        elif (noise[10] + j) % 4 == 3:
            lines.append(f"{at} stderr: warning: slow path taken in #{index} line {j}")
        else:
            lines.append(f"{at} stdout: hello from action {series.record_name} #{index} line {j}")
    if status != "success" and lines:
        lines[-1] = f"{iso_ms(start + duration)} stderr: ERROR {status} in #{index}"
    return lines


def make_result(series, index, status, noise):
    if status == "success":
        return {"payload": f"hello #{index} from {series.record_name} ({noise[:3].hex()})",
                "n": index}
    return {"error": ERROR_RESULTS[status].format(index=index)}


def make_annotations(series, index, noise):
    notes = [{"key": "kind", "value": series.kind},
             {"key": "waitTime", "value": noise[6] % 50}]
    if index == 0 or noise[7] % 4 == 0:     # a cold start: only those carry initTime
        notes.append({"key": "initTime", "value": 20 + noise[8] % 300})
    notes.append({"key": "limits", "value": dict(ANNOTATION_LIMITS)})
    notes.append({"key": "path", "value": series.path})
    return notes


def action_record(series, index, annotations):
    noise = series.noise(index)
    start, duration, status = series.starts[index], series.duration(index), series.status(index)
    override = series.overrides.get(index, {})
    logs = override["logs"] if "logs" in override else \
        make_logs(series, index, start, int(duration), status, noise)
    result = override["result"] if "result" in override else \
        make_result(series, index, status, noise)
    record = {
        "activationId": series.ids[index], "name": series.record_name,
        "namespace": NAMESPACE, "subject": NAMESPACE,
        "start": start, "end": start + int(duration), "duration": duration,
        "logs": list(logs),
        "response": {"status": status, "success": status == "success", "result": result},
    }
    if annotations:     # --annotations: OpenWhisk has them, the NCP pages do not
        record["annotations"] = make_annotations(series, index, noise)
    return record


def trigger_record(series, index, annotations):
    """Trigger activations have end 0 (documented) and duration 0; their logs are the rule
    firings."""
    fired = {"statusCode": 0, "success": True,
             "activationId": activation_id(series.key + "/fired", index),
             "rule": f"{NAMESPACE}/{series.record_name}-rule",
             "action": f"{NAMESPACE}/{series.kind}"}     # a trigger's "kind" is its linked action
    record = {
        "activationId": series.ids[index], "name": series.record_name,
        "namespace": NAMESPACE, "subject": NAMESPACE,
        "start": series.starts[index], "end": 0, "duration": 0,
        "logs": [json.dumps(fired, separators=(",", ":"))],
        "response": {"status": "success", "success": True, "result": {"fired": index}},
    }
    if annotations:
        record["annotations"] = [{"key": "path", "value": series.path}]
    return record


# --------------------------------------------------------------------------------------------
# The data model: packages (with actions) and triggers, per platform.

SAMPLE_CODE = {
    "nodejs": "function main(params) {\n"
              "  return { payload: 'hello ' + (params.name || 'world') };\n}\n",
    "python": "def main(args):\n    return {'payload': 'hello ' + args.get('name', 'world')}\n",
}


def resource_id(*parts):
    return hashlib.md5("/".join(("resource",) + parts).encode("utf-8")).hexdigest()[:20]


class Action:
    def __init__(self, name, description, kind, action_type, series):
        self.name, self.description, self.kind, self.type = name, description, kind, action_type
        self.series = series

    def listing_entry(self):
        return {"name": self.name, "description": self.description, "type": self.type,
                "runtime": self.kind}

    def detail(self):
        code = SAMPLE_CODE[self.kind.split(":")[0]]
        return {"name": self.name, "description": self.description,
                "exec": {"kind": self.kind, "main": "main", "code": code, "binary": False},
                "limits": dict(ACTION_LIMITS), "parameters": {}, "type": self.type}


class Package:
    def __init__(self, name, description, platform):
        self.name, self.description, self.platform = name, description, platform
        self.actions = {}       # valid actions by name
        self.listing = []       # the actions listing as served, hostile names included

    def detail(self):
        return {"name": self.name, "description": self.description, "parameters": {},
                "platform": self.platform, "resourceId": resource_id(self.platform, self.name),
                "actions": [e["name"] for e in self.listing]}


class Trigger:
    def __init__(self, name, trigger_type, description, platform, series):
        self.name, self.type, self.description = name, trigger_type, description
        self.platform, self.series = platform, series

    def detail(self):
        return {"name": self.name, "description": self.description, "type": self.type,
                "parameters": {}, "platform": self.platform,
                "resourceId": resource_id(self.platform, "trigger", self.name)}


class Store:
    """Everything the API serves. Callers hold self.lock around reads and writes: the admin
    API appends activations while API threads read."""

    def __init__(self, now0_ms):
        self.lock = threading.RLock()
        self.now0_ms = now0_ms  # the emulator's start (whole seconds): data times hang off it
        self.packages = {}      # (platform, name) -> Package; "-" exists on every platform
        self.listings = {p: [] for p in PLATFORMS}   # package listing, hostile names included
        self.triggers = {}      # (platform, name) -> Trigger
        self.version = 0        # bumped by every added activation; keys the namespace cache
        self._namespace_cache = {}
        for platform in PLATFORMS:
            self.packages[(platform, "-")] = Package("-", "actions outside any package", platform)

    # -- building

    def add_package(self, platform, name, description):
        if (platform, name) not in self.packages:
            self.packages[(platform, name)] = Package(name, description, platform)
            self.listings[platform].append({"name": name, "description": description})
        return self.packages[(platform, name)]

    def add_listed_package_name(self, platform, name):
        """A name that appears only in the listing (a hostile one): fetching it is a 404."""
        self.listings[platform].append({"name": name, "description": "listed only"})

    def add_action(self, platform, pkg_name, spec):
        name, kind, action_type, count, options = spec
        package = self.packages[(platform, pkg_name)]
        key = f"{pkg_name}/{name}"
        record_name = name if pkg_name == "-" else key
        series = Series(key, record_name, f"{NAMESPACE}/{record_name}", kind, count,
                        self.now0_ms, options)
        action = Action(name, f"{name} ({kind})", kind, action_type, series)
        package.actions[name] = action
        package.listing.append(action.listing_entry())

    def add_listed_action_name(self, platform, pkg_name, name):
        self.packages[(platform, pkg_name)].listing.append(
            {"name": name, "description": "listed only", "type": "basic", "runtime": "nodejs:16"})

    def add_trigger(self, platform, spec):
        name, trigger_type, count, linked_action = spec
        series = Series(f"@trigger/{name}", name, f"{NAMESPACE}/{name}", linked_action, count,
                        self.now0_ms, {}, trigger=True)
        self.triggers[(platform, name)] = Trigger(name, trigger_type, f"{name} trigger",
                                                  platform, series)

    # -- lookups; each raises the API's own error when the thing is missing

    def find_package(self, platform, name):
        package = self.packages.get((platform, name))
        if package is not None:
            return package
        if any((other, name) in self.packages for other in PLATFORMS):
            raise ApiError(400, 80102, "PACKAGE_PLATFORM_MISMATCH",
                           f"Package '{name}' does not belong to platform '{platform}'.")
        raise ApiError(404, 80101, "PACKAGE_NOT_FOUND", f"Package '{name}' not found.")

    def find_action(self, platform, pkg_name, name):
        action = self.find_package(platform, pkg_name).actions.get(name)
        if action is None:
            raise ApiError(404, 80301, "ACTION_NOT_FOUND", f"Action '{name}' not found.")
        return action

    def find_trigger(self, platform, name):
        trigger = self.triggers.get((platform, name))
        if trigger is None:     # emulator choice: the API page names no trigger code
            raise ApiError(404, 80501, "TRIGGER_NOT_FOUND", f"Trigger '{name}' not found.")
        return trigger

    def find_action_anywhere(self, pkg_name, name):
        """For the admin API: the action on whichever platform has it, or None."""
        for platform in PLATFORMS:
            package = self.packages.get((platform, pkg_name))
            if package is not None and name in package.actions:
                return package.actions[name]
        return None

    def find_trigger_anywhere(self, name):
        for platform in PLATFORMS:
            if (platform, name) in self.triggers:
                return self.triggers[(platform, name)]
        return None

    # -- namespace-wide list

    def all_series(self, platform):
        for (plat, _), package in self.packages.items():
            if plat == platform:
                yield from (a.series for a in package.actions.values())
        for (plat, _), trigger in self.triggers.items():
            if plat == platform:
                yield trigger.series

    def namespace_entries(self, platform):
        """(starts, [(start, id, series, index)]) of every activation of the platform, oldest
        first (ties by id), cached until an activation is added."""
        cached = self._namespace_cache.get(platform)
        if cached is not None and cached[0] == self.version:
            return cached[1]
        entries = [(s.starts[i], s.ids[i], s, i)
                   for s in self.all_series(platform) for i in range(len(s))]
        entries.sort(key=lambda e: (e[0], e[1]))
        result = ([e[0] for e in entries], entries)
        self._namespace_cache[platform] = (self.version, result)
        return result


def listed_entries(store, platform, at_ms):
    """namespace_entries less the runs a list made at at_ms leaves out (listed_after_s)."""
    starts, entries = store.namespace_entries(platform)
    if not any(s.unlisted(at_ms) for s in store.all_series(platform)):
        return starts, entries
    entries = [e for e in entries if at_ms >= e[2].listed_at.get(e[3], 0)]
    return [e[0] for e in entries], entries


# --------------------------------------------------------------------------------------------
# Data sets, as tables. Action spec: (name, kind, type, count, options).

DEMO_PACKAGES = (
    ("classic", "demo", "Demo actions", (
        ("hello", "nodejs:16", "basic", 25, {}),
        ("resize-image", "python:3.11", "web", 8,
         {"statuses": {2: "application error", 5: "action developer error"}}),
    )),
    ("classic", "billing", "Billing jobs", (("invoice", "nodejs:16", "basic", 5, {}),)),
    ("classic", "-", None, (("standalone", "nodejs:16", "basic", 3, {}),)),
    ("vpc", "vpcpkg", "VPC package", (("ping", "nodejs:16", "basic", 4, {}),)),
)

# window/edges: ages (seconds before the emulator started), oldest first. Two are older than
# the 31-day window and never listed; three are inside it.
EDGE_AGES_S = (40 * 86400, 32 * 86400, 29 * 86400, 7 * 86400, 2 * 3600)

TEST_PACKAGES = (
    ("classic", "paging", "Paging tests", (("many", "nodejs:16", "basic", 250, {}),)),
    ("classic", "logs", "Log edge cases", (
        ("long", "nodejs:16", "basic", 1, {"log_lines": 3000}),
        ("empty", "python:3.11", "basic", 2,
         {"overrides": {0: {"logs": []}, 1: {"duration": "34"}}}),
    )),
    ("classic", "hostile", "Names a client must skip", (
        ("ok", "nodejs:16", "basic", 2,
         {"extra_entries": [{"activationId": "NOT-HEX", "duration": 5, "status": "success"}]}),
    )),
    ("classic", "window", "The one-month window", (
        ("edges", "nodejs:16", "basic", len(EDGE_AGES_S), {"ages_s": EDGE_AGES_S}),)),
)

# Listed around the valid "ok" action; never fetchable.
HOSTILE_ACTION_NAMES = ("..", ".", "a/b", "x" * 300, "bad name", "-leading", "ünï", "")
HOSTILE_PACKAGE_NAMES = ("../etc", "x y")
# A package whose every listed action name is invalid: a client lists it as empty.
ALLBAD_ACTION_NAMES = ("..", "a/b", "bad name", "-x")
# (name, type, activations, linked action)
TEST_TRIGGERS = (("tick", "cron", 3, "demo/hello"), ("on-upload", "basic", 2, "demo/resize-image"))


def load_packages(store, table):
    for platform, pkg_name, description, actions in table:
        if pkg_name != "-":
            store.add_package(platform, pkg_name, description)
        for spec in actions:
            store.add_action(platform, pkg_name, spec)


def load_hostile(store):
    listing = store.packages[("classic", "hostile")].listing
    ok_entry = listing.pop()    # put "ok" in the middle of the hostile names
    for name in HOSTILE_ACTION_NAMES[:4]:
        store.add_listed_action_name("classic", "hostile", name)
    listing.append(ok_entry)
    for name in HOSTILE_ACTION_NAMES[4:]:
        store.add_listed_action_name("classic", "hostile", name)
    store.listings["classic"].insert(1, {"name": HOSTILE_PACKAGE_NAMES[0],
                                         "description": "listed only"})
    store.add_listed_package_name("classic", HOSTILE_PACKAGE_NAMES[1])
    store.add_package("classic", "allbad", "Every action name invalid")
    for name in ALLBAD_ACTION_NAMES:
        store.add_listed_action_name("classic", "allbad", name)


def build_store(dataset, bench_activations, now0_ms, spread_days=0):
    """The data: demo (or test) tables, plus bench/load with bench_activations records ~1 min
    apart from one day back, or spread evenly over the last spread_days days."""
    store = Store(now0_ms)
    load_packages(store, DEMO_PACKAGES)
    if dataset == "test":
        load_packages(store, TEST_PACKAGES)
        load_hostile(store)
        for spec in TEST_TRIGGERS:
            store.add_trigger("classic", spec)
    if bench_activations > 0:
        options = {"log_lines": 20}
        if spread_days:
            options["span_ms"] = spread_days * DAY_MS
        load_packages(store, (("classic", "bench", "Benchmark load", (
            ("load", "nodejs:16", "basic", bench_activations, options),)),))
    return store


# --------------------------------------------------------------------------------------------
# API request handling: query parsing, paging, routes.

class Generation(NamedTuple):
    prefix: str
    default_platform: str
    epoch_ms_times: bool    # v2.1 takes start/end as epoch ms, v2.0 as region wall-clock


GENERATIONS = (Generation("/ncf/api/v2", "vpc", True), Generation("/api/v2", "classic", False))


class Behaviour(NamedTuple):
    """How the API answers. The defaults are the API page; every other value is a command-line
    flag that adds something the page does not say (see BEHAVIOUR_FLAGS)."""
    page_lists: bool = False                # --page-lists
    page_cap: Optional[int] = None          # --page-cap
    max_page_size: Optional[int] = None     # --max-page-size
    newest_first: bool = True               # --order (emulator choice: OpenWhisk's order)
    annotations: bool = False               # --annotations
    repeat_items: int = 1                   # --repeat-items
    ignore_page_no: bool = False            # --ignore-page-no
    total_count_lie: Optional[int] = None   # --total-count-lie
    numeric_service_codes: bool = False     # --numeric-service-codes
    local_tz: timezone = KST                # --region: the zone of v2.0 start/end


class ApiRequest(NamedTuple):
    generation: Generation
    platform: str
    params: dict
    behaviour: Behaviour
    now_ms: int             # read once per request: window and visibility agree


def split_api_path(path):
    """-> (generation, decoded segments after the base), or raise 404/300."""
    for generation in GENERATIONS:
        if path.startswith(generation.prefix + "/"):
            return generation, decode_segments(path[len(generation.prefix):])
    raise gateway_not_found()


def parse_query(query):
    """First value of each key; blank values kept so 'pageNo=' is an error, not a default."""
    try:
        pairs = parse_qsl(query, keep_blank_values=True, max_num_fields=MAX_QUERY_FIELDS,
                          errors="replace")
    except ValueError as err:
        raise bad_request(f"Malformed query string: {err}")
    params = {}
    for key, value in pairs:
        params.setdefault(key, value)
    return params


def positive_param(params, name, default):
    text = params.get(name)
    if text is None:
        return default
    if DIGITS_RE.fullmatch(text) is None:
        raise invalid_parameter(f"{name} must be a positive integer.")
    digits = text.lstrip("0") or "0"
    value = 10 ** 18 if len(digits) > 18 else int(digits)   # huge is "past the end", not an error
    if value < 1:
        raise invalid_parameter(f"{name} must be a positive integer.")
    return value


# -- paging: the documented default is no maximum; --max-page-size refuses, --page-cap shrinks.

def page_size_param(req):
    size = positive_param(req.params, "pageSize", DEFAULT_PAGE_SIZE)
    limit, cap = req.behaviour.max_page_size, req.behaviour.page_cap
    if limit is not None and size > limit:
        raise invalid_parameter(f"pageSize must be at most {limit}.")
    return size if cap is None else min(size, cap)


def page_range(total, req):
    """Positions of the requested page. pageNo is 1-based; a page past the end is empty.
    --ignore-page-no answers page 1 whatever pageNo says (and does not read it)."""
    size = page_size_param(req)
    number = 1 if req.behaviour.ignore_page_no else positive_param(req.params, "pageNo", 1)
    first = (number - 1) * size
    return range(min(total, first), min(total, first + size))


def repeated(items, req):
    """--repeat-items K: every item K times in a row (copies, never shared objects)."""
    return [dict(item) for item in items for _ in range(req.behaviour.repeat_items)]


def whole_list(entries, req):
    """Packages, actions, triggers. The docs give these lists only `platform`, so the whole
    list comes back and pageNo/pageSize are not even read; --page-lists pages them like
    activation lists (still without totalCount)."""
    if req.behaviour.page_lists:
        entries = [entries[k] for k in page_range(len(entries), req)]
    return repeated(entries, req)


def activation_list(total, item, req):
    """One page of an activation list: {activations, totalCount}."""
    items = [item(k) for k in page_range(total, req)]
    lie = req.behaviour.total_count_lie
    return {"activations": repeated(items, req), "totalCount": total if lie is None else lie}


# -- the one-month window

def time_param(req, name):
    """start/end: epoch ms on v2.1, 'yyyy-MM-ddTHH:mm:ss' region time on v2.0. A v2.0 end
    covers its whole second (emulator choice: the format cannot say more, and so a day
    queried as 00:00:00 .. 23:59:59 loses nothing)."""
    text = req.params.get(name)
    if text is None:
        return None
    if req.generation.epoch_ms_times:
        if DIGITS_RE.fullmatch(text) is None or len(text) > 15:
            raise invalid_parameter(f"{name} must be epoch milliseconds.")
        return int(text)
    try:
        if LOCAL_TIME_RE.fullmatch(text) is None:
            raise ValueError(text)
        local = datetime.strptime(text, LOCAL_TIME_FORMAT).replace(tzinfo=req.behaviour.local_tz)
    except ValueError:
        raise invalid_parameter(f"{name} must be yyyy-MM-ddTHH:mm:ss (region time).")
    ms = int(local.timestamp()) * 1000
    return ms + 999 if name == "end" else ms


def list_window(req):
    """start defaults to 31 days back; an older start is raised to it (emulator choice: the
    page says only the last month is queryable, not that an older start is refused). end
    defaults to now; nothing starts after now, so no upper bound is applied then."""
    start, end = time_param(req, "start"), time_param(req, "end")
    floor = req.now_ms - WINDOW_MS
    return Window(floor if start is None else max(start, floor), end,
                  start is not None or end is not None)


def activations_page(series, req):
    total, item = series.view(list_window(req), req.behaviour.newest_first, req.now_ms)
    return activation_list(total, item, req)


def missing_activation(series, activation):
    """Documented: 80322 for actions, 80518 for triggers (the latter a third-party report)."""
    if series.trigger:
        return ApiError(404, 80518, "TRIGGER_ACTIVATION_NOT_FOUND",
                        f"Activation '{activation}' not found.")
    return ApiError(404, 80322, "ACTION_ACTIVATION_NOT_FOUND",
                    f"Activation '{activation}' not found.")


def one_activation(series, activation, req):
    """The record, at any age (emulator choice: the window applies to lists only). An added
    activation with a visibility delay is listed at once but answers 404 until then."""
    index = series.index_of.get(activation)
    if index is None or not series.is_visible(index, req.now_ms):
        raise missing_activation(series, activation)
    return series.record(index, req.behaviour.annotations)


# Route handlers: (store, req, *path args) -> the value of "content".

def list_packages(store, req):
    return whole_list(store.listings[req.platform], req)


def get_package(store, req, pkg):
    return store.find_package(req.platform, pkg).detail()


def list_actions(store, req, pkg):
    return {"actions": whole_list(store.find_package(req.platform, pkg).listing, req)}


def get_action(store, req, pkg, name):
    return store.find_action(req.platform, pkg, name).detail()


def list_action_activations(store, req, pkg, name):
    return activations_page(store.find_action(req.platform, pkg, name).series, req)


def get_action_activation(store, req, pkg, name, activation):
    return one_activation(store.find_action(req.platform, pkg, name).series, activation, req)


def list_namespace_activations(store, req):
    starts, entries = listed_entries(store, req.platform, req.now_ms)
    total, position = ordered_view(starts, list_window(req), req.behaviour.newest_first)

    def item(k):
        _, _, series, index = entries[position(k)]
        return series.summary(index)
    return activation_list(total, item, req)


def list_triggers(store, req):
    entries = [{"name": t.name, "type": t.type}
               for (platform, _), t in store.triggers.items() if platform == req.platform]
    return {"triggers": whole_list(entries, req)}


def get_trigger(store, req, name):
    return store.find_trigger(req.platform, name).detail()


def list_trigger_activations(store, req, name):
    return activations_page(store.find_trigger(req.platform, name).series, req)


def get_trigger_activation(store, req, name, activation):
    return one_activation(store.find_trigger(req.platform, name).series, activation, req)


API_ROUTES = (
    (("packages",), list_packages),
    (("packages", "{pkg}"), get_package),
    (("packages", "{pkg}", "actions"), list_actions),
    (("packages", "{pkg}", "actions", "{name}"), get_action),
    (("packages", "{pkg}", "actions", "{name}", "activations"), list_action_activations),
    (("packages", "{pkg}", "actions", "{name}", "activations", "{name}"), get_action_activation),
    (("activations",), list_namespace_activations),
    (("triggers",), list_triggers),
    (("triggers", "{name}"), get_trigger),
    (("triggers", "{name}", "activations"), list_trigger_activations),
    (("triggers", "{name}", "activations", "{name}"), get_trigger_activation),
)


def segment_matches(pattern, segment):
    if pattern == "{pkg}":
        return segment == "-" or is_valid_name(segment)
    if pattern == "{name}":
        return is_valid_name(segment)
    return pattern == segment


def match_route(routes, segments):
    """-> (value, placeholder args) of the first matching route, or (None, None). An invalid
    name never matches, which makes it the gateway's 404/300 like any unknown path."""
    for pattern, value in routes:
        if len(pattern) == len(segments) and all(map(segment_matches, pattern, segments)):
            return value, [s for p, s in zip(pattern, segments) if p.startswith("{")]
    return None, None


def route_api(store, behaviour, path, query):
    generation, segments = split_api_path(path)
    handler, args = match_route(API_ROUTES, segments)
    if handler is None:
        raise gateway_not_found()
    params = parse_query(query)
    platform = params.get("platform", generation.default_platform)
    if platform not in PLATFORMS:
        raise invalid_parameter("platform must be 'classic' or 'vpc'.")
    req = ApiRequest(generation, platform, params, behaviour, now_ms())
    with store.lock:
        return handler(store, req, *args)


# --------------------------------------------------------------------------------------------
# The OpenWhisk personality: Apache OpenWhisk's read API under /api/v1, served alongside the
# NCP one from the same data (the classic platform's packages, actions, triggers and
# activations), as /work/shared/openwhisk-api.md describes it: HTTP basic auth with AUTH
# (uuid:key); lists paged with limit (0-200, default 30, 0 = 200, above 200 a 400) and skip;
# activation lists filtered by name (action or pkg/action) and since/upto (epoch ms on start,
# both inclusive), newest first by start, summary rows unless docs=true, {"activations": N}
# with count=true (a 400 together with docs); records with annotations (initTime only on cold
# starts), end left out when 0; /logs and /result; errors {"error": message, "code": tid}.
# The stale list index (a run missing from lists for a moment) only when a test asks for it
# (the admin API's listed_after_s, which applies to both personalities). Left out: entity
# writes, bindings, public packages.

OW_PREFIX = "/api/v1"
OW_DEFAULT_AUTH = "0f0e0d0c-0b0a-4009-8008-070605040302:ncfemuOpenWhiskKey0123456789abcdef"
OW_PLATFORM = "classic"
OW_DEFAULT_LIMIT = 30
OW_MAX_LIMIT = 200
OW_VERSION = "0.0.1"
OW_STATUS_CODES = {"success": 0, "application error": 1, "action developer error": 2,
                   "whisk internal error": 3}
OW_NOT_FOUND = "The requested resource does not exist."


class OwError(Exception):
    """An OpenWhisk error answer: {"error": message, "code": transaction id}."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status, self.message = status, message

    def body(self):
        return {"error": self.message, "code": os.urandom(16).hex()}


def ow_int_param(params, name, default, low, high):
    text = params.get(name)
    if text is None:
        return default
    if DIGITS_RE.fullmatch(text) is None or len(text) > 15 or not low <= int(text) <= high:
        raise OwError(400, f"The value '{text}' of parameter '{name}' is not in the range "
                           f"of {low} to {high}.")
    return int(text)


def ow_bool_param(params, name):
    text = params.get(name, "false")
    if text not in ("true", "false"):
        raise OwError(400, f"The parameter '{name}' must be true or false.")
    return text == "true"


def ow_page(entries, params):
    """limit 0-200 (0 = 200, default 30) and skip >= 0 over a list."""
    limit = ow_int_param(params, "limit", OW_DEFAULT_LIMIT, 0, OW_MAX_LIMIT) or OW_MAX_LIMIT
    skip = ow_int_param(params, "skip", 0, 0, 10 ** 15)
    return entries[skip:skip + limit]


def ow_entity(name, namespace, annotations=()):
    return {"name": name, "namespace": namespace, "version": OW_VERSION, "publish": False,
            "annotations": list(annotations)}


def ow_namespace_of(pkg):
    return NAMESPACE if pkg == "-" else f"{NAMESPACE}/{pkg}"


def ow_list_packages(store, params):
    return ow_page([dict(ow_entity(e["name"], NAMESPACE), binding=False)
                    for e in store.listings[OW_PLATFORM]], params)


def ow_list_actions(store, params):
    entries = []
    for (platform, pkg), package in store.packages.items():
        if platform == OW_PLATFORM:
            entries.extend(ow_entity(e["name"], ow_namespace_of(pkg),
                                     [{"key": "exec", "value": e.get("runtime", "")}])
                           for e in package.listing)
    return ow_page(entries, params)


def ow_get_package(store, name):
    """The package with its actions ({name, version, annotations}), as `wsk package get`
    shows them; hostile listed-only names included, as in the NCP listing."""
    package = store.packages.get((OW_PLATFORM, name))
    if package is None or name == "-":
        raise OwError(404, OW_NOT_FOUND)
    actions = [{"name": e["name"], "version": OW_VERSION,
                "annotations": [{"key": "exec", "value": e.get("runtime", "")}]}
               for e in package.listing]
    return dict(ow_entity(name, NAMESPACE), binding={}, parameters=[], actions=actions,
                feeds=[])


def ow_list_triggers(store, params):
    return ow_page([ow_entity(t.name, NAMESPACE) for (platform, _), t in store.triggers.items()
                    if platform == OW_PLATFORM], params)


def ow_action(store, pkg, name):
    action = store.packages.get((OW_PLATFORM, pkg))
    action = action.actions.get(name) if action is not None else None
    if action is None:
        raise OwError(404, OW_NOT_FOUND)
    detail = action.detail()
    entity = ow_entity(name, ow_namespace_of(pkg), [{"key": "exec", "value": action.kind}])
    entity.update(exec=detail["exec"], limits=detail["limits"], parameters=[])
    return entity


def ow_get_trigger(store, name):
    trigger = store.triggers.get((OW_PLATFORM, name))
    if trigger is None:
        raise OwError(404, OW_NOT_FOUND)
    return dict(ow_entity(name, NAMESPACE), parameters=[], limits={}, rules={})


def ow_record(series, index):
    """The record as OpenWhisk stores it: name without the package (the package is in the
    path annotation), annotations always, end left out when it is 0."""
    record = series.record(index, True)
    record["name"] = series.record_name.rsplit("/", 1)[-1]
    record.update(version=OW_VERSION, publish=False)
    if not record.get("end"):
        record.pop("end", None)
    return record


def ow_summary(series, index):
    """A list row without docs: the record's fields but logs, response and subject, plus
    statusCode (0 success, 1 application, 2 developer, 3 internal error)."""
    record = ow_record(series, index)
    status = record["response"]["status"]
    for field in ("logs", "response", "subject"):
        record.pop(field, None)
    record["statusCode"] = OW_STATUS_CODES.get(status, 3)
    return record


def ow_series_named(store, name):
    """The series the name filter means: 'pkg/action', or 'action' (outside any package) or a
    trigger; [] when there is none (OpenWhisk filters, it does not 404)."""
    parts = name.split("/")
    if len(parts) > 2 or not all(parts):
        raise OwError(400, "The name parameter must be 'action' or 'package/action'.")
    pkg, action = (parts[0], parts[1]) if len(parts) == 2 else ("-", parts[0])
    package = store.packages.get((OW_PLATFORM, pkg))
    found = [package.actions[action].series] if package and action in package.actions else []
    trigger = store.triggers.get((OW_PLATFORM, parts[0]))
    if len(parts) == 1 and trigger is not None:
        found.append(trigger.series)
    return found


def ow_activation_rows(store, params, window, newest_first):
    """(count, row(k)) of the list, in the order served."""
    name = params.get("name")
    at_ms = now_ms()
    if name is None:
        starts, entries = listed_entries(store, OW_PLATFORM, at_ms)
        count, position = ordered_view(starts, window, newest_first)
        return count, lambda k: entries[position(k)][2:]
    entries = sorted(((s.starts[i], s.ids[i], s, i) for s in ow_series_named(store, name)
                      for i in range(len(s)) if at_ms >= s.listed_at.get(i, 0)),
                     key=lambda e: (e[0], e[1]))
    count, position = ordered_view([e[0] for e in entries], window, newest_first)
    return count, lambda k: entries[position(k)][2:]


def ow_list_activations(store, params, newest_first):
    docs, count_only = ow_bool_param(params, "docs"), ow_bool_param(params, "count")
    if docs and count_only:
        raise OwError(400, "The parameters 'count' and 'docs' cannot be used together.")
    since = ow_int_param(params, "since", 0, 0, 10 ** 15)
    upto = ow_int_param(params, "upto", None, 0, 10 ** 15)
    total, row = ow_activation_rows(store, params, Window(since, upto, True), newest_first)
    if count_only:
        return {"activations": total}
    rows = ow_page(range(total), params)
    make = ow_record if docs else ow_summary
    return [make(*row(k)) for k in rows]


def ow_find_activation(store, aid, at_ms):
    for series in store.all_series(OW_PLATFORM):
        index = series.index_of.get(aid)
        if index is not None and series.is_visible(index, at_ms):
            return series, index
    raise OwError(404, OW_NOT_FOUND)


def ow_logs(record):
    return {"logs": record["logs"]}


def ow_result(record):
    response = record["response"]
    return {"result": response["result"], "success": response["success"],
            "status": response["status"]}


# (segments after /api/v1/namespaces/{ns}, handler(store, args, params, newest_first))
OW_ROUTES = (
    (("packages",), lambda st, a, p, n: ow_list_packages(st, p)),
    (("packages", "{name}"), lambda st, a, p, n: ow_get_package(st, a[0])),
    (("actions",), lambda st, a, p, n: ow_list_actions(st, p)),
    (("actions", "{name}"), lambda st, a, p, n: ow_action(st, "-", a[0])),
    (("actions", "{name}", "{name}"), lambda st, a, p, n: ow_action(st, a[0], a[1])),
    (("activations",), lambda st, a, p, n: ow_list_activations(st, p, n)),
    (("activations", "{name}"), lambda st, a, p, n: ow_record(*ow_find_activation(st, a[0], now_ms()))),
    (("activations", "{name}", "logs"),
     lambda st, a, p, n: ow_logs(ow_record(*ow_find_activation(st, a[0], now_ms())))),
    (("activations", "{name}", "result"),
     lambda st, a, p, n: ow_result(ow_record(*ow_find_activation(st, a[0], now_ms())))),
    (("triggers",), lambda st, a, p, n: ow_list_triggers(st, p)),
    (("triggers", "{name}"), lambda st, a, p, n: ow_get_trigger(st, a[0])),
)


def ow_authenticate(auth, headers):
    """Basic base64(uuid:key), compared in constant time."""
    how, _, token = (headers.get("Authorization") or "").partition(" ")
    expected = base64.b64encode(auth.encode("utf-8"))
    if how.lower() != "basic" or not hmac.compare_digest(
            token.strip().encode("latin-1", "replace"), expected):
        raise OwError(401, "The supplied authentication is invalid.")


def ow_as_ncp_query(params):
    """limit/skip/since/upto as the NCP list query that asks for the same slice."""
    pairs = []
    limit = params.get("limit")
    if limit is not None and DIGITS_RE.fullmatch(limit) and DIGITS_RE.fullmatch(
            params.get("skip", "0")):
        size = int(limit) or OW_MAX_LIMIT
        pairs += [f"pageNo={int(params.get('skip', '0')) // size + 1}", f"pageSize={size}"]
    pairs += [f"{ncp}={params[ow]}" for ow, ncp in (("since", "start"), ("upto", "end"))
              if ow in params]
    pairs += [f"{k}={params[k]}" for k in ("count", "docs") if k in params]
    return "&".join(pairs)


def ow_as_ncp(store, path, query):
    """(path, query) of the NCP request that names the same thing as an OpenWhisk one, for
    the request log ("ncp_path", "ncp_query"): tests that count requests per resource read
    either API's log the same way. A package (with its actions) is the package's action
    list; the namespace-wide action list is the list of actions outside any package (what
    ncffs reads it for); an id no series holds is /api/v2/activations/<id>."""
    segments = decode_segments(path[len(OW_PREFIX):])[2:]
    try:
        params = parse_query(query)
    except ApiError:
        params = {}
    base = "/api/v2"
    if segments[:1] == ["activations"] and len(segments) == 1:
        name = params.get("name")
        if name is None:
            return base + "/activations", ow_as_ncp_query(params)
        pkg, _, action = name.rpartition("/")
        if not pkg and store.triggers.get((OW_PLATFORM, action)) is not None:
            return f"{base}/triggers/{action}/activations", ow_as_ncp_query(params)
        return (f"{base}/packages/{pkg or '-'}/actions/{action}/activations",
                ow_as_ncp_query(params))
    if segments[:1] == ["activations"]:
        for series in store.all_series(OW_PLATFORM):
            if segments[1] in series.index_of:
                owner = (f"triggers/{series.record_name}" if series.trigger else
                         "packages/{}/actions/{}".format(*series.key.split("/", 1)))
                return f"{base}/{owner}/activations/{'/'.join(segments[1:])}", ""
        return f"{base}/activations/{'/'.join(segments[1:])}", ""
    if segments[:1] == ["packages"] and len(segments) == 2:
        return f"{base}/packages/{segments[1]}/actions", ""
    if segments == ["actions"]:
        return f"{base}/packages/-/actions", ow_as_ncp_query(params)
    if segments[:1] == ["actions"] and len(segments) in (2, 3):
        pkg, action = (segments[1], segments[2]) if len(segments) == 3 else ("-", segments[1])
        return f"{base}/packages/{pkg}/actions/{action}", ""
    return base + "/" + "/".join(segments), ow_as_ncp_query(params)


def route_openwhisk(store, behaviour, auth, path, query, headers):
    """-> the JSON value of a GET under /api/v1, or raise OwError."""
    ow_authenticate(auth, headers)
    segments = decode_segments(path[len(OW_PREFIX):])
    if len(segments) < 3 or segments[0] != "namespaces":
        raise OwError(404, OW_NOT_FOUND)
    if segments[1] not in ("_", NAMESPACE):
        raise OwError(403, "The supplied authentication is not authorized to access "
                           "this resource.")
    handler, args = match_route(OW_ROUTES, segments[2:])
    if handler is None:
        raise OwError(404, OW_NOT_FOUND)
    try:
        params = parse_query(query)
    except ApiError as err:
        raise OwError(400, err.details)
    with store.lock:
        return handler(store, args, params, behaviour.newest_first)


# --------------------------------------------------------------------------------------------
# Faults: parsed from POST /_emulator/config, picked per request with a seeded generator.

FAULT_DEFAULT_STATUS = {"status": 503, "reset": 200, "stall": 200, "hang": 0,
                        "garbage": 200, "html": 502, "huge": 200}
FAULT_KEYS = {"path_regex", "status", "fraction", "kind", "size_mb", "seconds", "count",
              "error_code", "rst", "retry_after"}
RETRY_AFTER_KINDS = ("status", "html")      # the error answers; the others are broken bodies
RAW_HEADER_RE = re.compile(r"[ -~]*")        # printable ASCII: no header injection


def parse_retry_after(value, kind):
    """Validate a fault's retry_after; -> the value itself (None: no header).
    N (integer seconds) -> 'Retry-After: N'; "date:N" -> an IMF-fixdate N seconds after the
    answer (N may be negative: a date in the past); "raw:TEXT" -> TEXT verbatim."""
    if value is None:
        return None
    if kind not in RETRY_AFTER_KINDS:
        raise bad_request(f"retry_after goes with kinds {list(RETRY_AFTER_KINDS)}.")
    if isinstance(value, int) and not isinstance(value, bool) \
            and 0 <= value <= MAX_RETRY_AFTER_S:
        return value
    how, _, rest = value.partition(":") if isinstance(value, str) else ("", "", "")
    if how == "date" and re.fullmatch(r"-?[0-9]{1,7}", rest) \
            and abs(int(rest)) <= MAX_RETRY_AFTER_S:
        return value
    if how == "raw" and len(rest) <= MAX_RAW_RETRY_AFTER and RAW_HEADER_RE.fullmatch(rest):
        return value
    raise bad_request("retry_after: integer seconds, \"date:N\" or \"raw:TEXT\".")


def retry_after_text(value, http_date):
    """The Retry-After header text of a validated retry_after, at answer time; http_date
    formats epoch seconds as an IMF-fixdate."""
    if isinstance(value, int):
        return str(value)
    how, _, rest = value.partition(":")
    return http_date(now_s() + int(rest)) if how == "date" else rest


def number_field(spec, name, default, low, high):
    value = spec.get(name, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise bad_request(f"'{name}' must be a number in [{low}, {high}].")
    return value


def parse_fault(spec):
    """Validate one fault entry; -> a dict with a compiled regex and a remaining-use count."""
    if not isinstance(spec, dict) or set(spec) - FAULT_KEYS:
        raise bad_request(f"a fault is an object with keys among {sorted(FAULT_KEYS)}.")
    kind = spec.get("kind", "status")
    if kind not in FAULT_DEFAULT_STATUS:
        raise bad_request(f"fault kind must be one of {sorted(FAULT_DEFAULT_STATUS)}.")
    try:
        regex = re.compile(str(spec.get("path_regex", "")))
    except re.error as err:
        raise bad_request(f"bad path_regex: {err}")
    low = 400 if kind in ("status", "html") else 0
    count = spec.get("count")
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
        raise bad_request("fault 'count' must be a positive integer or null.")
    return {
        "kind": kind, "path_regex": regex.pattern, "regex": regex,
        "status": int(number_field(spec, "status", FAULT_DEFAULT_STATUS[kind], low, 599)),
        "fraction": float(number_field(spec, "fraction", 1.0, 0.0, 1.0)),
        "size_mb": number_field(spec, "size_mb", 1, 0, MAX_HUGE_MB),
        "seconds": float(number_field(spec, "seconds", DEFAULT_FAULT_SECONDS, 0,
                                      MAX_FAULT_SECONDS)),
        "remaining": count,
        "error_code": spec.get("error_code"),
        "rst": bool(spec.get("rst", True)),
        "retry_after": parse_retry_after(spec.get("retry_after"), kind),
    }


def public_fault(fault):
    return {k: v for k, v in fault.items() if k != "regex"}


# --------------------------------------------------------------------------------------------
# A gateway's rate limit (--rate): the API page documents three 429s and no number.

RATE_CODES = ("400", "410", "420")          # quota exceeded, throttle limited, rate limited
RATE_MESSAGES = {"400": "Quota Exceeded", "410": "Throttle Limited", "420": "Rate Limited"}
RETRY_AFTER_STYLES = ("none", "seconds", "date")


class TokenBucket:
    """rate tokens a second, at most burst kept; a request takes one or is refused.
    The clock is injected (monotonic seconds) so tests can drive it."""

    def __init__(self, rate, burst, clock=time.monotonic):
        self.rate, self.burst, self.clock = float(rate), float(burst), clock
        self.tokens, self.stamp = float(burst), clock()

    def take(self):
        """-> 0.0 when a token was taken, else the seconds until one will be there."""
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate


class RateLimit(NamedTuple):
    rate: float                 # requests a second; 0 = no limit (the documentation)
    burst: int
    code: str                   # the gateway errorCode of the 429
    retry_after: str            # none, seconds or date
    load_latency_ms: float      # latency added per other request being answered


# --------------------------------------------------------------------------------------------
# Emulator state shared by all handler threads.

class Emulator:
    def __init__(self, store, keys, behaviour, latency_ms, log_path, seed, quiet,
                 rate_limit=None, ow_auth=OW_DEFAULT_AUTH):
        self.store = store
        self.ow_auth = ow_auth          # the OpenWhisk personality's AUTH (uuid:key)
        self.rate_limit = rate_limit or RateLimit(0, 1, "420", "none", 0)
        self.bucket = (TokenBucket(self.rate_limit.rate, self.rate_limit.burst)
                       if self.rate_limit.rate > 0 else None)
        self.answering = 0              # API requests between arrival and answer
        self.keys = dict(keys)          # access key -> secret key
        self.behaviour = behaviour      # fixed at start-up: read without the lock
        self.quiet = quiet
        self.lock = threading.Lock()    # guards everything below
        self.latency_ms = latency_ms
        self.faults = []
        self.rng = random.Random(seed)
        self.requests = collections.deque(maxlen=MAX_LOGGED_REQUESTS)
        self.log_file = open(log_path, "a", encoding="utf-8") if log_path else None
        self.connections = itertools.count(1)
        self.stopping = threading.Event()   # wakes sleeping/hanging handlers at shutdown

    def close(self):
        if self.log_file is not None:
            self.log_file.close()

    def next_connection_id(self):
        with self.lock:
            return next(self.connections)

    def authenticate(self, method, target, headers):
        """Raise the gateway's 401 unless the request is signed as the API Gateway wants."""
        stamp = headers.get("x-ncp-apigw-timestamp")
        access_key = headers.get("x-ncp-iam-access-key")
        signature = headers.get("x-ncp-apigw-signature-v2")
        if not stamp or not access_key or not signature:
            raise auth_failed()
        if DIGITS_RE.fullmatch(stamp) is None or len(stamp) > 15 \
                or abs(now_ms() - int(stamp)) > TIMESTAMP_WINDOW_MS:
            raise auth_failed("Invalid timestamp: it is expired or more than 5 minutes "
                              "away from the server clock.")
        secret = self.keys.get(access_key)
        if secret is None:
            raise auth_failed()
        expected = sign(secret, method, target, stamp, access_key).encode("ascii")
        if not hmac.compare_digest(expected, signature.encode("latin-1", "replace")):
            raise auth_failed()

    def sleep_latency(self):
        """--latency-ms, plus --load-latency-ms for each other request being answered
        (a gateway that queues when it is busy)."""
        with self.lock:
            delay = (self.latency_ms + self.rate_limit.load_latency_ms
                     * max(0, self.answering - 1)) / 1000.0
        if delay > 0:
            self.stopping.wait(delay)

    def arrive(self):
        """Count a request in; -> None when the rate limit lets it through, else the
        seconds until it would have (its 429's Retry-After)."""
        with self.lock:
            self.answering += 1
            if self.bucket is None:
                return None
            wait = self.bucket.take()
        return wait if wait > 0 else None

    def leave(self):
        with self.lock:
            self.answering -= 1

    def pick_fault(self, target):
        """The first fault whose regex matches the raw target and whose coin comes up."""
        with self.lock:
            for fault in self.faults:
                if fault["remaining"] == 0 or not fault["regex"].search(target):
                    continue
                if self.rng.random() >= fault["fraction"]:
                    continue
                if fault["remaining"] is not None:
                    fault["remaining"] -= 1
                return dict(fault)
        return None

    def configure(self, config):
        """Apply POST /_emulator/config after validating all of it (all or nothing)."""
        if not isinstance(config, dict) or set(config) - {"latency_ms", "faults", "seed"}:
            raise bad_request("config keys: latency_ms, faults, seed.")
        latency = config.get("latency_ms")
        if latency is not None:
            latency = number_field(config, "latency_ms", 0, 0, 600_000)
        seed = config.get("seed")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, str))):
            raise bad_request("seed must be an integer or a string.")
        faults = config.get("faults")
        if faults is not None:
            if not isinstance(faults, list):
                raise bad_request("faults must be a list.")
            faults = [parse_fault(f) for f in faults]
        with self.lock:
            if latency is not None:
                self.latency_ms = latency
            if faults is not None:
                self.faults = faults
            if seed is not None:
                self.rng = random.Random(seed)
        return self.config_snapshot()

    def config_snapshot(self):
        with self.lock:
            return {"latency_ms": self.latency_ms,
                    "faults": [public_fault(f) for f in self.faults]}

    def log_request(self, entry):
        with self.lock:
            self.requests.append(entry)
            if self.log_file is not None:
                self.log_file.write(json.dumps(entry) + "\n")
                self.log_file.flush()

    def logged_requests(self):
        with self.lock:
            return list(self.requests)

    def clear_requests(self):
        with self.lock:
            self.requests.clear()


# --------------------------------------------------------------------------------------------
# Admin API (no auth, not logged). Handlers: (emulator, body bytes, *path args) -> JSON value.

def parse_json_body(body, default):
    if not body.strip():
        return default
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as err:
        raise bad_request(f"body is not JSON: {err}")


def admin_requests(emu, body):
    return emu.logged_requests()


def admin_reset(emu, body):
    emu.clear_requests()
    return {}


def admin_get_config(emu, body):
    return emu.config_snapshot()


def admin_set_config(emu, body):
    return emu.configure(parse_json_body(body, {}))


def admin_action(emu, pkg, name):
    action = emu.store.find_action_anywhere(pkg, name)
    if action is None:
        raise ApiError(404, 80301, "ACTION_NOT_FOUND", f"No action '{pkg}/{name}'.")
    return action


def admin_trigger(emu, name):
    trigger = emu.store.find_trigger_anywhere(name)
    if trigger is None:
        raise ApiError(404, 80501, "TRIGGER_NOT_FOUND", f"No trigger '{name}'.")
    return trigger


def admin_one_record(emu, series, activation):
    """The record as the API serves it (same annotations flag), but also before its
    visibility delay is over: tests need the ground truth."""
    index = series.index_of.get(activation)
    if index is None:
        raise missing_activation(series, activation)
    return series.record(index, emu.behaviour.annotations)


def admin_record(emu, body, pkg, name, activation):
    with emu.store.lock:
        return admin_one_record(emu, admin_action(emu, pkg, name).series, activation)


def admin_ow_record(emu, body, pkg, name, activation):
    """The record as the OpenWhisk personality serves it (see ow_record)."""
    with emu.store.lock:
        series = admin_action(emu, pkg, name).series
        admin_one_record(emu, series, activation)       # 404 when there is none
        return ow_record(series, series.index_of[activation])


def admin_ow_trigger_record(emu, body, name, activation):
    with emu.store.lock:
        series = admin_trigger(emu, name).series
        admin_one_record(emu, series, activation)
        return ow_record(series, series.index_of[activation])


def admin_ids(emu, body, pkg, name):
    with emu.store.lock:
        return {"ids": admin_action(emu, pkg, name).series.ids[::-1]}


def admin_trigger_record(emu, body, name, activation):
    with emu.store.lock:
        return admin_one_record(emu, admin_trigger(emu, name).series, activation)


def admin_trigger_ids(emu, body, name):
    with emu.store.lock:
        return {"ids": admin_trigger(emu, name).series.ids[::-1]}


ADDED_KEYS = ("status", "logs", "duration", "result", "visible_after_s", "listed_after_s")


def added_fields(body):
    """Optional fields of an added activation: record overrides (status, logs, duration,
    result), visible_after_s (seconds its record answers 404 after its start) and
    listed_after_s (seconds every list leaves it out after its start: a stale list index)."""
    fields = parse_json_body(body, {})
    if not isinstance(fields, dict) or set(fields) - set(ADDED_KEYS):
        raise bad_request(f"body keys: {', '.join(ADDED_KEYS)}.")
    if fields.get("status", "success") not in STATUSES:
        raise bad_request(f"status must be one of {list(STATUSES)}.")
    logs = fields.get("logs", [])
    if not isinstance(logs, list) or not all(isinstance(line, str) for line in logs):
        raise bad_request("logs must be a list of strings.")
    duration = fields.get("duration", 1)
    if isinstance(duration, bool) or not isinstance(duration, int) or not 0 <= duration <= 10**9:
        raise bad_request("duration must be a non-negative integer.")
    if not isinstance(fields.get("result", {}), dict):
        raise bad_request("result must be an object.")
    number_field(fields, "visible_after_s", 0, 0, MAX_VISIBLE_AFTER_S)
    number_field(fields, "listed_after_s", 0, 0, MAX_VISIBLE_AFTER_S)
    return fields


def admin_add_activation(emu, body, pkg, name):
    fields = added_fields(body)
    delay_ms = int(fields.pop("visible_after_s", 0) * 1000)
    unlisted_ms = int(fields.pop("listed_after_s", 0) * 1000)
    with emu.store.lock:
        series = admin_action(emu, pkg, name).series
        index = series.add(now_ms(), fields, delay_ms, unlisted_ms)
        emu.store.version += 1
        start = series.starts[index]
        return {"activationId": series.ids[index], "start": start,
                "visible_at": start + delay_ms, "listed_at": start + unlisted_ms}


ADMIN_ROUTES = (
    (("requests",), {"GET": admin_requests}),
    (("reset",), {"POST": admin_reset}),
    (("config",), {"GET": admin_get_config, "POST": admin_set_config}),
    (("record", "{pkg}", "{name}", "{name}"), {"GET": admin_record}),
    (("ids", "{pkg}", "{name}"), {"GET": admin_ids}),
    (("ow-record", "{pkg}", "{name}", "{name}"), {"GET": admin_ow_record}),
    (("ow-trigger-record", "{name}", "{name}"), {"GET": admin_ow_trigger_record}),
    (("trigger-record", "{name}", "{name}"), {"GET": admin_trigger_record}),
    (("trigger-ids", "{name}"), {"GET": admin_trigger_ids}),
    (("addactivation", "{pkg}", "{name}"), {"POST": admin_add_activation}),
)


# --------------------------------------------------------------------------------------------
# HTTP layer.

GARBAGE_BODY = (b'{"content":{"activations":[{"activationId":'
                b'"8c1d0e6f3a2b4c5d9e7f0a1b2c3d4e5f","dura')
HTML_BODY = (b"<html><head><title>502 Bad Gateway</title></head><body><center>"
             b"<h1>502 Bad Gateway</h1></center><hr><center>apigw</center></body></html>\n")


def sample_body():
    """A plausible list body (~4 KiB) for faults that cut a response short."""
    entries = [{"activationId": activation_id("fault/sample", i), "duration": i,
                "status": "success"} for i in range(60)]
    return json_bytes({"content": {"activations": entries, "totalCount": len(entries)}})


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"       # keep-alive: clients reuse connections
    server_version = "ncf-emulator/1"
    sys_version = ""
    timeout = IDLE_CONNECTION_TIMEOUT_S
    sent_status = 0                     # last status line sent on this request, 0 = none
    fault_kind = None
    pending_log = None                  # (received ms, target, path, query) until logged

    def version_string(self):
        return self.server_version

    def date_time_string(self, timestamp=None):
        """The Date header, on the emulator's (possibly offset) clock."""
        return super().date_time_string(now_s() if timestamp is None else timestamp)

    def setup(self):
        super().setup()
        # Headers and body leave in separate writes; without TCP_NODELAY the body waits
        # for the client's delayed ACK (~40 ms) on every kept-alive request.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.conn_id = self.server.emu.next_connection_id()
        if isinstance(self.connection, ssl.SSLSocket):
            # Here, in the connection's own thread, not in accept(): a client that never
            # finishes its handshake must not stall the accept loop. A failed handshake
            # (e.g. the client does not trust the certificate) raises ssl.SSLError, which
            # handle_error() treats like a client hanging up.
            self.connection.settimeout(TLS_HANDSHAKE_TIMEOUT_S)
            self.connection.do_handshake()
            self.connection.settimeout(self.timeout)

    def __getattr__(self, name):
        # http.server answers 501 for any method without a do_<METHOD>; routing every method
        # to dispatch() lets the emulator answer 405 like the gateway does.
        if name.startswith("do_"):
            return self.dispatch
        raise AttributeError(name)

    # -- low-level writing

    def send_response(self, code, message=None):
        self.sent_status = code
        super().send_response(code, message)

    def send_head(self, status, content_type, length, headers=()):
        """Status line and headers; always a Content-Length so keep-alive framing holds."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(length))
        for name, value in headers:
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        # Log before the head leaves: a client that has seen the status can rely on finding
        # its request in the log, whatever other threads are doing.
        self.log_api_request()
        self.end_headers()

    def write_body(self, data):
        if getattr(self, "command", "") != "HEAD":
            self.wfile.write(data)

    def send_bytes(self, status, content_type, body, headers=()):
        self.send_head(status, content_type, len(body), headers)
        self.write_body(body)

    def send_json(self, status, obj, headers=()):
        self.send_bytes(status, JSON_TYPE, json_bytes(obj), headers)

    def send_api_error(self, err):
        numeric = self.server.emu.behaviour.numeric_service_codes
        self.send_json(err.status, err.body(numeric), err.headers)

    def send_error(self, code, message=None, explain=None):
        # http.server calls this for requests it cannot parse (bad request line, too many
        # headers, URI too long): keep the JSON error shape there too, then hang up.
        self.close_connection = True
        gateway_code, gateway_message = GATEWAY_ERRORS.get(code, ("100", "Bad Request Exception"))
        try:
            self.send_api_error(ApiError(code, gateway_code, gateway_message,
                                         message or explain or ""))
        except OSError:
            pass

    def abort_connection(self, rst):
        """Hang up now. With rst, SO_LINGER 0 turns close() into a TCP reset."""
        self.close_connection = True
        if rst:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.rfile.close()          # drop makefile's reference so close() really closes now
        self.connection.close()

    def log_message(self, format, *args):
        if not self.server.emu.quiet:
            super().log_message(format, *args)

    # -- request flow

    def read_body(self):
        """Read (or reject) a request body so the next keep-alive request parses cleanly."""
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            raise bad_request("chunked request bodies are not supported.")
        text = self.headers.get("Content-Length", "0").strip()
        if DIGITS_RE.fullmatch(text) is None:
            self.close_connection = True
            raise bad_request("bad Content-Length.")
        if len(text) > 12 or int(text) > MAX_REQUEST_BODY:
            self.close_connection = True
            raise ApiError(413, "430", "Request Entity Too Large", "Body too large.")
        return self.rfile.read(int(text))

    def dispatch(self):
        self.sent_status, self.fault_kind = 0, None
        target = raw_target(self.requestline)
        path, _, query = target.partition("?")
        is_admin = path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/")
        self.pending_log = None if is_admin else (now_ms(), target, path, query)
        try:
            if is_admin:
                self.answer_admin(path)
            else:
                self.answer_api(target, path, query)
        except (ConnectionError, TimeoutError):
            self.close_connection = True    # the client went away; nothing to answer
        except Exception:
            traceback.print_exc()
            self.close_connection = True
            if not self.sent_status:
                self.send_json(500, error_body("900", "Unexpected Error", "emulator bug"))
        finally:
            self.log_api_request()      # for requests never answered (hang, client gone)

    def log_api_request(self):
        """Log the current API request once; admin and unparsable requests are not logged."""
        if self.pending_log is None:
            return
        received, target, path, query = self.pending_log
        self.pending_log = None
        entry = {"method": self.command, "target": target, "path": path, "query": query,
                 "status": self.sent_status, "ts": received, "conn": self.conn_id}
        if path.startswith(OW_PREFIX + "/namespaces/"):
            with self.server.emu.store.lock:
                entry["ncp_path"], entry["ncp_query"] = ow_as_ncp(self.server.emu.store,
                                                                  path, query)
        if self.fault_kind:
            entry["fault"] = self.fault_kind
        self.server.emu.log_request(entry)

    def answer_api(self, target, path, query):
        emu = self.server.emu
        try:
            self.read_body()
        except ApiError as err:
            self.send_api_error(err)
            return
        throttled = emu.arrive()
        try:
            emu.sleep_latency()
            if throttled is not None:
                self.send_throttled(throttled)
                return
        finally:
            emu.leave()
        fault = emu.pick_fault(target)
        if fault is not None:
            self.fault_kind = fault["kind"]
            FAULT_ACTIONS[fault["kind"]](self, fault)
            return
        if path == OW_PREFIX or path.startswith(OW_PREFIX + "/"):
            self.answer_openwhisk(path, query)
            return
        try:
            if self.command != "GET":
                raise method_not_allowed("GET")
            emu.authenticate(self.command, target, self.headers)
            content = route_api(emu.store, emu.behaviour, path, query)
            self.send_json(200, {"content": content})
        except ApiError as err:
            self.send_api_error(err)

    def answer_openwhisk(self, path, query):
        emu = self.server.emu
        try:
            if self.command != "GET":
                raise OwError(405, "Method not allowed.")
            value = route_openwhisk(emu.store, emu.behaviour, emu.ow_auth, path, query,
                                    self.headers)
            self.send_json(200, value)
        except OwError as err:
            self.send_json(err.status, err.body())

    def answer_admin(self, path):
        try:
            body = self.read_body()
            methods, args = match_route(ADMIN_ROUTES, decode_segments(path)[1:])
            if methods is None:
                raise gateway_not_found("Unknown admin endpoint.")
            if self.command not in methods:
                raise method_not_allowed(", ".join(sorted(methods)))
            result = methods[self.command](self.server.emu, body, *args)
            self.send_json(200, result)
        except ApiError as err:
            self.send_api_error(err)

    def send_throttled(self, wait_s):
        """--rate's 429: the configured gateway errorCode, Retry-After as configured."""
        limit = self.server.emu.rate_limit
        headers = []
        seconds = max(1, math.ceil(wait_s))
        if limit.retry_after == "seconds":
            headers.append(("Retry-After", str(seconds)))
        elif limit.retry_after == "date":
            headers.append(("Retry-After", self.date_time_string(now_s() + seconds)))
        self.fault_kind = "rate"
        self.send_json(429, error_body(limit.code, RATE_MESSAGES[limit.code],
                                       "Too many requests: rate limit exceeded."), headers)

    # -- fault kinds (see README.md)

    def fault_headers(self, fault):
        """Retry-After only when the fault asks for it: the docs promise none."""
        if fault["retry_after"] is None:
            return []
        return [("Retry-After", retry_after_text(fault["retry_after"], self.date_time_string))]

    def fault_status(self, fault):
        status = fault["status"]
        code, message = GATEWAY_ERRORS.get(status, ("900", "Unexpected Error"))
        code = wire_code(code, self.server.emu.behaviour.numeric_service_codes)
        if fault["error_code"] is not None:
            code = fault["error_code"]          # sent exactly as configured, string or number
        self.send_json(status, error_body(code, message, "Fault injected by the emulator."),
                       self.fault_headers(fault))

    def fault_reset(self, fault):
        body = sample_body()
        self.send_head(200, JSON_TYPE, len(body))
        self.write_body(body[: len(body) // 2])
        self.abort_connection(fault["rst"])

    def fault_stall(self, fault):
        self.send_head(200, JSON_TYPE, len(sample_body()))
        self.server.emu.stopping.wait(fault["seconds"])
        self.abort_connection(rst=False)

    def fault_hang(self, fault):
        self.server.emu.stopping.wait(fault["seconds"])
        self.abort_connection(rst=False)

    def fault_garbage(self, fault):
        self.send_bytes(200, JSON_TYPE, GARBAGE_BODY)

    def fault_html(self, fault):
        self.send_bytes(fault["status"], HTML_TYPE, HTML_BODY, self.fault_headers(fault))

    def fault_huge(self, fault):
        """A valid JSON body of size_mb MiB, streamed: never held in memory."""
        prefix, suffix = b'{"content":{"padding":"', b'"}}'
        pad = max(0, int(fault["size_mb"] * 1024 * 1024) - len(prefix) - len(suffix))
        self.send_head(200, JSON_TYPE, len(prefix) + pad + len(suffix))
        self.write_body(prefix)
        chunk = memoryview(b"x" * STREAM_CHUNK)
        while pad > 0:
            n = min(pad, STREAM_CHUNK)
            self.write_body(chunk[:n])
            pad -= n
        self.write_body(suffix)


FAULT_ACTIONS = {
    "status": Handler.fault_status, "reset": Handler.fault_reset, "stall": Handler.fault_stall,
    "hang": Handler.fault_hang, "garbage": Handler.fault_garbage, "html": Handler.fault_html,
    "huge": Handler.fault_huge,
}


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True       # a hanging fault thread must never delay shutdown
    request_queue_size = LISTEN_BACKLOG

    def __init__(self, host, port, emu, tls_context=None):
        self.emu = emu
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        super().__init__((host, port), Handler)
        if tls_context is not None:
            # Accepted sockets inherit the wrapping; the handshake waits for Handler.setup.
            self.socket = tls_context.wrap_socket(self.socket, server_side=True,
                                                  do_handshake_on_connect=False)

    def server_bind(self):
        # HTTPServer.server_bind() does a reverse DNS lookup (getfqdn) that can stall startup.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def handle_error(self, request, client_address):
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError, ssl.SSLError)):
            return              # clients hanging up (or refusing our certificate) is normal
        super().handle_error(request, client_address)


# --------------------------------------------------------------------------------------------
# Command line.

def loopback_host(host):
    """The address to bind if host is loopback, else None (we never listen elsewhere)."""
    if host == "localhost":
        return "127.0.0.1"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    return str(address) if address.is_loopback else None


def count_arg(low, high):
    def parse(text):
        value = int(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be in [{low}, {high}]")
        return value
    return parse


# Flags for behaviour the API page does not describe; without them the emulator answers as
# the page says. (flag, argparse keywords); README.md describes each one.
BEHAVIOUR_FLAGS = (
    ("--page-lists", dict(action="store_true",
                          help="page package/action/trigger lists like activation lists")),
    ("--page-cap", dict(type=count_arg(1, MAX_PAGE_SIZE_FLAG), metavar="N",
                        help="silently reduce a pageSize above N to N")),
    # At least the documented default 20, which is what a refused client falls back to.
    ("--max-page-size", dict(type=count_arg(DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE_FLAG), metavar="N",
                             help="answer 400 (80000) to a pageSize above N (N >= 20)")),
    ("--order", dict(choices=("newest-first", "oldest-first"), default="newest-first",
                     help="order of activation lists (default newest-first, as OpenWhisk)")),
    ("--annotations", dict(action="store_true",
                           help="put OpenWhisk annotations in activation records")),
    ("--repeat-items", dict(type=count_arg(1, MAX_REPEAT_ITEMS), default=1, metavar="K",
                            help="send every list item K times in a row")),
    ("--ignore-page-no", dict(action="store_true",
                              help="answer page 1 of paged lists whatever pageNo says")),
    ("--total-count-lie", dict(type=count_arg(0, 10 ** 12), metavar="N",
                               help="report totalCount N on activation lists")),
    ("--numeric-service-codes", dict(action="store_true",
                                     help="send service errorCodes (80xxx) as JSON numbers")),
    ("--region", dict(choices=sorted(REGION_TIME_ZONES), default="kr",
                      help="time zone of v2.0 start/end: kr, jp UTC+9, sg UTC+8")),
    ("--spread-days", dict(type=count_arg(1, MAX_SPREAD_DAYS), metavar="D",
                           help="spread --bench-activations evenly over the last D days")),
)


# A gateway's limits, which the API page does not give (it documents the 429s only).
RATE_FLAGS = (
    ("--rate", dict(type=count_arg(0, 100_000), default=0, metavar="N",
                    help="allow N API requests a second (token bucket), 429 beyond (0: no limit)")),
    ("--rate-burst", dict(type=count_arg(1, 100_000), metavar="B",
                          help="tokens the bucket holds (default N/10, at least 1)")),
    ("--rate-code", dict(choices=RATE_CODES, default="420",
                         help="gateway errorCode of the 429 (400 quota, 410 throttle, 420 rate)")),
    ("--rate-retry-after", dict(choices=RETRY_AFTER_STYLES, default="none",
                                help="Retry-After on the 429: none (default), seconds or date")),
    ("--load-latency-ms", dict(type=count_arg(0, 10_000), default=0, metavar="MS",
                               help="add MS of latency per other request being answered")),
)


def rate_limit_of(args):
    burst = args.rate_burst or max(1, args.rate // 10)
    return RateLimit(args.rate, burst, args.rate_code, args.rate_retry_after,
                     args.load_latency_ms)


def behaviour_of(args):
    return Behaviour(
        page_lists=args.page_lists, page_cap=args.page_cap, max_page_size=args.max_page_size,
        newest_first=args.order == "newest-first", annotations=args.annotations,
        repeat_items=args.repeat_items, ignore_page_no=args.ignore_page_no,
        total_count_lie=args.total_count_lie,
        numeric_service_codes=args.numeric_service_codes,
        local_tz=REGION_TIME_ZONES[args.region])


def parse_args(argv):
    p = argparse.ArgumentParser(description="Emulator of the NCP Cloud Functions read API.")
    p.add_argument("--host", default="127.0.0.1", help="loopback address to bind")
    p.add_argument("--port", type=count_arg(0, 65535), default=0, help="0 picks a free port")
    p.add_argument("--port-file", help="write the chosen port here once listening")
    p.add_argument("--access-key", default=DEFAULT_ACCESS_KEY)
    p.add_argument("--secret-key", default=DEFAULT_SECRET_KEY)
    p.add_argument("--ow-auth", default=OW_DEFAULT_AUTH,
                   help="AUTH (uuid:key) of the OpenWhisk personality under /api/v1")
    p.add_argument("--latency-ms", type=count_arg(0, 600_000), default=0)
    p.add_argument("--log", help="append one JSON line per API request")
    p.add_argument("--dataset", choices=("demo", "test"), default="demo")
    p.add_argument("--bench-activations", type=count_arg(0, MAX_BENCH_ACTIVATIONS), default=0)
    p.add_argument("--seed", type=int, default=0, help="seed of the fault coin (default 0)")
    p.add_argument("--quiet", action="store_true", help="no per-request lines on stderr")
    p.add_argument("--tls-cert", help="serve HTTPS with this PEM certificate (chain)")
    p.add_argument("--tls-key", help="the PEM private key of --tls-cert")
    p.add_argument("--clock-offset-s", type=count_arg(-MAX_CLOCK_OFFSET_S, MAX_CLOCK_OFFSET_S),
                   default=0, help="shift the emulator's clock and Date header by N seconds")
    p.add_argument("--sign", nargs=2, metavar=("METHOD", "TARGET"),
                   help="print the three auth headers for a request now, then exit")
    for flag, options in BEHAVIOUR_FLAGS:
        p.add_argument(flag, **options)
    for flag, options in RATE_FLAGS:
        p.add_argument(flag, **options)
    args = p.parse_args(argv)
    if args.spread_days and not args.bench_activations:
        p.error("--spread-days spreads --bench-activations: give both")
    return args


def tls_context(cert, key):
    """A server-side TLS context for --tls-cert/--tls-key, or None when both are absent.
    Raises ValueError for a half-given pair and ssl.SSLError/OSError for unusable files."""
    if not cert and not key:
        return None
    if not cert or not key:
        raise ValueError("--tls-cert and --tls-key go together")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


def print_signed_headers(args):
    method, target = args.sign
    stamp = str(now_ms())
    print(f"x-ncp-apigw-timestamp: {stamp}")
    print(f"x-ncp-iam-access-key: {args.access_key}")
    print(f"x-ncp-apigw-signature-v2: "
          f"{sign(args.secret_key, method, target, stamp, args.access_key)}")


def write_port_file(path, port):
    """Atomic: a reader sees either no file or the whole port."""
    temp = f"{path}.tmp.{os.getpid()}"
    with open(temp, "w", encoding="ascii") as f:
        f.write(f"{port}\n")
    os.replace(temp, path)


def serve(server, emu, port_file):
    """Serve until SIGTERM/SIGINT. serve_forever runs in a thread because shutdown() must be
    called from a thread other than the one serving."""
    thread = threading.Thread(target=server.serve_forever, name="serve", daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    if port_file:
        write_port_file(port_file, port)
    print(f"listening {host}:{port}", flush=True)
    while not STOP.wait(0.5):
        pass
    emu.stopping.set()
    server.shutdown()
    server.server_close()


STOP = threading.Event()


def on_signal(signum, frame):
    STOP.set()


def main(argv=None):
    global CLOCK_OFFSET_S
    args = parse_args(argv)
    CLOCK_OFFSET_S = args.clock_offset_s
    if args.sign:
        print_signed_headers(args)
        return 0
    host = loopback_host(args.host)
    if host is None:
        print(f"ncf_emulator: refusing non-loopback --host {args.host!r}", file=sys.stderr)
        return 2
    try:
        context = tls_context(args.tls_cert, args.tls_key)
    except (ValueError, OSError) as err:      # ssl.SSLError is an OSError
        print(f"ncf_emulator: cannot use TLS certificate/key: {err}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    store = build_store(args.dataset, args.bench_activations, int(now_s()) * 1000,
                        args.spread_days or 0)
    emu = Emulator(store, {args.access_key: args.secret_key}, behaviour_of(args),
                   args.latency_ms, args.log, args.seed, args.quiet, rate_limit_of(args),
                   args.ow_auth)
    try:
        server = EmulatorServer(host, args.port, emu, context)
    except OSError as err:
        print(f"ncf_emulator: cannot listen on {host}:{args.port}: {err}", file=sys.stderr)
        emu.close()
        return 1
    serve(server, emu, args.port_file)
    emu.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
