"""Real local sockets standing in for a dependency that misbehaves: one that accepts TCP and
never answers (a frozen Redis, a hung broker or database), one that answers late, and a
port where nothing listens."""

import socket
import threading
import time
from contextlib import contextmanager


@contextmanager
def hung_server(*, answer_after: float | None = None, answer: bytes = b""):
    """Yield the port of a 127.0.0.1 server that accepts every connection and reads what it
    is sent; it never answers, or answers `answer` after `answer_after` seconds."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    listener.settimeout(0.05)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def serve(conn: socket.socket) -> None:
        conn.settimeout(0.05)
        started = time.monotonic()
        while not stop.is_set():
            try:
                if not conn.recv(65536):
                    return
            except TimeoutError:
                pass
            except OSError:
                return
            if answer_after is not None and time.monotonic() - started >= answer_after:
                try:
                    conn.sendall(answer)
                except OSError:
                    pass
                return

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            accepted.append(conn)
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        listener.close()
        for conn in accepted:
            conn.close()


def refused_port() -> int:
    """A 127.0.0.1 port where nothing listens (connections are refused at once)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
