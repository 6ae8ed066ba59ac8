#!/usr/bin/python3
"""baseline.py - what the NCP Cloud Functions API docs lead a user to write for "grep my logs".

Scope: list every activation of one action page by page (pageSize=100, until totalCount ids
were seen), GET every record, write each record's logs to <out>/<id>.log, then grep those
files for a word and print the hits as `path:line`, like `grep -r` would. Every request is
signed with the API Gateway signature v2 (HMAC-SHA256 over "GET {target}\\n{ts}\\n{key}").
With --parallel N the records (and the list pages after the first) are fetched by N threads.

It is the yardstick of tests/bench/bench.py, so it is deliberately a plain, reasonable user
script: urllib.request (a new connection per request), no cache, no retries (any error aborts
with a non-zero exit status).

Left out on purpose: TLS options, retries/backoff, time filters (start/end), trigger
activations. Python 3 standard library only.
"""

import argparse
import base64
import concurrent.futures
import hashlib
import hmac
import http.client
import json
import os
import shutil
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

PAGE_SIZE = 100                 # what ncffs asks for too (pageSize has no documented maximum)
TIMEOUT_S = 30                  # per request
MAX_PAGES = 100_000             # a server that never reaches totalCount must not loop forever


class ApiError(Exception):
    pass


def signature(secret, method, target, timestamp, access_key):
    """Base64(HMAC-SHA256(secret, "METHOD target\\ntimestamp\\naccess_key"))."""
    message = f"{method} {target}\n{timestamp}\n{access_key}".encode("utf-8")
    return base64.b64encode(hmac.new(secret.encode("utf-8"), message,
                                     hashlib.sha256).digest()).decode("ascii")


class Api:
    """Signed GETs against one base URL, with urllib.request as the docs' examples would: a
    new connection per request, and never a proxy (the benchmark is loopback only)."""

    def __init__(self, endpoint, access_key, secret_key, platform):
        url = urllib.parse.urlsplit(endpoint)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ApiError(f"bad endpoint {endpoint!r}")
        self.origin = f"{url.scheme}://{url.netloc}"
        self.base = url.path.rstrip("/")
        self.access_key, self.secret_key, self.platform = access_key, secret_key, platform
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def get(self, path, **query):
        """GET base+path?platform=..&query (signed over the exact bytes sent); -> content."""
        params = [("platform", self.platform)] + [(k, str(v)) for k, v in query.items()]
        target = f"{self.base}{path}?{urllib.parse.urlencode(params)}"
        stamp = str(int(time.time() * 1000))
        headers = {"x-ncp-apigw-timestamp": stamp,
                   "x-ncp-iam-access-key": self.access_key,
                   "x-ncp-apigw-signature-v2": signature(self.secret_key, "GET", target,
                                                         stamp, self.access_key)}
        request = urllib.request.Request(self.origin + target, headers=headers)
        try:
            with self.opener.open(request, timeout=TIMEOUT_S) as resp:
                body = resp.read()
        except urllib.error.HTTPError as err:
            raise ApiError(f"GET {target}: HTTP {err.code}: {err.read()[:300]!r}") from err
        except (OSError, http.client.HTTPException) as err:
            raise ApiError(f"GET {target}: {err}") from err
        return json.loads(body)["content"]


def quote(name):
    return urllib.parse.quote(name, safe="")


def list_page(api, prefix, page_no):
    content = api.get(f"{prefix}/activations", pageNo=page_no, pageSize=PAGE_SIZE)
    ids = [a["activationId"] for a in content.get("activations", [])]
    return ids, int(content.get("totalCount", 0))


def list_ids_sequential(api, prefix):
    """Page 1, 2, ... until totalCount ids were seen (or a page comes back empty)."""
    ids, total, page_no = [], None, 1
    while page_no <= MAX_PAGES:
        page, total = list_page(api, prefix, page_no)
        ids.extend(page)
        if not page or len(ids) >= total:
            break
        page_no += 1
    return ids


def list_ids_parallel(api, prefix, pool):
    """Page 1 tells totalCount and the page size the server really used; the rest in parallel."""
    ids, total = list_page(api, prefix, 1)
    if not ids or len(ids) >= total:
        return ids
    pages = min(MAX_PAGES, -(-total // len(ids)))
    for page, _ in pool.map(lambda n: list_page(api, prefix, n), range(2, pages + 1)):
        ids.extend(page)
    return ids


def save_logs(api, prefix, out_dir, activation):
    record = api.get(f"{prefix}/activations/{quote(activation)}")
    path = os.path.join(out_dir, f"{activation}.log")
    with open(path, "w", encoding="utf-8") as f:
        f.write("".join(f"{line}\n" for line in record.get("logs", [])))
    return path


def grep(paths, word, stream):
    """Print `path:line` for every line containing word; -> the number of hits."""
    hits = 0
    for path in sorted(paths):
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                if word in line:
                    stream.write(f"{path}:{line}")
                    hits += 1
    return hits


def fetch_all(api, prefix, out_dir, parallel):
    if parallel <= 1:
        ids = list_ids_sequential(api, prefix)
        return ids, [save_logs(api, prefix, out_dir, a) for a in ids]
    with concurrent.futures.ThreadPoolExecutor(max_workers=parallel) as pool:
        ids = list_ids_parallel(api, prefix, pool)
        return ids, list(pool.map(lambda a: save_logs(api, prefix, out_dir, a), ids))


def parse_args(argv):
    p = argparse.ArgumentParser(description="List, fetch and grep activation logs the "
                                            "plain way (the ncffs benchmark's baseline).")
    p.add_argument("--endpoint", required=True, help="base URL, e.g. http://127.0.0.1:PORT/api/v2")
    p.add_argument("--package", default="bench")
    p.add_argument("--action", default="load")
    p.add_argument("--platform", default="classic")
    p.add_argument("--parallel", type=int, default=1, help="requests in flight (default 1)")
    p.add_argument("--word", default="ERROR")
    p.add_argument("--out", help="directory for the log files (default: a temporary one, "
                                 "removed afterwards)")
    args = p.parse_args(argv)
    if args.parallel < 1:
        p.error("--parallel must be at least 1")
    return args


def credentials():
    access = os.environ.get("NCLOUD_ACCESS_KEY_ID") or os.environ.get("NCLOUD_ACCESS_KEY")
    secret = os.environ.get("NCLOUD_SECRET_ACCESS_KEY") or os.environ.get("NCLOUD_SECRET_KEY")
    if not access or not secret:
        raise ApiError("set NCLOUD_ACCESS_KEY_ID and NCLOUD_SECRET_ACCESS_KEY")
    return access, secret


def main(argv=None):
    args = parse_args(argv)
    out_dir = args.out or tempfile.mkdtemp(prefix="ncf-baseline-")
    try:
        api = Api(args.endpoint, *credentials(), args.platform)
        os.makedirs(out_dir, exist_ok=True)
        prefix = f"/packages/{quote(args.package)}/actions/{quote(args.action)}"
        ids, paths = fetch_all(api, prefix, out_dir, args.parallel)
        hits = grep(paths, args.word, sys.stdout)
        sys.stdout.flush()
        print(f"baseline: {len(ids)} activations, {hits} lines with {args.word!r}",
              file=sys.stderr)
        return 0
    except (ApiError, OSError, ValueError, KeyError) as err:
        print(f"baseline: {err}", file=sys.stderr)
        return 1
    finally:
        if not args.out:
            shutil.rmtree(out_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
