"""CurveZMQ: encryption and client authentication for services exposed beyond loopback.

Keys are zmq certificate files made by ``mem3d keys`` (``NAME.key`` public, ``NAME.key_secret``
secret). A server with a ``CurveServerConfig`` accepts only clients whose public certificate is in
``authorized_clients``; others fail the handshake and never reach the service.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import zmq
import zmq.auth
from zmq.auth.thread import ThreadAuthenticator

from mem3d.errors import InvalidInputError


@dataclass(frozen=True)
class CurveServerConfig:
    secret_key: str
    """The server's ``*.key_secret`` certificate file."""
    authorized_clients: str
    """Directory of the public ``*.key`` certificates of the clients allowed in."""


@dataclass(frozen=True)
class CurveClientConfig:
    secret_key: str
    """The client's ``*.key_secret`` certificate file."""
    server_key: str
    """The server's public ``*.key`` certificate file."""


def add_client_key_arguments(parser) -> None:
    """``--client-key`` / ``--server-public-key`` for commands that talk to a ``--curve`` service."""
    parser.add_argument("--client-key", help="CurveZMQ: this client's .key_secret file (for a --curve service)")
    parser.add_argument("--server-public-key", help="CurveZMQ: the service's public .key file")


def client_curve_from_args(args) -> CurveClientConfig | None:
    """The client's CurveZMQ settings from ``add_client_key_arguments`` options (None: no encryption)."""
    if bool(args.client_key) != bool(args.server_public_key):
        raise InvalidInputError("CurveZMQ needs both --client-key and --server-public-key")
    if not args.client_key:
        return None
    load_keys(args.client_key)  # clear errors now, not a silent timeout later
    load_keys(args.server_public_key)
    return CurveClientConfig(args.client_key, args.server_public_key)


def load_keys(path: str | Path) -> tuple[bytes, bytes | None]:
    """(public, secret) keys of a certificate file; secret is None for a public-only file."""
    path = Path(path)
    if not path.is_file():
        raise InvalidInputError(f"key file {path} does not exist (make keys with `mem3d keys`)")
    try:
        return zmq.auth.load_certificate(str(path))
    except (ValueError, OSError) as error:
        raise InvalidInputError(f"{path} is not a zmq certificate: {error}") from None


def start_authenticator(context: zmq.Context, config: CurveServerConfig) -> ThreadAuthenticator:
    """Start the ZAP handler that admits only the authorized client keys."""
    clients = Path(config.authorized_clients)
    if not clients.is_dir():
        raise InvalidInputError(f"authorized clients directory {clients} does not exist")
    authenticator = ThreadAuthenticator(context)
    authenticator.start()
    authenticator.configure_curve(domain="*", location=str(clients))
    return authenticator


def secure_server_socket(socket: zmq.Socket, config: CurveServerConfig) -> None:
    public, secret = load_keys(config.secret_key)
    if secret is None:
        raise InvalidInputError(f"{config.secret_key} holds no secret key (use the .key_secret file)")
    socket.curve_publickey = public
    socket.curve_secretkey = secret
    socket.curve_server = True


def secure_client_socket(socket: zmq.Socket, config: CurveClientConfig) -> None:
    public, secret = load_keys(config.secret_key)
    if secret is None:
        raise InvalidInputError(f"{config.secret_key} holds no secret key (use the .key_secret file)")
    server_public, _ = load_keys(config.server_key)
    socket.curve_publickey = public
    socket.curve_secretkey = secret
    socket.curve_serverkey = server_public


def create_key_pair(directory: str | Path, name: str) -> tuple[Path, Path]:
    """Write ``NAME.key`` and ``NAME.key_secret`` into ``directory``; returns (public, secret) paths."""
    directory = Path(directory)
    if not name or "/" in name or name.startswith("."):
        raise InvalidInputError(f"bad key name {name!r}")
    directory.mkdir(parents=True, exist_ok=True)
    if (directory / f"{name}.key").exists():
        raise InvalidInputError(f"{directory / (name + '.key')} exists already; choose another name")
    public, secret = zmq.auth.create_certificates(str(directory), name)
    Path(secret).chmod(0o600)
    return Path(public), Path(secret)
