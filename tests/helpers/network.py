"""Ports for the servers the tests start on 127.0.0.1."""

import socket


def free_port():
    """A TCP port on 127.0.0.1 that is free now (bound to port 0, then released: another process
    could take it before the caller does, so a server that fails to bind should be retried)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
