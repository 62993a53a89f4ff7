"""Latency against load: p50 and p99 of registrations (bench/results-intake.json, closed loop at 1, 8 and 32
clients) and of redemptions (bench/results-scale.json) against the throughput each level achieved, with the
number of clients beside each point.

    python bench/plot.py [--out bench/latency-vs-load.png]   (needs the `bench` extra: matplotlib)
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402

HERE = Path(__file__).resolve().parent


def series(path: Path, key: str) -> list[dict]:
    """[{clients, rate, p50_ms, p99_ms}] of one benchmark's closed-loop levels; [] if it has not been run."""
    if not path.exists():
        return []
    data = json.loads(path.read_text())
    rows = data.get(key) or []
    return [r["http"] if "http" in r else r for r in rows]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(HERE / "latency-vs-load.png"))
    args = parser.parse_args()
    lines = {
        "registrations (POST /api/v1/cases)": (series(HERE / "results-intake.json", "registrations"), "tab:blue"),
        "redemptions (POST /api/v1/redemptions)": (series(HERE / "results-scale.json", "redemptions"), "tab:red"),
    }
    fig, ax = plt.subplots(figsize=(9, 5.5), dpi=120)
    for label, (levels, colour) in lines.items():
        if not levels:
            continue
        rates = [lv["rate"] for lv in levels]
        ax.plot(rates, [lv["p50_ms"] for lv in levels], "o-", color=colour, label=f"{label}, p50")
        ax.plot(rates, [lv["p99_ms"] for lv in levels], "s--", color=colour, alpha=0.7, label=f"{label}, p99")
        for lv in levels:
            ax.annotate(f"{lv['clients']} cl.", (lv["rate"], lv["p99_ms"]), textcoords="offset points",
                        xytext=(6, 4), fontsize=8, color=colour)  # fmt: skip
    ax.set_yscale("log")
    ax.set_xlabel("throughput achieved (requests/s), closed loop; label = concurrent clients")
    ax.set_ylabel("latency (ms, log scale)")
    ax.set_title("Latency against load through the gateway (2-core machine, everything on it)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="center")
    fig.tight_layout()
    fig.savefig(args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
