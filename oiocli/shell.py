"""The `oio` command line (also installed as `openio`).

A cliff application with a static command table: only the module of the command
that runs is imported, no entry point is scanned and the storage API is built on
first use. Start-up time matters: cron jobs run this thousands of times.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from typing import TYPE_CHECKING, Any

from cliff.app import App
from cliff.commandmanager import CommandManager

from oiocli import __version__

if TYPE_CHECKING:  # pragma: no cover
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
    "object copy": "object:CopyObject",
    "object move": "object:MoveObject",
    "object purge": "object:PurgeObject",
    "object check": "check:CheckObject",
    # embedded namespace
    "namespace show": "namespace:ShowNamespace",
    "namespace set": "tier:SetNamespace",
    "tier move": "tier:MoveTier",
    "tier orphans": "tier:ListTierOrphans",
    "namespace serve": "serve:NamespaceServe",
    "volume list": "namespace:ListVolume",
    "volume check": "check:CheckVolume",
    "volume rebuild": "check:RebuildVolume",
    "volume add": "volume:AddVolume",
    "volume drain": "volume:DrainVolume",
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


CONFIG_FILES = ("/etc/oio/sds.conf", "/etc/oio/sds.conf.d/{ns}", "~/.oio/sds.conf")


def _read_config(namespace: str) -> dict[str, str]:
    """Keys of the namespace's section in OpenIO's INI files (later files win).

    A file that cannot be read or parsed (not UTF-8, bad syntax) is an error
    naming it: a setting silently ignored would send commands elsewhere.
    """
    files = [
        path
        for path in (os.path.expanduser(f.format(ns=namespace)) for f in CONFIG_FILES)
        if os.path.isfile(path)
    ]
    if not files:
        return {}
    import configparser

    from oiocli.commands.base import CommandError

    settings: dict[str, str] = {}
    for path in files:
        parser = configparser.ConfigParser(interpolation=None, strict=False)
        try:
            with open(path, encoding="utf-8") as f:
                parser.read_file(f, source=path)
        except UnicodeDecodeError as exc:
            raise CommandError(
                f"Configuration file {path!r} is not valid UTF-8 (byte {exc.start})"
            ) from None
        except configparser.Error as exc:
            raise CommandError(
                f"Configuration file {path!r} cannot be parsed: {_first_line(exc)}"
            ) from None
        except OSError as exc:
            raise CommandError(
                f"Configuration file {path!r} cannot be read: {exc.strerror}"
            ) from None
        if parser.has_section(namespace):
            settings.update(parser.items(namespace))
    return settings


def _first_line(error: BaseException) -> str:
    return " ".join(str(error).split("\n")[0].split())


# The worst status of a batch (commands read from stdin), least to most severe.
_SEVERITY = (0, 7, 8, 4, 3, 5, 1, 2, 6)


def worse(a: int, b: int) -> int:
    """The more severe of two exit statuses (signals, 128+, are the most severe)."""

    def rank(code: int) -> int:
        return _SEVERITY.index(code) if code in _SEVERITY else len(_SEVERITY) + code

    return a if rank(a) >= rank(b) else b


def _bad_text(value: Any) -> bool:
    """Command-line text that is not UTF-8 (Python keeps its bytes as surrogates)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, list | tuple):
        return any(_bad_text(v) for v in value)
    return False


def check_text_arguments(parser: argparse.ArgumentParser, parsed: argparse.Namespace) -> None:
    """Names, markers, prefixes... must be UTF-8; local paths may be any bytes."""
    from oiocli.commands.base import UsageError

    for action in parser._actions:
        if action.dest in LOCAL_PATH_DESTS or not hasattr(parsed, action.dest):
            continue
        if _bad_text(getattr(parsed, action.dest)):
            what = action.option_strings[0] if action.option_strings else action.metavar
            raise UsageError(f"{what or action.dest}: not valid UTF-8 text")


