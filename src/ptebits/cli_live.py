"""``ptebits verify``: the fault model against the live kernel, scenario by
scenario (registered into the main parser by :func:`register`)."""
from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO

from .errors import LiveUnavailable
from .scenario import corpus_paths, load_scenario

EXIT_OK, EXIT_CHECK, EXIT_ENV = 0, 1, 4


def register(sub: Any, prof_help: str) -> None:
    """Add the ``verify`` command to the main parser's subcommands."""
    from .live import DEFAULT_TIMEOUT
    p = sub.add_parser(
        "verify", help="run scenarios in the fault model and on the live kernel and "
                       "compare what user space can see (exit 1 when any differ)",
        description="Each scenario runs in the model and on this kernel (as root, with "
                    "userfaultfd); per step the messages and signals, per page the pagemap "
                    "class and bits are compared, side by side where they differ.")
    p.add_argument("scenarios", nargs="*", metavar="SCENARIO",
                   help="scenario JSON files (default: the corpus shipped with ptebits)")
    p.add_argument("--profile", default="linux-6.18",
                   help="model profile: linux-6.18 (default) or host")
    p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                   help="seconds a live run may take before it is killed (default %g)"
                        % DEFAULT_TIMEOUT)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    p.set_defaults(func=cmd_verify)


def cmd_verify(args: argparse.Namespace, out: TextIO) -> int:
    from .live import live_available, run_live
    from .verify import report, verify_scenarios
    if args.profile not in ("linux-6.18", "host"):
        from .cli import UsageError
        raise UsageError("verify --profile must be linux-6.18 or host (the live kernel is "
                         "6.18), not %r" % args.profile)
    if args.timeout <= 0:
        from .cli import UsageError
        raise UsageError("verify --timeout must be positive")
    paths = args.scenarios or corpus_paths()
    scenarios = [load_scenario(p) for p in paths]        # every file checked before any run
    try:
        from .simulate import run_model
    except ImportError as e:
        raise LiveUnavailable("the fault model (ptebits.simulate) is not available: %s" % e)
    reason = live_available()
    if reason:
        raise LiveUnavailable(reason)

    def progress(name: str) -> None:
        if not args.quiet:
            print("ptebits verify: %s" % name, file=sys.stderr)

    results = verify_scenarios(scenarios, profile=args.profile, run_model=run_model,
                               run_live=run_live, timeout=args.timeout, progress=progress)
    report(results, out, model_label="model " + args.profile, live_label="live kernel")
    if any(r.status in ("differ", "failed") for r in results):
        return EXIT_CHECK
    if any(r.status == "skipped" for r in results):
        return EXIT_ENV
    return EXIT_OK
