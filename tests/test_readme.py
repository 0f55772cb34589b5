"""Every code block in README.md runs as written: Python blocks are executed (each in a fresh namespace,
in a temporary folder), and every ``ptft ...`` line of a bash block parses with the real CLI parser."""
from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```(\w*)\n(.*?)```", README.read_text(), flags=re.S)
PYTHON = [code for lang, code in BLOCKS if lang == "python"]
COMMANDS = [line.split("#")[0].strip() for lang, code in BLOCKS if lang == "bash" for line in code.splitlines()
            if line.strip().startswith("ptft ")]


def test_readme_has_code_blocks():
    assert len(PYTHON) >= 5 and len(COMMANDS) >= 8
    assert all(lang in ("python", "bash") for lang, _ in BLOCKS), "every block names its language"


@pytest.mark.parametrize("k", range(len(PYTHON)))
def test_python_block_runs(k, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    exec(compile(PYTHON[k], f"README.md python block {k}", "exec"), {"__name__": "__readme__"})


@pytest.mark.parametrize("line", COMMANDS)
def test_ptft_command_parses(line):
    from ptft.verification.cli import build_parser

    argv = shlex.split(line)[1:]
    if "|" in line or "[" in line:      # a synopsis line: check its subcommand exists
        assert argv[0] in build_parser()._subparsers._group_actions[0].choices
        return
    build_parser().parse_args(argv)
