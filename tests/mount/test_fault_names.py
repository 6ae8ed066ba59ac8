"""Names typed by a user (or a script) that no Cloud Functions name could be: percent
escapes, query and fragment characters, dots, blanks, non-ASCII, over-long names. Each is
ENOENT at every level of the tree, costs no request at all, and no request ncffs ever sends
carries one of them: every target in the emulator's log is a plain, well-formed API path.
"""

import errno
import re

from conftest import run
from fault_support import *  # noqa: F401,F403 (fixtures and helpers)

HOSTILE = [
    "%2F", "%2f", "a%2Fb", "..%2F..%2Fetc", "%2e%2e", "%2E%2E%2Fpackages", "%00", "%",
    "?", "a?b=1", "demo?platform=vpc", "a&pageNo=2", "#", "a#b", "#frag",
    "...", "a..b", ".hidden", "a.b", "a b", " ", " demo", "demo ", "a\tb", "a\\b", "a;b",
    "a:b", "a@b", "a+b", "a=b", "a\"b", "a'b", "a<b>", "a|b", "*", "[x]", "{x}", "~",
    "ünï", "名前", "emoji\U0001F600", "caf\u00e9", "\u200bdemo",
    "-leading", "-" * 2, "x" * 51, "x" * 255,
]
HOSTILE_IDS = ["A" * 32, "0" * 31, "0" * 33, "g" * 32, "0" * 31 + "G", "0" * 31 + " ",
               "0" * 30 + "%2F", "0" * 32 + ".json"] + HOSTILE
HOSTILE_FILES = ["status%2F", "status ", "STATUS", "result", "../status", "logs.txt?x=1",
                 "activation.json#", "status\u00a0"] + HOSTILE[:10]

# What every request target must look like: the base path, names of the API's alphabet,
# and the query ncffs builds itself.
TARGET_RE = re.compile(r"/api/v2(/[A-Za-z0-9_][A-Za-z0-9_-]{0,49}|/-)*"
                       r"\?platform=classic(&pageNo=\d+&pageSize=\d+)?")


def lookups(m, aid):
    """(path, place) for every hostile name at every level of the tree."""
    hello = ("packages", "demo", "hello")
    places = {
        "package": [("packages", n) for n in HOSTILE],
        "action": [("packages", "demo", n) for n in HOSTILE],
        "activation": [(*hello, "activations", n) for n in HOSTILE_IDS],
        "failed": [(*hello, "failed", n) for n in HOSTILE_IDS[:8]],
        "file": [(*hello, "activations", aid, n) for n in HOSTILE_FILES],
        "trigger": [("triggers", n) for n in HOSTILE],
        "trigger-activation": [("triggers", "tick", "activations", n) for n in HOSTILE_IDS[:8]],
    }
    return [(m.p(*parts), place) for place, items in places.items() for parts in items]


def test_hostile_names_are_enoent_and_cost_no_request(fmount, femu):
    m = fmount()
    aid = femu.ids("demo", "hello")[5]
    warm = fsops([("list", m.p("packages")), ("list", m.p("packages", "demo")),
                  ("list", m.p("packages", "demo", "hello", "activations", aid)),
                  ("list", m.p("packages", "demo", "hello", "activations")),
                  ("list", m.p("packages", "demo", "hello", "failed")),
                  ("list", m.p("triggers")), ("list", m.p("triggers", "tick", "activations"))])
    assert all(o.ok for o in warm), warm
    everything = femu.requests()
    femu.reset()
    paths = lookups(m, aid)
    outs = fsops([("lstat", p) for p, _ in paths])
    for o, (_, place) in zip(outs, paths):
        assert o.errno == errno.ENOENT, (place, o)
    femu.settle()
    assert femu.requests() == [], femu.requests()
    # Dots are the kernel's business: they never reach ncffs, let alone the API.
    for dotted, plain in ((m.p("packages", "demo", "..", "demo"), m.p("packages", "demo")),
                          (m.p("packages", "demo", "hello", "."),
                           m.p("packages", "demo", "hello"))):
        a, b = fsops([("stat", dotted), ("stat", plain)])
        assert a.ok and b.ok and a.size == b.size
    # Real programs say "No such file or directory", and nothing else happened.
    for parts in (("packages", "a b"), ("packages", "demo", "hello", "activations", "%2F")):
        result = run(["cat", m.p(*parts, "status")])
        assert result.returncode == 1 and b"No such file or directory" in result.stderr
    everything += femu.requests()
    bad = [r["target"] for r in everything if not TARGET_RE.fullmatch(r["target"])]
    assert not bad, bad
    assert_daemon_healthy(m)


def test_names_too_long_for_fuse_are_refused_by_the_kernel(fmount, femu):
    m = fmount()
    for name in ("x" * 300, "x" * 1025, "%2F" * 400):
        o = fsop("lstat", m.p("packages", "demo", name))
        assert o.errno in (errno.ENOENT, errno.ENAMETOOLONG), o
    femu.settle()
    assert not [r for r in femu.requests() if "xxx" in r["target"] or "%2F" in r["target"]]
    assert_daemon_healthy(m)


def test_valid_but_unknown_names_cost_at_most_a_listing(fmount, femu):
    """The boundary: a 50-character name of the right alphabet is a real question for the
    API (answered from the package listing, then remembered), a 51-character one is not."""
    m = fmount()
    assert fsop("list", m.p("packages", "demo")).ok
    femu.reset()
    assert fsop("lstat", m.p("packages", "demo", "y" * 50)).errno == errno.ENOENT
    assert fsop("lstat", m.p("packages", "demo", "y" * 51)).errno == errno.ENOENT
    assert fsop("lstat", m.p("packages", "nosuchpackage")).errno == errno.ENOENT
    femu.settle()
    assert all(TARGET_RE.fullmatch(r["target"]) for r in femu.requests()), femu.requests()
    assert not [r for r in femu.requests() if "y" * 50 in r["target"]]
    assert_daemon_healthy(m)
