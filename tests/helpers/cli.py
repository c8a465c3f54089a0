"""Helpers of the command-line tests: run ``mem3d ...`` in the test process, check one-line errors."""

from __future__ import annotations

from pathlib import Path

from mem3d.apps.cli import main


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    """(exit status, stdout, stderr) of ``mem3d argv...`` run through ``mem3d.apps.cli.main``."""
    capsys.readouterr()
    status = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def assert_one_line_error(err: str, command: str, message: str) -> None:
    """``err`` is exactly one line, ``mem3d COMMAND: error: ...`` containing ``message`` (no traceback)."""
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert err.startswith(f"mem3d {command}: error: ") and message in err, err
    assert "Traceback" not in err


def tree(path: Path) -> dict[str, bytes | None]:
    """Every file (its bytes) and folder (None) under ``path``: to show that a command changed nothing."""
    path = Path(path)
    if not path.exists():
        return {}
    return {str(p.relative_to(path)): (p.read_bytes() if p.is_file() else None) for p in sorted(path.rglob("*"))
            if p.name != "LOCK"}
