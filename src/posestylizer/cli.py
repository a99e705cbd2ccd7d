"""Command line entry point: ``posestylizer <command> ...``.

Thin by design: each subcommand lives in ``posestylizer.commands.<name>`` as ``register(subparsers)`` plus the function
it binds; this module only assembles them and turns :class:`~posestylizer.errors.UserError` into one line and exit 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from posestylizer.errors import UserError
from posestylizer.runtime.nativelog import filtered_native_stderr, set_verbose

# Modules under posestylizer.commands, in the order they appear in --help.
COMMANDS = ("demo", "train", "evaluate", "generate", "animate", "export", "serve", "convert", "data", "pose", "ablate",
            "viz", "bench", "augment", "experiments")


class OneLineParser(argparse.ArgumentParser):
    """argparse with its errors in one line (no usage block above them), like every other user mistake; the
    subcommands' parsers are of this class too (``add_subparsers`` uses the parent's class)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="posestylizer",
        description="Pose-guided person image generation with the Appearance-aware Pose Stylizer (APS).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"posestylizer.commands.{name}")
        except ModuleNotFoundError as err:
            if err.name == f"posestylizer.commands.{name}":
                continue  # command not shipped in this build
            raise
        module.register(sub)
    _add_verbose(parser)
    return parser


def _add_verbose(parser: argparse.ArgumentParser) -> None:
    """``--verbose`` on every (sub)command that runs something: lets third-party log lines through."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                _add_verbose(child)
            return
    if parser is not None and parser.prog != "posestylizer":
        parser.add_argument("--verbose", action="store_true",
                            help="also show third-party log lines (MediaPipe, TFLite), hidden by default")


def _parse(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    """Parse ``argv``, letting ``key=value`` overrides stand anywhere, also after options (argparse takes a
    ``nargs="*"`` positional in one run only, so ``train a=1 --quiet b=2`` would leave ``b=2`` unrecognised)."""
    args, extra = parser.parse_known_args(argv)
    if extra and isinstance(getattr(args, "overrides", None), list):
        overrides = [item for item in extra if "=" in item and not item.startswith("-")]
        args.overrides += overrides
        extra = [item for item in extra if item not in overrides]
    if extra:
        parser.parse_args(argv)  # argparse's own one-line "unrecognized arguments" message and exit 2
    return args


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = _parse(parser, sys.argv[1:] if argv is None else list(argv))
    except SystemExit as done:  # argparse's one-line error (2) or --help (0): main always returns the code
        return int(done.code or 0)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    set_verbose(getattr(args, "verbose", False))
    try:
        with filtered_native_stderr():  # MediaPipe's native INFO/WARNING lines (runtime.nativelog)
            result = args.func(args)
    except UserError as err:
        print(f"posestylizer {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"posestylizer {args.command}: interrupted", file=sys.stderr)
        return 130
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
