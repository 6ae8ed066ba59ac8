"""Well-formed HTTP, wrong-shaped JSON: a reverse proxy in front of the emulator rewrites
chosen 200 answers (content missing, arrays where objects belong, a string result, null logs,
durations as strings, huge numbers, deep nesting, an HTML page with status 200, a lying
totalCount...). A record or listing ncffs cannot read exactly fails with EBADMSG; one it can
read is served exactly as the record says (ncffs(1) documents the lenient cases); nothing
that the server did not say is ever served, and the daemon keeps serving everything else.
"""

import copy
import errno
import json

import pytest

from fault_support import *  # noqa: F401,F403 (fixtures and helpers)

FILES = ("status", "duration", "logs.txt", "result.json", "activation.json")


def on_content(change):
    """A rule body: apply change(content) to the answer's "content" object."""
    def rewrite(body):
        change(body["content"])
        return body
    return rewrite


def setter(*path_and_value):
    """on_content rule that sets content[path...] = value."""
    *path, key, value = path_and_value

    def change(content):
        for part in path:
            content = content[part]
        content[key] = value
    return on_content(change)


def raw_number(key, text):
    """Puts a number literal JSON cannot carry through Python (text) at result[key]."""
    def rewrite(body):
        body["content"]["response"]["result"] = {key: "@@NUMBER@@"}
        return json.dumps(body).replace('"@@NUMBER@@"', text).encode()
    return rewrite


HTML_PAGE = b"<html><body><h1>Welcome to the hotel Wi-Fi</h1></body></html>\n"

# Record rewrites that make the record unreadable: every file of it fails with EBADMSG.
BROKEN_RECORDS = {
    "content-missing": lambda b: {"contents": b["content"]},
    "content-null": lambda b: {"content": None},
    "content-array": lambda b: {"content": [b["content"]]},
    "content-string": lambda b: {"content": "oops"},
    "body-array": lambda b: [b],
    "id-of-another-record": setter("activationId", "0" * 32),
    "id-missing": on_content(lambda c: c.pop("activationId")),
    "logs-object": setter("logs", {"0": "line"}),
    "logs-string": setter("logs", "one line"),
    "duration-not-decimal": setter("duration", "12abc"),
    "duration-float": setter("duration", 1.5),
    "duration-negative": setter("duration", -5),
    "duration-huge": setter("duration", 10 ** 30),
    "start-huge": setter("start", 1e308),
    "end-string-garbage": setter("end", "yesterday"),
    "nul-in-a-string": setter("response", "status", "succ\u0000ess"),
    "deep-nesting": lambda b: json.dumps(b).encode()[:-1] + b',"deep":' + b"[" * 5000
    + b"]" * 5000 + b"}",
    "trailing-garbage": lambda b: json.dumps(b).encode() + b" {\"content\":{}}",
    "html-with-status-200": lambda b: HTML_PAGE,
    "empty-body": lambda b: b"",
}

# Rewrites ncffs(1) tells how to show: every file must hold exactly what the record implies.
LENIENT_RECORDS = {
    "result-string": setter("response", "result", "just text"),
    "result-array": setter("response", "result", [1, "two", None]),
    "result-missing": on_content(lambda c: c["response"].pop("result")),
    "response-array": on_content(lambda c: c.__setitem__("response", [c["response"]])),
    "response-null": setter("response", None),
    "status-number": setter("response", "status", 7),
    "logs-null": setter("logs", None),
    "logs-not-strings": setter("logs", [1, None, {"x": "y"}, ["a"]]),
    "duration-string": setter("duration", "34"),
    "duration-missing": on_content(lambda c: c.pop("duration")),
    "annotations-object": setter("annotations", {"initTime": 5}),
    "unknown-fields": setter("extra", {"nested": [{"deep": True}]}),
}

# Numbers that a JSON double cannot carry: result.json must still say what the API said.
BIG_NUMBERS = {
    "int-above-2^53": "123456789012345678",
    "int-above-2^64": "12345678901234567890",
    "beyond-double-range": "1e400",
}


def record_ops(base):
    return [("read", f"{base}/{f}") for f in FILES] + [("list", base)]


@pytest.mark.parametrize("name", sorted(BROKEN_RECORDS))
def test_unreadable_record_fails_with_ebadmsg(smount, femu, name):
    aid, base = smount.fresh_record()
    ops = record_ops(base)
    smount.proxy.set_rules([(aid, BROKEN_RECORDS[name])])
    other_ops, check_others = smount.others()
    outs = fsops(ops + other_ops)
    for o in outs[:len(ops)]:
        assert o.errno == errno.EBADMSG, o
        assert o.elapsed < fail_bound(attempt_s=0.5), o
    check_others(outs[len(ops):])
    assert smount.proxy.rewritten, "the rule never fired"
    # A malformed body is not a network failure: it is not retried.
    assert len(femu.to(aid)) == len(ops), femu.to(aid)
    smount.proxy.set_rules([])
    healed = fsops(ops[:len(FILES)])
    assert expect_record_files(healed, smount.record(aid)) == len(FILES)


