"""The `oio` command line (also installed as `openio`).

A cliff application with a static command table: only the module of the command
that runs is imported, no entry point is scanned and the storage API is built on
first use. Start-up time matters: cron jobs run this thousands of times.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

from cliff.app import App
from cliff.commandmanager import CommandManager

from oiocli import __version__

if TYPE_CHECKING:  # pragma: no cover
    import argparse

    from cliff.command import Command

DEFAULT_NS = "OPENIO"
DEFAULT_ACCOUNT = "myaccount"

# "command words" -> "module:Class", modules relative to oiocli.commands.
COMMANDS: dict[str, str] = {
    # accounts
    "account create": "account:CreateAccount",
    "account delete": "account:DeleteAccount",
    "account show": "account:ShowAccount",
    "account list": "account:ListAccount",
    "account set": "account:SetAccount",
    "account unset": "account:UnsetAccount",
    "account refresh": "account:RefreshAccount",
    "account flush": "account:FlushAccount",
    # containers
    "container create": "container:CreateContainer",
    "container delete": "container:DeleteContainer",
    "container show": "container:ShowContainer",
    "container list": "container:ListContainer",
    "container set": "container:SetContainer",
    "container unset": "container:UnsetContainer",
    "container touch": "container:TouchContainer",
    "container snapshot": "container:SnapshotContainer",
    "container refresh": "container:RefreshContainer",
    "container locate": "container:LocateContainer",
    "container purge": "container:PurgeContainer",
    "container save": "container:SaveContainer",
    "container sync": "transfer:SyncContainer",
    "container flush": "container:FlushContainer",
    "container check": "check:CheckContainer",
    # objects
    "object create": "object:CreateObject",
    "object fetch": "object:FetchObject",
    "object save": "object:SaveObject",
    "object show": "object:ShowObject",
    "object list": "object:ListObject",
    "object locate": "object:LocateObject",
    "object delete": "object:DeleteObject",
    "object set": "object:SetObject",
    "object unset": "object:UnsetObject",
    "object touch": "object:TouchObject",
    "object drain": "object:DrainObject",
    "object truncate": "object:TruncateObject",
    "object link": "object:LinkObject",
    "object purge": "object:PurgeObject",
    "object check": "check:CheckObject",
    # embedded namespace
    "namespace show": "namespace:ShowNamespace",
    "namespace serve": "serve:NamespaceServe",
    "volume list": "namespace:ListVolume",
    "volume check": "check:CheckVolume",
    "volume rebuild": "check:RebuildVolume",
    "namespace check": "check:CheckNamespace",
    "events list": "namespace:ListEvents",
}

EXIT_CODES_HELP = """\
exit codes:
  0  success
  1  error (bad value, conflict, unknown policy, missing file, ...)
  2  usage error (unknown command or option, missing argument)
  3  account or container not found
  4  object not found
  5  temporary failure, worth a retry (busy, frozen container, timeout)
  6  data unreadable or corrupt
  7  degraded: readable, but redundancy is reduced (checks)
  8  partial success: some names of a multi-name command failed

environment (an option wins over its variable, a variable over the
configuration files ~/.oio/sds.conf, /etc/oio/sds.conf.d/<NS>, /etc/oio/sds.conf):
  OIO_NS, OIO_ACCOUNT, OIO_PROXYD_URL, OIO_DATA_DIR
