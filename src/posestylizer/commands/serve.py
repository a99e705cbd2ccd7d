"""``posestylizer serve --checkpoint CKPT``: the REST API and the pose-studio page under uvicorn."""

from __future__ import annotations

import argparse
import ipaddress
import socket
import sys
from pathlib import Path

from posestylizer.commands.argtypes import NON_NEGATIVE, POSITIVE
from posestylizer.commands.common import add_model_options
from posestylizer.errors import ConfigError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "serve",
        help="the pose studio: a web page and REST API to re-pose the person in a photo",
        description="Loads the checkpoint once and serves the pose-studio page at http://HOST:PORT/ and the REST API "
        "under /api (OpenAPI spec at /openapi.json, reference at /docs). Needs the 'web' extra.",
    )
    add_model_options(p)
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this machine only; 0.0.0.0 opens it to the network)")
    p.add_argument("--port", type=int, default=8000, help="TCP port, 1-65535 (default 8000)")
    p.add_argument("--max-upload-mb", type=POSITIVE, default=20.0, help="largest accepted file (default 20 MB)")
    p.add_argument("--max-megapixels", type=POSITIVE, default=40.0, help="largest accepted image (default 40)")
    p.add_argument("--queue", type=NON_NEGATIVE, default=4,
                   help="requests that may wait for the model while one runs; more are answered 503 (default 4)")
    p.add_argument("--timeout", type=POSITIVE, default=120.0, help="seconds before a request is answered 503")
    p.set_defaults(func=run_serve)


def _web_modules():
    try:
        import uvicorn

        from posestylizer.server import create_app
    except ModuleNotFoundError as err:
        if err.name and err.name.split(".")[0] in {"fastapi", "uvicorn", "starlette", "multipart", "python_multipart"}:
            raise ConfigError(f"serve needs the 'web' extra: pip install 'posestylizer[web]' ({err})") from None
        raise
    return uvicorn, create_app


def run_serve(args: argparse.Namespace) -> int:
    from posestylizer.inference import PoseStylizerPipeline

    if args.max_upload_mb <= 0 or args.max_megapixels <= 0 or args.queue < 0 or args.timeout <= 0:
        raise ConfigError("--max-upload-mb, --max-megapixels and --timeout must be positive and --queue >= 0")
    uvicorn, create_app = _web_modules()
    _check_port(args.host, args.port)  # before the model loads: a taken port costs nothing
    pipe = PoseStylizerPipeline.from_pretrained(args.checkpoint, device=args.device, preset=args.preset,
                                                precision=args.precision)
    app = create_app(
        pipe, checkpoint_name=_display_name(args.checkpoint), max_upload_bytes=int(args.max_upload_mb * 1e6),
        max_pixels=int(args.max_megapixels * 1e6), queue_size=args.queue, timeout=args.timeout,
    )
    if not _is_loopback(args.host):
        print(f"posestylizer serve: listening on {args.host}: anyone who can reach this address can use the model",
              file=sys.stderr)
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"pose studio: http://{host}:{args.port}/  (API reference: /docs; Ctrl-C stops)", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


def _check_port(host: str, port: int) -> None:
    """ConfigError unless ``port`` is a valid TCP port that ``host`` can listen on now (bound and released at once,
    with the SO_REUSEADDR that uvicorn sets too, so only a port another server holds is refused)."""
    if not 1 <= port <= 65535:
        raise ConfigError(f"--port {port}: choose a TCP port from 1 to 65535")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as err:
        raise ConfigError(f"--host {host}: not an address of this machine ({err.strerror})") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as err:
            raise ConfigError(f"--port {port}: cannot listen on {host}:{port} ({err.strerror}); is another server "
                              "running there? choose another --port") from None


def _display_name(checkpoint: str) -> str:
    """What clients see of the checkpoint: its name and its folder's (``demo_out/run``, ``market_APS/latest_netG.pth``),
    never the full path."""
    path = Path(checkpoint).resolve()
    return f"{path.parent.name}/{path.name}" if path.parent.name else path.name


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
