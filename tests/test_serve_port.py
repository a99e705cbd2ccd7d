"""`serve` checks its port before loading the model: an invalid or taken port is one line and exit 2, at once."""

from __future__ import annotations

import socket

import pytest
from extras_helpers import need

need("fastapi")

from posestylizer.cli import main  # noqa: E402


@pytest.mark.parametrize("port", ["-1", "0", "70000"])
def test_invalid_port(tmp_path, capsys, port):
    # the checkpoint does not exist: the port must be refused before anything tries to load it
    assert main(["serve", "--checkpoint", str(tmp_path / "missing"), "--port", port]) == 2
    err = capsys.readouterr().err.strip()
    assert err.splitlines() == [f"posestylizer serve: error: --port {port}: choose a TCP port from 1 to 65535"]


def test_taken_port(tmp_path, capsys):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        assert main(["serve", "--checkpoint", str(tmp_path / "missing"), "--port", str(port)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"cannot listen on 127.0.0.1:{port}" in err, err