"""


class _LazyEntryPoint:
    """Entry-point look-alike that imports its command module on `load()`."""

    __slots__ = ("name", "value")

    def __init__(self, name: str, value: str) -> None:
        self.name = name
        self.value = value

    def load(self) -> type[Command]:
        from importlib import import_module

        module, _, cls = self.value.partition(":")
        return getattr(import_module(module), cls)


class OioCommandManager(CommandManager):
    """A command manager over a static table: no entry point scanning."""

    def __init__(self, table: dict[str, str] | None = None) -> None:
        super().__init__(None, convert_underscores=True)
        self.namespace = "oiocli.commands"
        for name, target in (table or COMMANDS).items():
            self.commands[name] = _LazyEntryPoint(name, "oiocli.commands." + target)

    def load_commands(self, namespace: str) -> None:
        """Commands come from the static table only."""

    def get_command_names(self, group: str | None = None) -> list[str]:
        return list(self.commands)


def _read_config(namespace: str) -> dict[str, str]:
    """Keys of the namespace's section in OpenIO's INI files (later files win)."""
    files = [
        path
        for path in (
            "/etc/oio/sds.conf",
            os.path.join("/etc/oio/sds.conf.d", namespace),
            os.path.join(os.path.expanduser("~"), ".oio", "sds.conf"),
        )
        if os.path.isfile(path)
    ]
    if not files:
        return {}
    import configparser

    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(files, encoding="utf-8")
    except configparser.Error:
        return {}
    if not parser.has_section(namespace):
        return {}
    return dict(parser.items(namespace))


class OioShell(App):
    """The application: global options, configuration and the lazy API."""

    def __init__(self) -> None:
        super().__init__(
            description=(
                "Manage accounts, containers and objects of an OpenIO-style object "
                "storage: an embedded namespace (default) or an OpenIO SDS proxy."
            ),
            version=__version__,
            command_manager=OioCommandManager(),
            deferred_help=True,
        )
        # cliff registers its own `complete`; ours covers global options and `openio`
        self.command_manager.commands["complete"] = _LazyEntryPoint(
            "complete", "oiocli.commands.complete:CompleteCommand"
        )
        self._api: Any = None
        self._config: dict[str, str] | None = None
        self._request_id: str | None = None
        self.current_command: str | None = None
        self.last_result = 0
        self.error_reported = False

    # -- options -------------------------------------------------------------

    def build_option_parser(
        self,
        description: str | None,
        version: str | None,
        argparse_kwargs: dict[str, Any] | None = None,
    ) -> argparse.ArgumentParser:
        import argparse

        kwargs = dict(argparse_kwargs or {})
        kwargs.setdefault("epilog", EXIT_CODES_HELP)
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        kwargs.setdefault("allow_abbrev", False)
        parser = super().build_option_parser(description, version, kwargs)
        from oiocli.commands.base import one_line_errors

        one_line_errors(parser)
        parser.add_argument(
            "--ns",
            "--oio-ns",
            dest="ns",
            metavar="<namespace>",
            help=f"Namespace name (env OIO_NS, default {DEFAULT_NS}).",
        )
        parser.add_argument(
            "-a",
            "--account",
            "--oio-account",
            dest="account",
            metavar="<account>",
            help=(
                "Account the container and object commands work in (env OIO_ACCOUNT, "
                f"then the 'account' key of the configuration, default {DEFAULT_ACCOUNT!r})."
            ),
        )
        parser.add_argument(
            "--oio-proxy",
            "--oio-proxyd-url",
            dest="proxy",
            metavar="<url>",
            help=(
                "URL of an OpenIO SDS proxy (env OIO_PROXYD_URL, then the 'proxy' key of "
                "the configuration). Without it, the embedded namespace is used."
            ),
        )
        parser.add_argument(
            "--data-dir",
            dest="data_dir",
            metavar="<dir>",
            help=(
                "Directory of the embedded namespace (env OIO_DATA_DIR, then the "
                "'data_dir' key of the configuration, default "
                "$XDG_DATA_HOME/oiocli/<namespace>)."
            ),
        )
        parser.add_argument(
            "--request-id",
            "--req-id",
            dest="request_id",
            metavar="<id>",
            help="Request id to tag every request with (at most 63 characters).",
        )
        parser.add_argument(
            "--no-progress",
            dest="no_progress",
            action="store_true",
            help="Never draw progress bars (they are drawn only when stderr is a terminal).",
        )
        return parser

    def _setting(self, attr: str, env: str, key: str, default: str | None) -> str | None:
        value = getattr(self.options, attr, None)
        if value:
            return value
        value = os.environ.get(env)
        if value:
            return value
        if self._config is None:
            self._config = _read_config(self.namespace)
        return self._config.get(key) or default

    @property
    def namespace(self) -> str:
        return self.options.ns or os.environ.get("OIO_NS") or DEFAULT_NS

    @property
    def account(self) -> str:
        return self._setting("account", "OIO_ACCOUNT", "account", DEFAULT_ACCOUNT) or ""

    @property
    def proxy(self) -> str | None:
        return self._setting("proxy", "OIO_PROXYD_URL", "proxy", None)

    @property
    def data_dir(self) -> str | None:
        return self._setting("data_dir", "OIO_DATA_DIR", "data_dir", None)

    @property
    def request_id(self) -> str:
        if self._request_id is None:
            rid = self.options.request_id
            if not rid:
                verb = (self.current_command or "cmd").replace(" ", "-")
                rid = f"CLI-{verb}-{os.urandom(6).hex()}"
            self._request_id = rid[:63]
        return self._request_id

    @property
    def show_progress(self) -> bool:
        if self.options.no_progress or self.options.verbose_level == 0:
            return False
        try:
            return self.stderr.isatty()
        except (AttributeError, ValueError):
            return False

    @property
    def api(self) -> Any:
        """The `ObjectStorageApi`, built on first use."""
        if self._api is None:
            from oiocli.api import ObjectStorageApi

            self._api = ObjectStorageApi(
                self.namespace,
                data_dir=self.data_dir,
                proxy=self.proxy,
                request_id=self.request_id,
            )
        return self._api

    # -- running -------------------------------------------------------------

    def configure_logging(self) -> None:
        if self.options.debug or self.options.log_file or self.options.verbose_level > 1:
            super().configure_logging()

    def run(self, argv: list[str]) -> int:
        try:
            result = super().run(argv)
            if self.interactive_mode:  # commands read from stdin: the last one's status
                return self.last_result
            return result
        except SystemExit as exc:  # --help, --version, or argparse on the global options
            if exc.code is None:
                return 0
            return exc.code if isinstance(exc.code, int) else 2
        except Exception as exc:  # pragma: no cover - cliff already catches most
            return self.report_error(exc)

    def run_subcommand(self, argv: list[str]) -> int:
        try:
            cmd_factory, cmd_name, sub_argv = self.command_manager.find_command(argv)
        except ValueError:
            import difflib

            last = self.command_manager._get_last_possible_command_index(argv)
            words = " ".join(argv[: min(last, 2)])
            matches = difflib.get_close_matches(words, list(self.command_manager.commands), n=4)
            hint = f" Did you mean: {', '.join(matches)}?" if matches else ""
            self.stderr.write(
                f"{self.NAME}: unknown command '{words}'.{hint} See '{self.NAME} --help'.\n"
            )
            return 2
        self.current_command = cmd_name
        cmd = cmd_factory(self, self.options, cmd_name=cmd_name)
        result = 1
        err: BaseException | None = None
        try:
            self.prepare_to_run_command(cmd)
            full_name = cmd_name if self.interactive_mode else f"{self.NAME} {cmd_name}"
            cmd_parser = cmd.get_parser(full_name)
            try:
                parsed_args = cmd_parser.parse_args(sub_argv)
            except SystemExit as exc:  # usage error (already printed) or --help
                result = exc.code if isinstance(exc.code, int) else 2
                return result
            result = cmd.run(parsed_args)
        except BrokenPipeError as exc:
            err = exc
            result = 141
            try:  # avoid a second error when Python flushes stdout at exit
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, sys.stdout.fileno())
            except (OSError, ValueError):
                pass
        except KeyboardInterrupt as exc:
            err = exc
            result = 130
            self.stderr.write((str(exc) or "Interrupted") + "\n")
        except SystemExit as exc:
            result = exc.code if isinstance(exc.code, int) else 1
        except Exception as exc:
            err = exc
            result = self.report_error(exc)
        finally:
            self.last_result = result
            self._request_id = None  # a fresh id for the next command (interactive mode)
            try:
                self.clean_up(cmd, result, err)
            except Exception as exc:  # pragma: no cover
                if self.options.debug:
                    self.report_error(exc)
        return result

    def report_error(self, exc: BaseException) -> int:
        """Print one line (plus traceback and request id with --debug); return exit code."""
        from oiocli.commands.base import describe_error, exit_code_of

        if getattr(self, "options", None) is not None and self.options.debug:
            import traceback

            traceback.print_exception(exc, file=self.stderr)
            reqid = getattr(exc, "reqid", None) or self._request_id
            if reqid:
                self.stderr.write(f"Request id: {reqid}\n")
        self.stderr.write(describe_error(exc) + "\n")
        self.stderr.flush()
        return exit_code_of(exc)

    def clean_up(self, cmd: Command, result: int, err: BaseException | None) -> None:
        api, self._api = self._api, None
        close = getattr(api, "close", None)
        if close is not None:
            close()


def _program_name(argv0: str) -> str:
    name = os.path.splitext(os.path.basename(argv0))[0]
    return name if name in ("oio", "openio") else "oio"


def main(argv: list[str] | None = None) -> int:
    OioShell.NAME = _program_name(sys.argv[0])
    if argv is None:
        argv = sys.argv[1:]
    return OioShell().run(argv)


if __name__ == "__main__":
    sys.exit(main())
