"""Command line of `python -m benchmarks` (what `make bench` runs)."""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import limits as limits_mod
from benchmarks import ours
from benchmarks.common import REPO_ROOT, Config, Pressure, pressure_text
from benchmarks.report import limits_table, machine_info, ours_table, write_json

# Values used when neither a flag nor an environment variable says otherwise.
DEFAULTS = {
    "size_mib": 512,
    "reps": 3,
    "reps_cold": 3,
    "settle": 2.0,
    "ec_mib": 256,
    "small_files": 1000,
    "startup_runs": 15,
    "small_objects": 2000,
    "list_objects": 1_000_000,
}
# --quick: small sizes, still 3 repetitions of everything (a median and a spread).
QUICK = {
    "size_mib": 128,
    "reps": 3,
    "reps_cold": 3,
    "settle": 2.0,
    "ec_mib": 64,
    "small_files": 300,
    "startup_runs": 9,
    "small_objects": 500,
    "list_objects": 2000,
}
QUICK_POLICIES = "SINGLE,EC"
ENV_PREFIX = "OIO_BENCH_"  # e.g. OIO_BENCH_SIZE_MIB=1024, OIO_BENCH_LIST_OBJECTS=1000000


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Measure this machine's limits and oiocli's figures against them, in one "
        "run. Prints tables and writes benchmarks/results/<UTC time>.json. Never fails: a "
        "scenario that errors prints the error in its row. Every size option can also be set "
        f"by an environment variable {ENV_PREFIX}<OPTION> (e.g. {ENV_PREFIX}SIZE_MIB).",
    )
    p.add_argument(
        "--quick", action="store_true", help="small sizes, SINGLE and EC only, a few minutes"
    )
    p.add_argument("--size-mib", type=int, help="big object and disk/hash test size (512)")
    p.add_argument(
        "--reps", type=int, help="repetitions of each measurement (3; ours never fewer than 3)"
    )
    p.add_argument("--reps-cold", type=int, help="repetitions of each cold limit measurement (3)")
    p.add_argument(
        "--settle", type=float, help="seconds of pause after sync before each measured step (2)"
    )
    p.add_argument("--ec-mib", type=int, help="payload per erasure-coding measurement (256)")
    p.add_argument("--small-files", type=int, help="4 KiB files in the disk limit test (1000)")
    p.add_argument("--startup-runs", type=int, help="runs of each start-up median (15)")
    p.add_argument("--small-objects", type=int, help="4 KiB objects created per variant (2000)")
    p.add_argument(
        "--list-objects",
        type=int,
        help="objects in the listing container (1000000, filled in bulk; 2000 with --quick). "
        "Reused when --data-dir is kept.",
    )
    p.add_argument("--list-page", type=int, default=1000, help="listing page size (1000)")
    p.add_argument("--threads", type=int, default=8, help="thread pool size (8)")
    p.add_argument(
        "--policies",
        help="comma-separated policies for the big-object transfers "
        f"({','.join(Config.policies)}; with --quick {QUICK_POLICIES})",
    )
    p.add_argument("--no-cli", action="store_true", help="skip the CLI transfers")
    p.add_argument(
        "--scenarios",
        default=",".join(ours.SCENARIOS),
        help="comma-separated scenarios of ours to run (%(default)s); empty for none",
    )
    p.add_argument("--skip-limits", action="store_true", help="do not measure the limits")
    p.add_argument(
        "--work-dir",
        default=os.environ.get(ENV_PREFIX + "WORK_DIR"),
        help="parent of the scratch directory (default: the system temporary directory; "
        "choose one on the disk you want to measure)",
    )
    p.add_argument(
        "--data-dir",
        default=os.environ.get(ENV_PREFIX + "DATA_DIR"),
        help="embedded namespace to use and keep (default: a scratch one, removed)",
    )
    p.add_argument(
        "--results-dir",
        default=str(REPO_ROOT / "benchmarks" / "results"),
        help="where the JSON record goes (%(default)s)",
    )
    p.add_argument("--timeout", type=float, default=1800, help="seconds per child process")
    args = p.parse_args(argv)
    quick = args.quick or os.environ.get(ENV_PREFIX + "QUICK")
    preset = QUICK if quick else DEFAULTS
    if args.policies is None:
        args.policies = QUICK_POLICIES if quick else ",".join(Config.policies)
    for key, default in preset.items():
        if getattr(args, key) is None:
            env = os.environ.get(ENV_PREFIX + key.upper())
            setattr(args, key, type(default)(env) if env else default)
    return args


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = dt.datetime.now(dt.UTC)
    scratch = Path(tempfile.mkdtemp(prefix="oiobench-", dir=args.work_dir))
    cfg = Config(
        work_dir=scratch,
        size_mib=args.size_mib,
        reps=args.reps,
        reps_cold=args.reps_cold,
        settle=args.settle,
        ec_mib=args.ec_mib,
        small_files=args.small_files,
        startup_runs=args.startup_runs,
        small_objects=args.small_objects,
        threads=args.threads,
        list_objects=args.list_objects,
        list_page=args.list_page,
        policies=tuple(p.strip() for p in args.policies.split(",") if p.strip()),
        cli=not args.no_cli,
        data_dir=Path(args.data_dir).resolve() if args.data_dir else None,
        timeout=args.timeout,
    )
    free = shutil.disk_usage(scratch).free
    log(f"scratch directory {scratch} ({free / 2**30:.1f} GiB free)")
    if free < 5 * cfg.size:
        log(f"warning: less than {5 * cfg.size_mib} MiB free; big transfers may fail")
    t0 = time.perf_counter()
    busy = Pressure()
    limits_busy = Pressure()
    measured = {} if args.skip_limits else limits_mod.measure_all(cfg, log)
    limits_pressure = limits_busy.shares()
    rows = []
    ctx = None
    scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = [s for s in scenarios if s not in ours.SCENARIOS]
    if unknown:
        log(f"unknown scenarios ignored: {', '.join(unknown)}")
    # Always in SCENARIOS order: the CLI transfers compare with the start-up measured first.
    scenarios = [s for s in ours.SCENARIOS if s in scenarios]
    try:
        if scenarios:
            ctx = ours.Context(
                cfg=cfg,
                limits=measured,
                data_dir=cfg.data_dir or scratch / "namespace",
                log=log,
            )
            rows = ours.run_all(ctx, scenarios)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    elapsed = time.perf_counter() - t0

    run_pressure = busy.shares()
    scenario_info = ctx.scenario_info if ctx else {}
    print(f"oiocli benchmarks, {started:%Y-%m-%d %H:%M:%S} UTC, {elapsed:.0f} s")
    print(f"sizes: {cfg.size_mib} MiB objects and disk tests, settle {cfg.settle:g} s")
    print(f"machine busy (share of time some task waited, PSI): {pressure_text(run_pressure)}\n")
    if measured:
        print(limits_table(measured))
        print(f"limits: machine busy {pressure_text(limits_pressure)}\n")
    if rows:
        print(ours_table(rows))
        for name, info in scenario_info.items():
            busy_text = pressure_text(info["pressure"])
            print(f"{name}: {info['seconds']:.0f} s, machine busy {busy_text}")
        print()
    record = {
        "started": started.isoformat(),
        "elapsed_s": elapsed,
        "pressure": {"run": run_pressure, "limits": limits_pressure},
        "scenarios": scenario_info,
        "machine": machine_info(),
        "config": {
            k: (str(v) if isinstance(v, Path) else v) for k, v in dataclasses.asdict(cfg).items()
        },
        "limits": {name: dataclasses.asdict(lim) for name, lim in measured.items()},
        "ours": [r.as_dict() for r in rows],
        "transfers": ctx.api_transfers if ctx else {},
    }
    path = Path(args.results_dir) / f"{started:%Y%m%dT%H%M%SZ}.json"
    try:
        write_json(path, record)
        print(f"written: {path}")
    except OSError as exc:
        print(f"could not write {path}: {exc}")
    return 0
