"""One convention for bad input in every command: ``Error: ...`` on one line, exit status 1.

Click's own checks (bad types, choices, paths, missing arguments, unknown options) print a
usage block and exit with 2; the library's ``ValueError``/``OSError`` would print a traceback.
``Command`` and ``Group`` turn both into one line on stderr that names the value and what is
allowed, and exit status 1. A command adopts it with one line::

    @click.command(cls=Command)          # or @click.group(cls=Group): its subcommands too
    @version_option("bs-predict")

Warnings print as one ``warning: ...`` line; Ctrl-C exits 130 with one line.
"""

from __future__ import annotations

import functools
import sys
import warnings
from collections.abc import Callable
from typing import Any

import click

from bsformat import __version__

__all__ = ["Command", "Group", "friendly", "version_option"]


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
            except (ValueError, OSError) as e:  # FormatError, SourceError, TrainError too
                raise click.ClickException(_one_line(e)) from None
            except KeyboardInterrupt:
                click.echo("interrupted; nothing was written", err=True)
                sys.exit(130)

    return wrapper


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
        except _NO_ARGS_HELP as e:  # the bare command name: its help, as --help prints it
            click.echo(e.format_message())
            sys.exit(0)
        except click.exceptions.Abort:
            click.echo("Error: aborted", err=True)
            sys.exit(1)
        except click.ClickException as e:
            click.echo(f"Error: {_message(e)}", err=True)
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) else 0)

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
