"""A TCP proxy on 127.0.0.1 that plays a failing dependency: it forwards, hangs (accepts and
never answers, the worst case for a client), or is dead (closes every connection at once).

    with FaultProxy(6379) as proxy:            # forwards to 127.0.0.1:6379
        url = f"redis://127.0.0.1:{proxy.port}/0"
        proxy.mode = "hang"                    # existing connections freeze too
"""

import socket
import threading

MODES = ("forward", "hang", "dead")


class FaultProxy:
    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.mode = "forward"
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._pairs: list[tuple[socket.socket, socket.socket | None]] = []
        self._lock = threading.Lock()
        self._closed = False

    def __enter__(self) -> "FaultProxy":
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._closed = True
        self._listener.close()
        self._drop_all()

    def set_mode(self, mode: str) -> None:
        assert mode in MODES
        self.mode = mode
        if mode == "dead":
            self._drop_all()

    def _drop_all(self) -> None:
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            for sock in pair:
                if sock is not None:
                    try:
                        sock.close()
                    except OSError:
                        pass

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self.mode == "dead":
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                client.close()  # a reset, as from a port nobody listens on
                continue
            upstream = None
            if self.mode == "forward":
                try:
                    upstream = socket.create_connection(self.target, timeout=2)
                    upstream.settimeout(None)
                except OSError:
                    client.close()
                    continue
            with self._lock:
                self._pairs.append((client, upstream))
            if upstream is not None:
                threading.Thread(target=self._pipe, args=(client, upstream), daemon=True).start()
                threading.Thread(target=self._pipe, args=(upstream, client), daemon=True).start()
            # in "hang" the client's connection is accepted and left unanswered

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                while self.mode == "hang":  # hold what is in flight: the peer sees silence
                    threading.Event().wait(0.05)
                    if self._closed:
                        return
                if self.mode == "dead":
                    break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.close()
                except OSError:
                    pass
