#!/usr/bin/python3
"""What an interactive look at activations/ costs (issue 19): `ls --color` (Debian's alias),
`fd`, a file manager (mc, and a GIO walk as Nautilus makes it), `du`, against the cheap ways to
the same answers (recent/, days/<day>/, activations.tsv).

Each look gets a fresh mount over one emulator (bench/load with N activations spread over 10
days, --latency-ms per request); the action directory is looked up first, then the request log
is reset, the command runs, and the log is read once no request arrived for a while (so the
readahead a look starts is counted with it). Prints a Markdown table: requests (list pages +
records), wall time of the command.

    /usr/bin/python3 tests/bench/looks.py [--n 2000] [--latency-ms 20] [--ncffs ./ncffs]

Needs fdfind (fd-find), mc and tmux, gio (libglib2.0-bin); a look whose program is missing is
reported as such. Reuses bench.py's emulator and mount helpers; standard library only."""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402  (the emulator, mounts and request classes of make bench)

TMUX_SOCKET = "ncffs-looks"
FIRST_REQUEST_TIMEOUT_S = 10        # an interactive program has started to look by then
DAY_AGE_DAYS = 2                    # days/<the local date 2 days ago>: a whole day of runs

# A file manager showing activations/ in a list view, as Nautilus does through GIO: every
# entry's type, size and time, then each subdirectory's item count for the "Size" column.
GIO_WALK = ('gio list -a standard::content-type,standard::size,time::modified . >/dev/null && '
            'for d in */; do gio list "$d" | wc -l; done >/dev/null')

# (key, what the README calls it, shell command run in the action directory); "mc" is special.
LOOKS = (
    ("ls", "`ls activations/`", "ls activations/ >/dev/null"),
    ("ls-color", "`ls --color activations/` (Debian's `alias ls='ls --color=auto'`)",
     'eval "$(dircolors -b)"; ls --color=always activations/ >/dev/null'),
    ("fd", "`fd status activations/` (fd-find)", "fdfind status activations/ >/dev/null"),
    ("mc", "`mc activations/` (Midnight Commander shows the directory)", None),
    ("gio", "a file manager's list view via GIO (types, sizes, item counts)",
     "cd activations && " + GIO_WALK),
    ("ls-l", "`ls -l activations/`", "ls -l activations/ >/dev/null"),
    ("du", "`du -sh activations/`", "du -sh activations/ >/dev/null"),
    ("recent", "`ls recent/` (the newest 20)", "ls recent/ >/dev/null"),
    ("day", "`ls days/<a day>/`", "ls days/$DAY/ >/dev/null"),
    ("tsv", "`sort -t$'\\t' -k4 -n activations.tsv | tail -n 3`",
     "sort -t\"$(printf '\\t')\" -k4 -n activations.tsv | tail -n 3 >/dev/null"),
)
NEEDS = {"fd": "fdfind", "mc": "mc", "gio": "gio", "du": "du"}


def run_mc(action_dir, env, emulator):
    """mc in a private tmux server until it has looked and the log went quiet."""
    tmux = ["tmux", "-L", TMUX_SOCKET, "-f", "/dev/null"]
    subprocess.run(tmux + ["new-session", "-d", "-x", "160", "-y", "50",
                           f"mc --nosubshell --nocolor {action_dir}/activations "
                           f"{action_dir}/activations"], env=dict(env, TERM="xterm"),
                   check=True)
    try:
        deadline = time.monotonic() + FIRST_REQUEST_TIMEOUT_S
        while not emulator.requests() and time.monotonic() < deadline:
            time.sleep(0.05)
        return emulator.settle()
    finally:
        subprocess.run(tmux + ["kill-server"], capture_output=True)


def measure(ctx, key, command):
    with bench.fresh_mount(ctx, key, prewalk=True) as mount:
        action_dir = bench.action_dir(mount)
        env = dict(ctx.env, DAY=ctx.day)
        start = time.monotonic()
        if key == "mc":
            log = run_mc(action_dir, env, ctx.emulator)
            wall = None                 # interactive: no end to time
        else:
            subprocess.run(["sh", "-c", command], cwd=action_dir, env=env, check=True,
                           timeout=bench.COMMAND_TIMEOUT_S)
            wall = time.monotonic() - start
            log = ctx.emulator.settle()
        return bench.classify(log), wall


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=2000, help="activations of bench/load")
    p.add_argument("--latency-ms", type=int, default=20)
    p.add_argument("--ncffs", default=str(bench.DEFAULT_NCFFS))
    p.add_argument("--only", default="", help="comma-separated look keys")
    args = p.parse_args()
    only = set(filter(None, args.only.split(",")))
    with tempfile.TemporaryDirectory(prefix="ncffs-looks-") as work:
        ctx = argparse.Namespace(work=Path(work), ncffs=Path(args.ncffs), warn=print,
                                 env=bench.child_env(Path(work)))
        ctx.emulator = bench.Emulator(ctx.work, args.n, args.latency_ms, False, ctx.env,
                                      ("--spread-days", str(bench.SCALE_SPREAD_DAYS)))
        ctx.day = time.strftime("%Y-%m-%d", time.localtime(time.time() - DAY_AGE_DAYS * 86400))
        try:
            print(f"N={args.n} over {bench.SCALE_SPREAD_DAYS} days, {args.latency_ms} ms "
                  f"latency, fresh mount per look\n")
            print("| what the user does | requests (list pages + records) | wall |")
            print("|---|---|---|")
            for key, label, command in LOOKS:
                if only and key not in only:
                    continue
                if key in NEEDS and not shutil.which(NEEDS[key]):
                    print(f"| {label} | ({NEEDS[key]} not installed) | |")
                    continue
                counts, wall = measure(ctx, key, command)
                shown = "–" if wall is None else f"{wall:.2f} s"
                print(f"| {label} | {counts['list']} + {counts['record']}"
                      f"{'' if counts['other'] == 0 else ' + %d other' % counts['other']}"
                      f" | {shown} |", flush=True)
        finally:
            ctx.emulator.stop()


if __name__ == "__main__":
    main()