# Arguments naming local files: any bytes the file system allows.
LOCAL_PATH_DESTS = frozenset(
    {"files", "file", "directory", "source", "destination", "data_dir", "log_file"}
)


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
        # cliff registers its own `complete` and `help`; ours know our command table
        self.command_manager.commands["complete"] = _LazyEntryPoint(
            "complete", "oiocli.commands.complete:CompleteCommand"
        )
        self.command_manager.commands["help"] = _LazyEntryPoint(
            "help", "oiocli.commands.help:HelpCommand"
        )
        self._api: Any = None
        self._config: dict[str, str] | None = None
        self._request_id: str | None = None
        self.current_command: str | None = None
        self.command_line: list[str] = []  # what resumes an interrupted transfer
        self.global_argv: list[str] = []  # the line of a session: its commands add to it
        self.batch_mode = False  # commands read from stdin, which holds no data
        self.last_result = 0
        self.worst_result = 0
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
            "--key-file",
            dest="key_file",
            metavar="<path>",
            help=(
                "Key file of the cloud tier policies (env OIO_KEY_FILE, then the "
                "namespace's 'key_file', default /etc/oio/sds/b2-appkey.conf)."
            ),
        )
        parser.add_argument(
            "--no-progress",
            dest="no_progress",
            action="store_true",
            help="Never draw progress bars (they are drawn only when stderr is a terminal).",
        )
        parser.add_argument(
            "--log-format",
            dest="log_format",
            choices=("text", "json"),
            default=os.environ.get("OIO_LOG_FORMAT") or "text",
            help=(
                "Format of the log lines of -v and --log-file: text, or json (one object "
                "per line, for cron and log collectors; env OIO_LOG_FORMAT)."
            ),
        )
        from oiocli.commands.base import bandwidth, non_negative_int, positive_seconds

        parser.add_argument(
            "--bwlimit",
            dest="bwlimit",
            metavar="<rate>",
            type=bandwidth,
            help=(
                "Cap the bandwidth of uploads and downloads (all transfers of the process "
                "together), in bytes per second with K, M, G (binary units): 10M, 512K."
            ),
        )
        parser.add_argument(
            "--retries",
            dest="retries",
            metavar="<n>",
            type=non_negative_int,
            help=(
                "Retries of a request to the proxy or a rawx that failed for a temporary "
                "reason (connection refused or lost, 503), with backoff; default 3."
            ),
        )
        parser.add_argument(
            "--timeout",
            dest="timeout",
            metavar="<seconds>",
            type=positive_seconds,
            help=(
                "Seconds to wait for a connection to, and for each answer of, the proxy "
                "or a rawx (default 5 to connect, 60 for an answer)."
            ),
        )
        parser.add_argument(
            "--fail-fast",
            dest="fail_fast",
            action="store_true",
            help=(
                "Commands read from stdin: stop at the first one that fails (by default "
                "all run, and the exit status is the worst of theirs)."
            ),
        )
        self._describe_logging_options(parser)
        return parser

    @staticmethod
    def _describe_logging_options(parser: argparse.ArgumentParser) -> None:
        """cliff's -v, -q, --log-file and --debug, with what they do here."""
        helps = {
            "verbose_level": (
                "-v: log each request or chunk operation on stderr (method, URL or path, "
                "status, bytes, latency, request id); -vv: also debug messages; -vvv: "
                "those of the libraries too."
            ),
            "log_file": "Append the log lines of -v (and -vv) to this file, whatever -v says.",
            "debug": "Tracebacks on errors, and debug log lines on stderr (as -vv).",
        }
        for action in parser._actions:
            if action.dest in helps and "--quiet" not in action.option_strings:
                action.help = helps[action.dest]

    def _setting(self, attr: str, env: str, key: str, default: str | None) -> str | None:
        value = getattr(self.options, attr, None)
        if value:
            return value  # an empty option was refused by check_global_options
        value = os.environ.get(env)
        if value:
            return value
        if self._config is None:
            self._config = _read_config(self.namespace)
        return self._config.get(key) or default

    def check_global_options(self) -> None:
        """An option given empty or not UTF-8 is a usage error, never ignored."""
        from oiocli.commands.base import UsageError

        for option, dest in (
            ("--ns", "ns"),
            ("--account", "account"),
            ("--oio-proxy", "proxy"),
            ("--data-dir", "data_dir"),
            ("--request-id", "request_id"),
            ("--log-file", "log_file"),
        ):
            value = getattr(self.options, dest, None)
            if value is None:
                continue
            if not value.strip():
                raise UsageError(f"{option} is empty: give a value, or leave the option out")
            if dest not in LOCAL_PATH_DESTS and _bad_text(value):
                raise UsageError(f"{option}: not valid UTF-8 text")

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

            options = self.options
            network: dict[str, Any] = {}
            if getattr(options, "timeout", None) is not None:
                network["connection_timeout"] = options.timeout
                network["read_timeout"] = options.timeout
            if getattr(options, "retries", None) is not None:
                network["retries"] = options.retries
            self._api = ObjectStorageApi(
                self.namespace,
                data_dir=self.data_dir,
                proxy=self.proxy,
                request_id=self.request_id,
                bwlimit=getattr(options, "bwlimit", None),
                **network,
                key_file=self.options.key_file,
            )
            if self._tracing:
                from oiocli import trace

                trace.install(self._api, self.request_id)
        return self._api

    # -- running -------------------------------------------------------------

    _tracing = False

    def configure_logging(self) -> None:
        """-v/-vv/-vvv, -q, --log-file, --debug and --log-format; nothing at all by default
        (warnings then reach stderr as bare lines, through logging's last resort)."""
        options = self.options
        level = options.verbose_level
        if not (options.debug or options.log_file or level != 1):
            return
        import logging

        from oiocli import trace

        if options.log_format == "json":
            formatter: logging.Formatter = trace.JsonFormatter()
        else:
            formatter = logging.Formatter(
                "%(asctime)s.%(msecs)03d %(levelname)s %(name)s: %(message)s", "%H:%M:%S"
            )
        debug = options.debug or level >= 3
        root = logging.getLogger()
        root.setLevel(logging.DEBUG if level >= 4 else logging.WARNING)
        ours = logging.getLogger("oiocli")
        ours.setLevel(logging.DEBUG if debug else logging.INFO)
        console = logging.StreamHandler(self.stderr)
        console.setFormatter(formatter)
        if level == 0:
            console.setLevel(logging.ERROR)
        elif level == 1 and not options.debug:
            console.setLevel(logging.WARNING)  # --log-file alone: the trace goes there only
            if options.log_format == "text":
                console.setFormatter(logging.Formatter("%(message)s"))
        root.addHandler(console)
        if options.log_file:
            try:
                handler = logging.FileHandler(options.log_file, encoding="utf-8")
            except OSError as exc:
                from oiocli.commands.base import CommandError

                raise CommandError(
                    f"Cannot open the log file {options.log_file!r}: {exc.strerror}"
                ) from None
            handler.setFormatter(formatter)
            root.addHandler(handler)
        self._tracing = trace.enabled()

    def run(self, argv: list[str]) -> int:
        self.command_line = list(argv)
        try:
            self.options, remainder = self.parser.parse_known_args(argv)
        except SystemExit as exc:  # --help, --version, or a usage error (already printed)
            if exc.code is None:
                return 0
            return exc.code if isinstance(exc.code, int) else 2
        try:
            self.check_global_options()
            self.configure_logging()
        except Exception as exc:
            return self.report_error(exc)
        self.interactive_mode = not remainder
        if self.options.deferred_help:
            if not remainder:
                return self._help([])
            remainder.insert(0, "help")  # `oio object list --help` is `oio help object list`
        try:
            if self.interactive_mode:
                return self.batch()
            return self.run_subcommand(remainder)
        except KeyboardInterrupt:
            return 130
        except Exception as exc:  # pragma: no cover - run_subcommand catches them
            return self.report_error(exc)

    def _help(self, words: list[str]) -> int:
        self.interactive_mode = False
        return self.run_subcommand(["help", *words])

    # -- commands read from stdin ----------------------------------------------

    def batch(self) -> int:
        """Run the commands of stdin, one per line; the exit status is the worst of theirs.

        A terminal gets an interactive session (prompt `(oio)`); a pipe or a file
        is read line by line: blank lines and `#` comments are skipped, and with
        --fail-fast the first failure stops it. No shell escape either way.
        """
        self.batch_mode = True
        stdin = self.stdin
        try:
            interactive = stdin.isatty()
        except (AttributeError, ValueError):
            interactive = False
        self.global_argv = list(self.command_line)
        if interactive:
            return self.interact_session()
        import shlex

        for number, line in enumerate(stdin, 1):
            text = line.strip()
            if not text or text.startswith("#"):
                continue
            try:
                words = shlex.split(text, comments=True)
            except ValueError as exc:
                self.stderr.write(f"{self.NAME}: line {number}: {exc}\n")
                code = 2
            else:
                if not words:
                    continue
                self.command_line = [*self.global_argv, *words]
                code = self.run_subcommand(words)
            self.worst_result = worse(self.worst_result, code)
            if code >= 128 or (code and self.options.fail_fast):
                break
        return self.worst_result

    def interact_session(self) -> int:
        """An interactive session on a terminal (cmd2), without shell or Python escapes."""
        from oiocli.commands.interactive import session

        session(self).cmdloop()
        return self.worst_result

    def run_subcommand(self, argv: list[str]) -> int:
        try:
            cmd_factory, cmd_name, sub_argv = self.command_manager.find_command(argv)
        except ValueError:
            self.unknown_command(argv)
            return 2
        self.current_command = cmd_name
        cmd = cmd_factory(self, self.options, cmd_name=cmd_name)
        result = 1
        err: BaseException | None = None
        try:
            self.prepare_to_run_command(cmd)
            full_name = cmd_name if self.interactive_mode else f"{self.NAME} {cmd_name}"
            cmd_parser = cmd.get_parser(full_name)
            cmd_parser.allow_abbrev = False  # `--pol` must not mean --policy: options may grow
            try:
                parsed_args = cmd_parser.parse_args(sub_argv)
            except SystemExit as exc:  # usage error (already printed) or --help
                result = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 2
                return result
            check_text_arguments(cmd_parser, parsed_args)
            _resume_gc()
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
        except SystemExit as exc:  # cliff's help says it is done with HelpExit(None)
            result = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
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

    def unknown_command(self, argv: list[str]) -> None:
        """One line: the words not understood, and the commands they may have meant."""
        import difflib

        last = self.command_manager._get_last_possible_command_index(argv)
        words = " ".join(argv[: max(1, min(last, 2))])
        names = [n for n in self.command_manager.commands if n not in ("complete",)]
        matches = difflib.get_close_matches(words, names, n=4)
        if not matches:
            matches = [n for n in sorted(names) if n.startswith(words)][:4]
        hint = f" Did you mean: {', '.join(matches)}?" if matches else ""
        self.stderr.write(
            f"{self.NAME}: unknown command '{words}'.{hint} See '{self.NAME} --help'.\n"
        )

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


