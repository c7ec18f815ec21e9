"""The ``clearsim`` entry point.

Every module in :mod:`simulator.cli` that defines ``register(subparsers)`` adds its own
subcommand(s), so adding a command touches one file. Expected user errors (bad files,
bad arguments, bad scenarios) print one line ``clearsim: error: ...`` and exit 2; they
never show a traceback. SIGTERM unwinds like Ctrl-C (exit 143): staged output folders
and temporary files are removed on the way out (:mod:`simulator.atomic`).
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType
from typing import Any

from simulator.errors import UserError
from simulator.version import __version__

EXIT_USAGE = 2
EXIT_TERMINATED = 128 + signal.SIGTERM


class Terminated(BaseException):
    """SIGTERM arrived: unwinds the command so its ``finally`` blocks clean up."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second TERM must not cut cleanup
    raise Terminated


def _trap_sigterm() -> Any:
    """Install the SIGTERM handler (main thread only); returns the previous one."""
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, _on_sigterm)


class Formatter(argparse.RawDescriptionHelpFormatter):
    """Wrap one-paragraph texts (descriptions) to the terminal; keep multi-line ones
    (the examples in epilogs) as written."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if "\n" in text.strip():
            return super()._fill_text(text, width, indent)
        return argparse.HelpFormatter._fill_text(self, text, width, indent)


def _wrap_all(parser: argparse.ArgumentParser) -> None:
    """Give ``parser`` and every subcommand's parser the :class:`Formatter`."""
    parser.formatter_class = Formatter
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                _wrap_all(child)


EPILOG = """\
examples:
  clearsim run scenarios/balanced.yaml                # one policy over time
  clearsim compare scenarios/balanced.yaml            # every policy, 5 seeds, a report
  clearsim frontier                                   # accuracy vs budget, in batch
  clearsim pool inspect                               # the embedded synthetic pool

Run 'clearsim COMMAND --help' for a command's options and examples."""


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors (exit 2) instead of usage dumps."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"{self.prog}: error: {message} (see '{self.prog} --help')\n")
        raise SystemExit(EXIT_USAGE)


def build_parser() -> Parser:
    """The full parser with every registered subcommand."""
    parser = Parser(
        prog="clearsim",
        description="Simulate how an LLM service spends a limited budget of reasoning "
        "tokens: CLEAR shadow-price allocation against baselines, in batch and over time.",
        epilog=EPILOG,
    )
    parser.add_argument("--version", action="version", version=f"clearsim {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True
    import simulator.cli as pkg

    for mod in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        if mod.name == "main":
            continue
        module = importlib.import_module(f"simulator.cli.{mod.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(sub)
    _wrap_all(parser)
    return parser


def main(argv: Sequence[str] | None = None, *, exiting: bool = False) -> int:
    """Parse ``argv`` and run the chosen command; returns the exit code.

    ``exiting`` (the ``clearsim`` process itself): once the command has returned, its
    outputs are complete, so a SIGTERM during interpreter shutdown is ignored instead of
    killing the process by the default action (which would report a signal death for a
    finished command). In-process callers get their previous handler back.
    """
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:  # name the subcommand whose --help lists what it takes
        prog = f"clearsim {args.command}"
        sys.stderr.write(f"{prog}: error: unrecognized arguments: {' '.join(extra)} "
                         f"(see '{prog} --help')\n")
        return EXIT_USAGE
    previous = _trap_sigterm()
    code = EXIT_TERMINATED
    try:
        code = _dispatch(args)
    except Terminated:  # arrived in one of _dispatch's handlers: the command did not finish
        sys.stderr.write("clearsim: terminated (SIGTERM); unfinished outputs removed\n")
    finally:
        try:
            _restore(previous, exiting)
        except Terminated:  # pending when the command returned: it has finished, keep its code
            _restore(previous, exiting)
    return code


def _dispatch(args: argparse.Namespace) -> int:
    """Run the parsed command; returns its exit code (errors as one line on stderr)."""
    try:
        return int(args.func(args) or 0)
    except UserError as exc:
        sys.stderr.write(f"clearsim: error: {exc}\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        sys.stderr.write("clearsim: interrupted\n")
        return 130
    except Terminated:
        sys.stderr.write("clearsim: terminated (SIGTERM); unfinished outputs removed\n")
        return EXIT_TERMINATED
    except BrokenPipeError:
        # Output piped into e.g. `head`: stop quietly, as Unix tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


def _restore(previous: Any, exiting: bool) -> None:
    """Put back the SIGTERM handler :func:`main` replaced (``SIG_IGN`` when exiting)."""
    if previous is not None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN if exiting else previous)


def entry() -> None:
    """The ``clearsim`` console script."""
    raise SystemExit(main(exiting=True))


if __name__ == "__main__":
    entry()
