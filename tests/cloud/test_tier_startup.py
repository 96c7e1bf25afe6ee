"""A namespace with a tier policy: commands that touch no tier chunk import no cloud code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def test_plain_commands_import_no_cloud_library(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OIO_")}
    env.update(OIO_DATA_DIR=str(tmp_path / "ns"), OIO_ACCOUNT="acct", HOME=str(tmp_path))
    (tmp_path / "f").write_bytes(b"plain data")
    code = (
        "import sys, json\n"
        "from oiocli.shell import main\n"
        "main(['namespace', 'set', '--policy',"
        " 'B2=backblaze/account_id=k,bucket_name=cold', '-f', 'value'])\n"
        f"main(['object', 'create', 'c', {str(tmp_path / 'f')!r}, '--policy', 'SINGLE'])\n"
        "main(['object', 'list', 'c'])\n"
        "main(['object', 'delete', 'c', 'f'])\n"
        "print(json.dumps(sorted(sys.modules)), file=sys.stderr)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, env=env, cwd=tmp_path, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    modules = set(json.loads(proc.stderr.decode().strip().splitlines()[-1]))
    assert "oiocli.commands.object" in modules
    for lazy in ("botocore", "oiocli.backends.cloud", "oiocli.backends.cloud.s3", "xml.etree"):
        assert lazy not in modules, lazy
