"""One convention for bad input in every command: ``Error: ...`` on one line, exit status 1.

Click's own checks (bad types, choices, paths, missing arguments, unknown options) print a
usage block and exit with 2; the library's ``ValueError``/``OSError`` would print a traceback.
``Command`` and ``Group`` turn both into one line on stderr that names the value and what is
allowed, and exit status 1. A command adopts it with one line::

    @click.command(cls=Command)          # or @click.group(cls=Group): its subcommands too
    @version_option("bs-predict")

Warnings print as one ``warning: ...`` line; Ctrl-C exits 130 with one line. A reader that
closes the output early (``bs-encrypt results ... | head -5``) is not an error: the command
stops quietly with status 141 (128 + SIGPIPE), as Unix tools that SIGPIPE ends do.
"""

from __future__ import annotations

import functools
import os
import select
import sys
import warnings
from collections.abc import Callable
from typing import Any, NoReturn

import click

from bsformat import __version__

__all__ = ["CLOSED_PIPE_STATUS", "SEED", "SEED_MAX", "Command", "Group", "friendly",
           "version_option"]

SEED_MAX = 2**32 - 1  # every --seed: a whole number 0..SEED_MAX (what NumPy's legacy seeding takes)
SEED = click.IntRange(0, SEED_MAX)  # the click type of every --seed option
CLOSED_PIPE_STATUS = 141  # 128 + SIGPIPE: what a shell shows for a tool that SIGPIPE ended


def friendly(fn: Callable) -> Callable:
    """Turn expected failures of ``fn`` into one clear line on stderr and exit status 1."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        def show(message, category, filename, lineno, file=None, line=None):
            click.echo(f"warning: {message}", err=True)

        with warnings.catch_warnings():
            warnings.showwarning = show
            warnings.simplefilter("always")
            try:
                return fn(*args, **kwargs)
            except BrokenPipeError:
                if _stdout_closed():
                    _closed_pipe()
                raise click.ClickException("Broken pipe") from None  # another pipe: an error
            except (ValueError, OSError) as e:  # FormatError, SourceError, TrainError too
                raise click.ClickException(_one_line(e)) from None
            except KeyboardInterrupt:
                click.echo("interrupted; nothing was written", err=True)
                sys.exit(130)

    return wrapper


def _stdout_closed() -> bool:
    """Whether standard output is a pipe whose reader has gone (poll reports an error)."""
    try:
        poll = select.poll()
        poll.register(sys.stdout.fileno(), select.POLLOUT)
        return any(ev & select.POLLERR for _, ev in poll.poll(0))
    except (AttributeError, OSError, ValueError):  # no fd (a test runner's buffer), no poll
        return False


def _closed_pipe() -> NoReturn:
    """Exit quietly after the reader of standard output went away; the interpreter's final
    flush then writes to /dev/null instead of printing a BrokenPipeError."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (AttributeError, OSError, ValueError):
        pass
    sys.exit(CLOSED_PIPE_STATUS)


def _one_line(e: BaseException) -> str:
    if isinstance(e, OSError) and e.strerror and str(e).startswith("[Errno"):
        return f"{e.strerror}: {e.filename}" if e.filename else e.strerror
    return str(e)


def _message(e: click.ClickException) -> str:
    """The error as one line; usage errors point at ``--help`` instead of printing usage."""
    text = " ".join(e.format_message().split())
    if isinstance(e, click.UsageError) and e.ctx is not None:
        text += f" (see '{e.ctx.command_path} --help')"
    return text


# click >= 8.2 raises this for a group called without a command (older versions exit 0 itself)
_NO_ARGS_HELP = getattr(click.exceptions, "NoArgsIsHelpError", ())


class _OneLine:
    """Mixin: standalone ``main`` with one-line errors and exit status 1."""

    def main(self, args: Any = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True, **extra: Any):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        try:
            rv = super().main(args, prog_name, complete_var, False, **extra)
            sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's last flush
        except _NO_ARGS_HELP as e:  # the bare command name: its help, as --help prints it
            click.echo(e.format_message())
            sys.exit(0)
        except BrokenPipeError:
            if not _stdout_closed():
                raise
            _closed_pipe()
        except click.exceptions.Abort:
            click.echo("Error: aborted", err=True)
            sys.exit(1)
        except click.ClickException as e:
            click.echo(f"Error: {_message(e)}", err=True)
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) else 0)

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        try:  # --help and --version print while the arguments are parsed
            return super().make_context(*args, **kwargs)
        except BrokenPipeError:
            if not _stdout_closed():
                raise
            _closed_pipe()

    def invoke(self, ctx: click.Context) -> Any:
        return friendly(super().invoke)(ctx)


class Command(_OneLine, click.Command):
    """A click command with the one-line error convention."""


class Group(_OneLine, click.Group):
    """A click group whose subcommands (``@group.command()``) follow the convention too."""

    command_class = Command


def version_option(prog_name: str) -> Callable:
    """``--version`` printing ``PROG, version X`` (the package version, one for all commands)."""
    return click.version_option(__version__, "--version", prog_name=prog_name)
