"""Every benchmark's ``ratios`` in one table: runs each other script of benchmarks/ in a subprocess.

Each script prints JSON with a top-level ``ratios`` object, name -> {"value", "goal", "against"},
higher is better. The scripts run one at a time, under the current environment (DISPLAY included:
``make bench`` wraps this in xvfb-run). A script that fails, times out or prints no JSON is one line
saying so; the exit status is 0 unless every script failed.

    python benchmarks/summary.py [--quick] [--json] [--only NAME ...] [--save DIR]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def benchmark_scripts(folder: Path) -> dict[str, Path]:
    """The benchmark scripts of ``folder`` by name (file stem), this one left out."""
    mine = Path(__file__).name
    return {p.stem: p for p in sorted(folder.glob("*.py")) if p.name != mine and p.stem != "__init__"}


def parse_json(stdout: str) -> dict[str, Any] | None:
    """The JSON object a script printed: the whole output, else the last object starting a line."""
    text = stdout.strip()
    try:
        whole = json.loads(text)
        return whole if isinstance(whole, dict) else None
    except ValueError:
        pass
    lines = text.splitlines()
    decoder = json.JSONDecoder()
    for start in reversed([k for k, line in enumerate(lines) if line.startswith("{")]):
        try:
            found, _ = decoder.raw_decode("\n".join(lines[start:]))
        except ValueError:
            continue
        if isinstance(found, dict):
            return found
    return None


def check_ratios(raw: object) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """The well-formed ratios, each with ``met``, and one problem line per malformed entry."""
    ratios: dict[str, dict[str, Any]] = {}
    problems: list[str] = []
    if not isinstance(raw, dict):
        return ratios, ["no ratios object in its JSON"]
    for name, entry in raw.items():
        try:
            value, goal = float(entry["value"]), float(entry["goal"])
            against = str(entry["against"])
        except (TypeError, KeyError, ValueError):
            problems.append(f"ratio {name!r} is not {{value, goal, against}} with numbers")
            continue
        met = math.isfinite(value) and value >= goal
        ratios[str(name)] = {"value": value, "goal": goal, "met": met, "against": against}
    return ratios, problems


def last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1][:200] if lines else "no output"


def run_one(name: str, script: Path, quick: bool, timeout: float, save: Path | None) -> dict[str, Any]:
    """Run one script; its status ("ok" or "failed"), error line, seconds and ratios."""
    command = [sys.executable, str(script), *(["--quick"] if quick else [])]
    start = time.monotonic()
    result: dict[str, Any] = {"status": "failed", "error": None, "ratios": {}}
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, cwd=HERE.parent, env=dict(os.environ)
        )
    except subprocess.TimeoutExpired:
        result["error"] = f"timed out after {timeout:g} s"
    except OSError as exc:
        result["error"] = f"could not start: {exc}"
    else:
        if save is not None:
            save.mkdir(parents=True, exist_ok=True)
            (save / f"{name}.json").write_text(done.stdout)
        data = parse_json(done.stdout)
        if done.returncode != 0:
            result["error"] = f"exit status {done.returncode}: {last_line(done.stderr)}"
        elif data is None:
            result["error"] = f"printed no JSON ({last_line(done.stderr)})"
        else:
            ratios, problems = check_ratios(data.get("ratios"))
            result["ratios"] = ratios
            if ratios:
                result["status"] = "ok"
            result["error"] = "; ".join(problems) or None
    result["seconds"] = round(time.monotonic() - start, 1)
    return result


def fmt(x: float) -> str:
    return f"{x:.3g}" if math.isfinite(x) else str(x)


def table(results: dict[str, dict[str, Any]]) -> str:
    """One row per ratio; a benchmark without ratios is one line saying why."""
    header = ("benchmark", "ratio", "value", "goal", "met", "against")
    entries: list[tuple[str, ...] | str] = []  # table rows, and note lines in their place
    for name, result in results.items():
        for ratio, r in result["ratios"].items():
            met = "yes" if r["met"] else "no"
            value, goal = fmt(r["value"]), fmt(r["goal"])
            if value == goal and not r["met"]:  # just under the goal: enough digits to show it
                value = f"{r['value']:.6g}"
            entries.append((name, ratio, value, goal, met, r["against"]))
        if result["status"] != "ok":
            entries.append(f"{name}: FAILED, {result['error']} ({result['seconds']} s)")
        elif result["error"]:
            entries.append(f"{name}: {result['error']}")
    rows = [e for e in entries if isinstance(e, tuple)]
    widths = [max(len(h), *(len(r[k]) for r in rows)) if rows else len(h) for k, h in enumerate(header)]

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells[:-1], widths, strict=False)) + "  " + cells[-1]

    out = [line(header), line(tuple("-" * w for w in widths))]
    out.extend(e if isinstance(e, str) else line(e) for e in entries)
    met = sum(r["met"] for res in results.values() for r in res["ratios"].values())
    failed = sum(res["status"] != "ok" for res in results.values())
    out.append(f"{met} of {len(rows)} ratios meet their goal; {failed} of {len(results)} benchmarks failed")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="run each benchmark with --quick (< 30 s each)")
    parser.add_argument("--json", action="store_true", help="print the collected ratios as JSON, no table")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="only these benchmarks (file stems)")
    parser.add_argument("--timeout", type=float, help="seconds per benchmark (default 180 quick, 1800 full)")
    parser.add_argument("--save", type=Path, metavar="DIR", help="also write each benchmark's JSON to DIR")
    parser.add_argument("--dir", type=Path, default=HERE, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    scripts = benchmark_scripts(args.dir)
    if args.only:
        unknown = [n for n in args.only if n not in scripts]
        if unknown:
            parser.error(f"no benchmark named {', '.join(unknown)} (there are: {', '.join(scripts)})")
        scripts = {n: scripts[n] for n in args.only}
    if not scripts:
        parser.error(f"no benchmark scripts in {args.dir}")
    timeout = args.timeout or (180.0 if args.quick else 1800.0)
    results: dict[str, dict[str, Any]] = {}
    for name, script in scripts.items():
        print(f"== {name} ...", end="", file=sys.stderr, flush=True)
        results[name] = run_one(name, script, args.quick, timeout, args.save)
        r = results[name]
        print(f" {r['status']} ({r['seconds']} s)", file=sys.stderr, flush=True)
    if args.json:
        print(json.dumps({"quick": args.quick, "benchmarks": results}, indent=1))
    else:
        print(table(results))
    return 1 if all(r["status"] != "ok" for r in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
