"""fleet.py - bench.py's fleet part (issue 20): many hosts of one account, one Redis.

A simulated fleet on this machine: FLEET_HOSTS mounts of the same account (that many daemons
and mount points, each with no disk cache, as separate hosts would have no shared disk), all
live, then `grep -r ERROR activations/` on every one at once over the same N records:

  * without Redis: each host fetches every record (FLEET_HOSTS x N record requests);
  * with one Redis (a fresh redis-server on a loopback port, -o cache_url=): the target is at
    most N + 5 % record requests in total, and the fleet's wall time is compared with the run
    without Redis;
  * Redis killed (SIGKILL) in the middle of a run with a fresh Redis: every grep must still
    print exactly what the run without Redis printed;
  * one value altered in Redis (redis-cli SETRANGE) after a full run: one more mount reads
    the right bytes (from the API) and counts one rejected entry.

Every grep's output is compared with the first host's output of the run without Redis.
bench.py passes its helpers in (`tools`), so that this file has no copy of them. Python 3
standard library only; redis-server and redis-cli from Debian's redis-server package.
"""

import contextlib
import re
import shutil
import signal
import socket
import subprocess
import time

FLEET_HOSTS = 8
FLEET_N = 2000
FLEET_SLACK = 0.05                  # target: records <= N * (1 + FLEET_SLACK) with Redis
FLEET_OPTIONS = "cache_size=64,cache_dir=none"
REDIS_START_S = 10
STORES_WAIT_S = 60
KILL_AFTER_FRACTION = 0.25          # kill Redis once this share of the records is in it


