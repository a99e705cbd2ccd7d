"""Running a CLI command that must fail: exit code 2 and one ``posestylizer COMMAND: error: ...`` message."""

from __future__ import annotations

from posestylizer.cli import main


def failing_run(command: str, options: dict[str, str], extra: list[str], capsys, *, flags: tuple[str, ...] = (),
                **fields) -> str:
    """Run ``posestylizer COMMAND`` with ``options`` (``--name value``), overridden or extended by the pairs in
    ``extra`` (``{field}`` placeholders filled from ``fields``), plus ``flags``; assert exit code 2 and an error
    message without a traceback, and return that message."""
    options = dict(options)
    extra = [e.format(**fields) for e in extra]
    for i in range(0, len(extra), 2):
        options[extra[i]] = extra[i + 1]
    assert main([command] + [x for kv in options.items() for x in kv] + list(flags)) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"posestylizer {command}: error: ") and "Traceback" not in err, err
    return err
