#!/usr/bin/python3
"""plot.py - the benchmark's SVG: cold `grep -r` time against N, for ncffs and the baselines,
cold `rg` and `fdfind` on ncffs, and the request scheduler's scenarios at the N they ran at:
grep behind a gateway that allows 100 requests a second (with its target, 1.15 x requests /
100), and grep at 80 ms latency with the adaptive limit and with the limit pinned at 16.

Scope: given {N: {"ncffs": s, "A": s, "B": s, "rg": s, "fd": s, "rate": s, "rate_bound": s,
"slow": s, "slow16": s}} (None where a figure is missing: the scheduler's run at one N), write
STEM.dat (the numbers, one line per N) and STEM.gp (a gnuplot script that reads STEM.dat and
writes STEM.svg), then run gnuplot on it. `gnuplot STEM.gp` redraws the same SVG by hand.
Both axes are logarithmic: N spans 200 to 20,000 and the times two orders of magnitude.

Left out on purpose: any other plot (bench.py's optional PNG covers every row), fonts or
colours beyond gnuplot's SVG defaults, and other output formats. Needs gnuplot (Debian:
gnuplot-nox); without it write_svg raises PlotError and bench.py only warns.
"""

import shutil
import subprocess
from pathlib import Path

GNUPLOT = "gnuplot"
GNUPLOT_TIMEOUT_S = 60
MISSING = "?"                       # gnuplot's `set datafile missing`

# (key in the points, legend, point type): the columns of STEM.dat after N, in this order.
SERIES = (
    ("ncffs", "ncffs, grep -r (cold mount)", 7),
    ("A", "baseline A: sequential script", 5),
    ("B", "baseline B: script, 8 threads", 9),
    ("rg", "ncffs, rg -l (cold mount)", 11),
    ("fd", "ncffs, fdfind (cold mount)", 13),
    ("rate", "ncffs, grep -r, gateway limit 100 req/s", 4),
    ("rate_bound", "target: 1.15 x requests / 100", 2),
    ("slow", "ncffs, grep -r, 80 ms latency, adaptive limit", 6),
    ("slow16", "the same, limit pinned at 16", 8),
)
# Series whose points carry their value as a label: rg and fd lie on ncffs's grep, and their
# labels would cover its own; the scheduler's points sit close to each other and to the
# baselines (README.md's table has their figures).
LABELLED = ("ncffs", "A", "B")

SCRIPT = """\
# Written by tests/bench/plot.py; `gnuplot {gp}` redraws {svg}.
set terminal svg size 800,600 dynamic enhanced font "sans,12" background rgb "white"
set output "{svg}"
set title "{title}"
set datafile missing "{missing}"
set logscale xy
set xlabel "activations of the action (N)" offset 0,0.6
set linetype 9 lc rgb "#a0522d"
set ylabel "wall time, seconds"
set xtics ({xtics})
set xrange [{xmin}:{xmax}]
set grid xtics ytics
set key below box maxrows 5 font ",10"
plot {plots}
"""


class PlotError(Exception):
    """The SVG could not be written (no gnuplot, gnuplot failed, nothing to plot)."""


def data_lines(points):
    """-> the lines of STEM.dat: a comment header, then `N ncffs A B rg fd rate rate_bound
    slow slow16` per N, ascending."""
    lines = ["# N " + " ".join(key for key, _, _ in SERIES)]
    for n in sorted(points):
        values = [points[n].get(key) for key, _, _ in SERIES]
        lines.append(" ".join([str(n)] + [MISSING if v is None else f"{v:.4f}"
                                         for v in values]))
    return lines


def script_text(stem, sizes, title):
    """The gnuplot script; paths are relative to STEM's directory (gnuplot runs there)."""
    dat, svg = f"{stem.name}.dat", f"{stem.name}.svg"
    lines = [f'"{dat}" using 1:{column} with linespoints lt {column - 1} pt {pt} ps 1.2 lw 2 '
             f'title "{legend}"' for column, (_, legend, pt) in enumerate(SERIES, start=2)]
    labels = [f'"{dat}" using 1:{column}:(sprintf("%.3g s", ${column})) with labels left '
              f'offset char 1,-0.8 textcolor lt {column - 1} notitle'
              for column, (key, _, _) in enumerate(SERIES, start=2) if key in LABELLED]
    plots = ", \\\n     ".join(lines + labels)
    return SCRIPT.format(gp=f"{stem.name}.gp", svg=svg, title=title.replace('"', "'"),
                         missing=MISSING, xtics=", ".join(f'"{n:,}" {n}' for n in sizes),
                         xmin=min(sizes) / 2, xmax=max(sizes) * 2, plots=plots)


def write_svg(stem, points, title):
    """Write STEM.dat, STEM.gp and STEM.svg (stem: a Path without suffix); -> the SVG path.
    Raises PlotError when there is nothing to plot or gnuplot is missing or fails."""
    sizes = sorted(n for n, values in points.items() if any(v for v in values.values()))
    if not sizes:
        raise PlotError("no cold grep figure to plot")
    if shutil.which(GNUPLOT) is None:
        raise PlotError(f"{GNUPLOT} not found (Debian: apt-get install gnuplot-nox, or "
                        f"make deps)")
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    stem.with_suffix(".dat").write_text("\n".join(data_lines(points)) + "\n", encoding="utf-8")
    gp = stem.with_suffix(".gp")
    gp.write_text(script_text(stem, sizes, title), encoding="utf-8")
    try:
        result = subprocess.run([GNUPLOT, gp.name], cwd=stem.parent, capture_output=True,
                                stdin=subprocess.DEVNULL, timeout=GNUPLOT_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise PlotError(f"{GNUPLOT}: {err}") from err
    svg = stem.with_suffix(".svg")
    if result.returncode or not svg.exists():
        raise PlotError(f"{GNUPLOT} {gp} exited {result.returncode}: "
                        f"{result.stderr.decode(errors='replace').strip()[:300]}")
    return svg
