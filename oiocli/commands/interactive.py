"""`oio` with no command on a terminal: an interactive session (cmd2, through cliff).

The prompt is `(oio)`; cmd2's escapes to a shell or to Python (`shell`, `!`,
`py`, `run_pyscript`, `run_script`, `edit`) are removed: an administration
tool's session runs its own commands only (an alias or a macro can only name
those).
"""

from __future__ import annotations

from typing import Any

import cmd2
from cliff.interactive import InteractiveApp

from oiocli.shell import worse


class OioSession(InteractiveApp):
    # cmd2 lists as commands the callable `do_*` attributes: these are not
    do_shell = None
    do_py = None
    do_ipy = None
    do_run_pyscript = None
    do_run_script = None
    do__relative_run_script = None
    do_edit = None
    do_shortcuts = None

    def __init__(self, parent_app: Any) -> None:
        self.parent_app = parent_app
        self.command_manager = parent_app.command_manager
        self.errexit = False
        cmd2.Cmd.__init__(
            self,
            "tab",
            stdin=parent_app.stdin,
            stdout=parent_app.stdout,
            allow_cli_args=False,
            shortcuts={},
        )
        self.prompt = f"({parent_app.NAME}) "

    def default(self, line: Any) -> bool | None:
        words = self._split_line(line)
        app = self.parent_app
        app.command_line = [*app.global_argv, *words]
        code = app.run_subcommand(words)
        app.worst_result = worse(app.worst_result, code)
        return bool(code) if app.options.fail_fast else None


def session(app: Any) -> OioSession:
    return OioSession(app)