class Redis:
    """redis-server on a free loopback port, no persistence."""

    def __init__(self, host, folder, tools):
        self.host = host
        self.tools = tools
        with socket.socket() as s:
            s.bind((host, 0))
            self.port = s.getsockname()[1]
        argv = ["redis-server", "--port", str(self.port), "--bind", host, "--save", "",
                "--appendonly", "no", "--dir", str(folder)]
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + REDIS_START_S
        while self.cli("PING") != "PONG":
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise tools.BenchError("redis-server did not start")
            time.sleep(0.02)

    def cli(self, *args):
        result = subprocess.run(["redis-cli", "-h", self.host, "-p", str(self.port), *args],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        return result.stdout.decode(errors="replace").strip()

    def url(self):
        return f"redis://{self.host}:{self.port}"

    def dbsize(self):
        text = self.cli("DBSIZE")
        return int(text) if text.isdigit() else 0

    def kill(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()


def redis_stats(mount):
    text = (mount.path / ".ncffs-stats").read_text()
    return {k: v for k, v in re.findall(r"^(redis_\w+) (\S+)$", text, re.M)}


def wait_stores_done(mounts, tools):
    """Until every mount's background stores are over (stored or dropped)."""
    deadline = time.monotonic() + STORES_WAIT_S
    while any(int(redis_stats(m).get("redis_pending", 0)) for m in mounts):
        if time.monotonic() > deadline:
            raise tools.BenchError("the Redis stores never finished")
        time.sleep(0.05)


def fleet_run(ctx, tools, label, options, hosts, during=None):
    """hosts live mounts, then grep on all at once. during(mounts) runs while the greps do.
    -> (wall s, request counts, [sorted output lines per host], [redis stats per host])."""
    with contextlib.ExitStack() as stack:
        mounts = [stack.enter_context(tools.fresh_mount(ctx, f"{label}-{i}", options))
                  for i in range(hosts)]
        ctx.emulator.settle()
        ctx.emulator.reset()
        start = time.perf_counter()
        procs = [subprocess.Popen(tools.GREP, cwd=tools.action_dir(m), env=ctx.env,
                                  stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE) for m in mounts]
        try:
            if during:
                during(mounts)
            outputs = [p.communicate(timeout=tools.COMMAND_TIMEOUT_S) for p in procs]
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
                    p.wait()
        wall = time.perf_counter() - start
        failed = [p.returncode for p in procs if p.returncode not in (0, 1)]
        if failed:
            raise tools.BenchError(f"{label}: grep exited {failed}: {outputs[0][1][:300]!r}")
        counts = tools.classify(ctx.emulator.settle())
        if "cache_url=" in options and during is None:
            wait_stores_done(mounts, tools)
        stats = [redis_stats(m) for m in mounts]
    return wall, counts, [sorted(o.splitlines()) for o, _ in outputs], stats


def kill_when_filled(redis, n, tools):
    def during(mounts):
        deadline = time.monotonic() + tools.COMMAND_TIMEOUT_S
        while redis.dbsize() < n * KILL_AFTER_FRACTION:
            if time.monotonic() > deadline:
                raise tools.BenchError("Redis never filled before the kill")
            time.sleep(0.01)
        redis.kill()
    return during


def total(stats, key):
    return sum(int(s.get(key, 0)) for s in stats)


def bench_fleet(ctx, tools, n, hosts):
    """-> (rows, [(ok, text)] target lines)."""
    for tool in ("redis-server", "redis-cli"):
        if shutil.which(tool) is None:
            raise tools.BenchError(f"{tool} is needed for the fleet part (Debian: redis-server;"
                                   f" make deps)")
    tools.log(f"== fleet: {hosts} mounts x {n} records: starting the emulator")
    workdir = ctx.work / "emulator-fleet"
    workdir.mkdir()
    ctx.emulator = tools.Emulator(workdir, n, ctx.latency_ms, ctx.nodelay, ctx.env)
    servers = []

    def redis():
        folder = ctx.work / f"redis-{len(servers)}"
        folder.mkdir()
        servers.append(Redis(tools.HOST, folder, tools))
        return servers[-1]
    try:
        tools.log(f"   fleet: {hosts} mounts without Redis ...")
        plain_wall, plain, plain_out, _ = fleet_run(ctx, tools, "fleet-plain", FLEET_OPTIONS,
                                                    hosts)
        want = plain_out[0]
        server = redis()
        shared_opts = f"{FLEET_OPTIONS},cache_url={server.url()}"
        tools.log(f"   fleet: {hosts} mounts, one Redis ...")
        wall, shared, shared_out, stats = fleet_run(ctx, tools, "fleet-redis", shared_opts,
                                                    hosts)

        tools.log("   fleet: one value altered in Redis, one more mount ...")
        victim = server.cli("RANDOMKEY")
        size = int(server.cli("STRLEN", victim))
        server.cli("SETRANGE", victim, str(size // 2), "X")
        _, altered, altered_out, altered_stats = fleet_run(ctx, tools, "fleet-altered",
                                                           shared_opts, 1)
        server.kill()

        tools.log("   fleet: Redis killed mid-run ...")
        doomed = redis()
        _, _, killed_out, killed_stats = fleet_run(
            ctx, tools, "fleet-killed", f"{FLEET_OPTIONS},cache_url={doomed.url()}", hosts,
            during=kill_when_filled(doomed, n, tools))
    finally:
        for s in servers:
            s.kill()
        ctx.emulator.stop()
        ctx.emulator = None

    rows = [tools.row(f"fleet: {hosts} mounts grep at once, no Redis", n, plain_wall, plain),
            tools.row(f"fleet: {hosts} mounts grep at once, one Redis", n, wall, shared,
                      note=f"redis hits {total(stats, 'redis_hits')}, stores "
                           f"{total(stats, 'redis_stores')}, waits "
                           f"{total(stats, 'redis_waits')}")]
    limit = int(n * (1 + FLEET_SLACK))
    lines = [
        (plain["record"] == hosts * n,
         f"fleet: without Redis, {hosts} x {n} = {hosts * n} record requests: "
         f"{plain['record']} ({plain_wall:.2f} s)"),
        (shared["record"] <= limit,
         f"fleet: with one Redis, record requests <= {limit}: {shared['record']} "
         f"({wall:.2f} s vs {plain_wall:.2f} s without Redis, "
         f"{tools.fmt_ratio(tools.ratio(plain_wall, wall))}x)"),
        (all(o == want for o in plain_out + shared_out),
         f"fleet: every grep printed the same {len(want)} lines, with Redis and without"),
        (all(o == want for o in killed_out),
         f"fleet: Redis killed mid-run: every one of {hosts} greps right "
         f"(breaker trips {total(killed_stats, 'redis_breaker_trips')}, "
         f"hits before the kill {total(killed_stats, 'redis_hits')})"),
        (altered_out[0] == want and altered["record"] == 1 and
         total(altered_stats, "redis_rejected") == 1,
         f"fleet: one value altered in Redis: right output, {altered['record']} record "
         f"request, {total(altered_stats, 'redis_rejected')} rejected entry"),
    ]
    return rows, lines