# Start-up builds many long-lived objects (modules, classes, parsers) and almost no
# garbage, so the cyclic garbage collector, which would walk them again and again, is
# paused while it runs. When the first command starts, what start-up built is frozen
# (gc.freeze: no later collection, nor the one at exit, walks it again) and the
# collector resumes for the command. Once per process: a program calling main() in a
# loop freezes nothing of its own later garbage.
_startup_gc = "fresh"  # "paused" while start-up runs, then "done"


def _pause_gc() -> None:
    global _startup_gc
    if _startup_gc != "fresh":
        return
    if gc.isenabled():
        gc.disable()
        _startup_gc = "paused"
    else:  # the calling program turned it off: leave it as it is
        _startup_gc = "done"


def _resume_gc(freeze: bool = True) -> None:
    """End of start-up: the collector runs again (never left off when main() returns)."""
    global _startup_gc
    if _startup_gc == "paused":
        if freeze:
            gc.freeze()
        gc.enable()
        _startup_gc = "done"


def _program_name(argv0: str) -> str:
    name = os.path.splitext(os.path.basename(argv0))[0]
    return name if name in ("oio", "openio") else "oio"


def main(argv: list[str] | None = None) -> int:
    OioShell.NAME = _program_name(sys.argv[0])
    if argv is None:
        argv = sys.argv[1:]
    _pause_gc()
    try:
        return OioShell().run(argv)
    finally:
        _resume_gc(freeze=False)


if __name__ == "__main__":
    sys.exit(main())
