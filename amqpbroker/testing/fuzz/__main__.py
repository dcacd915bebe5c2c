"""``python -m amqpbroker.testing.fuzz``: run fuzz cases, print the rate and the findings.

    python -m amqpbroker.testing.fuzz --cases 1000000 --seed 1
    python -m amqpbroker.testing.fuzz --seconds 60
    python -m amqpbroker.testing.fuzz --replay 1:4711     # one case, with its traceback

Exit status 1 when anything was found.
"""

from __future__ import annotations

import argparse
import sys

from .runner import Finding, Report, fuzz, run_case


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m amqpbroker.testing.fuzz")
    parser.add_argument("--seed", type=int, default=1, help="cases are named <seed>:<index>")
    parser.add_argument("--cases", type=int, default=None, help="stop after this many cases")
    parser.add_argument("--seconds", type=float, default=None, help="stop after this long")
    parser.add_argument("--replay", metavar="CASE", help="run one case (e.g. 1:4711) verbosely")
    parser.add_argument("--progress", type=float, default=30.0, help="seconds between lines")
    args = parser.parse_args(argv)
    if args.replay:
        return _replay(args.replay)
    if args.cases is None and args.seconds is None:
        args.cases = 10_000
    report = fuzz(
        args.seed,
        cases=args.cases,
        seconds=args.seconds,
        on_finding=_print_finding,
        on_progress=_print_progress,
        progress_every=args.progress,
    )
    _print_progress(report)
    print(f"findings: {len(report.findings)} kind(s)", flush=True)
    for signature, same in report.findings.items():
        cases = ", ".join(f.case for f in same[:5])
        print(f"  {len(same):>3}x {signature}\n       cases: {cases}", flush=True)
    return 1 if report.findings else 0


def _print_progress(report: Report) -> None:
    print(
        f"{report.cases} cases in {report.seconds:.0f} s: {report.rate:.0f} cases/s, "
        f"{len(report.findings)} finding kind(s)",
        flush=True,
    )


def _print_finding(finding: Finding, new: bool) -> None:
    if new:
        first_line = finding.detail.splitlines()[0]
        print(
            f"FINDING {finding.case} [{finding.kind}] {first_line} "
            f"(mutations: {', '.join(finding.mutations) or 'none'})",
            flush=True,
        )


def _replay(case: str) -> int:
    findings = run_case(case)
    for finding in findings:
        print(f"[{finding.kind}] mutations: {', '.join(finding.mutations) or 'none'}")
        print(finding.detail)
    if not findings:
        print(f"{case}: nothing found")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
