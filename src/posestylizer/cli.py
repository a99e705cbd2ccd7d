"""Command line entry point: ``posestylizer <command> ...``.

Thin by design: each subcommand lives in ``posestylizer.commands.<name>`` as ``register(subparsers)`` plus the function
it binds; this module only assembles them and turns :class:`~posestylizer.errors.UserError` into one line and exit 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from posestylizer.errors import UserError

# Modules under posestylizer.commands, in the order they appear in --help.
COMMANDS = ("demo", "train", "evaluate", "generate", "animate", "export", "serve", "convert", "data", "pose", "ablate",
            "viz", "bench", "augment")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
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
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
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
