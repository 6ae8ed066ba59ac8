"""The benchmark plot's data (tests/bench/plot.py fed by bench.grep_points): the request
scheduler's greps (issue 17) sit on the line of the N they ran at, next to the grep comparison,
from one list order only; "?" wherever a series has no figure; the cat beside a readahead is no
point of a grep-over-N plot. No gnuplot needed."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

import bench  # noqa: E402
import plot  # noqa: E402


def sched(scenario, n, wall, calls=None, order="newest-first"):
    r = bench.row(scenario, n, wall, order=order, part="sched")
    r["api_calls"] = calls
    return r


def columns(lines):
    keys = lines[0].lstrip("# ").split()[1:]
    return {int(line.split()[0]): dict(zip(keys, line.split()[1:])) for line in lines[1:]}


def test_the_schedulers_greps_are_points_at_their_n_from_one_order():
    rows = [bench.row("grep -r ERROR (cold)", 200, 0.5), bench.row("baseline A", 2000, 45.0),
            sched("sched: grep -r, gateway at 100/s", 2000, 22.3, 2073),
            sched("sched: grep -r, 80 ms, limit adaptive", 2000, 5.29),
            sched("sched: grep -r, 80 ms, limit fixed 16", 2000, 11.22),
            sched("sched: grep -r, gateway at 100/s", 2000, 99.0, 9999, "oldest-first"),
            sched("sched: the same cat during a readahead", 20000, 0.2)]
    table = columns(plot.data_lines(bench.grep_points(rows, [200, 2000])))
    assert sorted(table) == [200, 2000]                   # no line for the cat's 20,000
    assert table[200] == {"ncffs": "0.5000", "A": "?", "B": "?", "rg": "?", "fd": "?",
                          "rate": "?", "rate_bound": "?", "slow": "?", "slow16": "?"}
    assert table[2000]["A"] == "45.0000" and table[2000]["ncffs"] == "?"
    assert table[2000]["rate"] == "22.3000"               # newest-first, not the other order
    assert table[2000]["rate_bound"] == f"{bench.SCHED_RATE_SLACK * 2073 / bench.SCHED_RATE:.4f}"
    assert (table[2000]["slow"], table[2000]["slow16"]) == ("5.2900", "11.2200")


def test_only_one_order_run_is_plotted_as_it_is():
    rows = [sched("sched: grep -r, gateway at 100/s", 2000, 30.0, 2100, "oldest-first")]
    assert bench.sched_points(rows) == {2000: {"rate": 30.0, "rate_bound": 1.15 * 2100 / 100}}


def test_the_script_draws_every_series_with_its_legend(tmp_path):
    text = plot.script_text(tmp_path / "grep_vs_n", [200, 2000], "title")
    assert 'set datafile missing "?"' in text
    for column, (_, legend, _) in enumerate(plot.SERIES, start=2):
        assert f'using 1:{column} with linespoints' in text and f'title "{legend}"' in text