@pytest.mark.parametrize("name", sorted(LENIENT_RECORDS))
def test_odd_but_readable_record_is_served_as_sent(smount, name):
    aid, base = smount.fresh_record()
    sent = LENIENT_RECORDS[name]({"content": copy.deepcopy(smount.record(aid))})["content"]
    smount.proxy.set_rules([(aid, LENIENT_RECORDS[name])])
    ops = record_ops(base)
    other_ops, check_others = smount.others()
    outs = fsops(ops + other_ops)
    check_others(outs[len(ops):])
    outs = outs[:len(ops)]
    assert all(o.ok for o in outs), outs
    assert expect_record_files(outs[:len(FILES)], sent) == len(FILES)
    has_annotations = isinstance(sent.get("annotations"), list)
    assert ("cold_start" in outs[-1].names) == has_annotations, outs[-1].names


@pytest.mark.parametrize("name", sorted(BIG_NUMBERS))
def test_big_numbers_in_a_result_are_not_altered(smount, name):
    aid, base = smount.fresh_record()
    smount.proxy.set_rules([(aid, raw_number("v", BIG_NUMBERS[name]))])
    o = fsop("read", f"{base}/result.json")
    # Either refused (like start/end/duration, which give EBADMSG) or shown as sent.
    if o.ok:
        assert json.loads(o.data) == json.loads('{"v": %s}' % BIG_NUMBERS[name]) \
            and b"null" not in o.data, o.data
    else:
        assert o.errno == errno.EBADMSG, o


# ---- listings ------------------------------------------------------------------------------

INVOICE = r"/actions/invoice/activations\?"
BROKEN_LISTINGS = {
    "activations-object": (INVOICE, setter("activations", {"a": 1})),
    "activations-missing": (INVOICE, on_content(lambda c: c.pop("activations"))),
    "content-string": (INVOICE, lambda b: {"content": "nope"}),
    "content-missing": (INVOICE, lambda b: {}),
    "truncated": (INVOICE, lambda b: json.dumps(b).encode()[:-7]),
    "packages-object": (r"/packages\?", lambda b: {"content": {"packages": b["content"]}}),
}


@pytest.mark.parametrize("name", sorted(BROKEN_LISTINGS))
def test_unreadable_listing_fails_with_ebadmsg(smount, name):
    regex, rule = BROKEN_LISTINGS[name]
    smount.proxy.set_rules([(regex, rule)])
    path = smount.m.p("packages") if "packages" in name else \
        smount.m.p("packages", "billing", "invoice", "activations")
    o = fsop("list", path)
    assert o.errno == errno.EBADMSG, o
    assert smount.proxy.rewritten
    if "packages" not in name:
        smount.check_others()


def test_listing_items_of_the_wrong_type_are_skipped_not_invented(smount, femu):
    ids = femu.ids("billing", "invoice")
    junk = ["abc", 5, None, [ids[0]], {"activationId": 7}, {"activationId": ids[1].upper()},
            {"activationId": ids[2] + "0"}, {"activationId": "../" + ids[3][3:]}]
    smount.proxy.set_rules([(INVOICE, on_content(lambda c: c["activations"].extend(junk)))])
    o = fsop("list", smount.m.p("packages", "billing", "invoice", "activations"))
    assert o.ok and sorted(o.names) == sorted(ids + ["latest"]), o


def test_absurd_total_count_is_ignored(smount, femu):
    smount.proxy.set_rules([(INVOICE, setter("totalCount", 1e300))])
    o = fsop("list", smount.m.p("packages", "billing", "invoice", "activations"))
    assert o.ok and sorted(o.names) == sorted(femu.ids("billing", "invoice") + ["latest"])
    assert len(femu.to("/actions/invoice/activations?")) <= 3


def test_lying_total_count_costs_a_bounded_number_of_requests(smount, femu):
    """5 activations, but the server claims 2500: the pages it implies are empty. One ls must
    not turn into hundreds of requests (here ~500; with totalCount 10^15 it is 10,000)."""
    smount.proxy.set_rules([(INVOICE, setter("totalCount", 2500))])
    o = fsop("list", smount.m.p("packages", "billing", "invoice", "activations"))
    assert o.ok and sorted(o.names) == sorted(femu.ids("billing", "invoice") + ["latest"])
    assert_daemon_healthy(smount.m)
    assert len(femu.to("/actions/invoice/activations?")) <= 10


def test_wrong_shaped_action_definition_fails_only_action_json(smount):
    smount.proxy.set_rules([(r"/actions/invoice\?", lambda b: {"content": [b["content"]]})])
    o = fsop("read", smount.m.p("packages", "billing", "invoice", "action.json"))
    assert o.errno == errno.EBADMSG, o
    ok = fsop("read", smount.m.p("packages", "demo", "hello", "action.json"))
    assert ok.ok and json.loads(ok.data)["name"] == "hello"
    smount.check_others()
