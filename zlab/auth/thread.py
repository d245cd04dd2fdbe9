"""``ThreadAuthenticator``: an ``Authenticator`` that answers ZAP requests on a thread of its own.

Owns: the authentication thread and its stop signal. Rules: layer L3; the thread alone uses the ZAP
socket between ``start`` and ``stop``; policy changes (allow, configure_plain...) from other threads
are plain assignments to the authenticator's dicts and sets, seen by the next request.
"""

from __future__ import annotations

import threading
from typing import Any

import zlab

from .base import Authenticator


class ThreadAuthenticator(Authenticator):
    """Run the ZAP handler in a background thread: ``start()``, configure, ..., ``stop()``."""

    def __init__(self, context: zlab.Context | None = None, encoding: str = "utf-8", log: Any = None) -> None:
        super().__init__(context, encoding, log)
        self.thread: threading.Thread | None = None
        self._stop_send: zlab.Socket | None = None
        self._stop_recv: zlab.Socket | None = None

    def start(self) -> None:
        """Bind the ZAP socket and start answering on a daemon thread."""
        super().start()
        name = f"inproc://zlab.auth.stop-{id(self):x}"
        self._stop_recv = self.context.socket(zlab.PAIR, socket_class=zlab.Socket)
        self._stop_recv.bind(name)
        self._stop_send = self.context.socket(zlab.PAIR, socket_class=zlab.Socket)
        self._stop_send.connect(name)
        self.thread = threading.Thread(target=self._run, name="zlab-auth", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        zap, stop = self.zap_socket, self._stop_recv
        assert zap is not None and stop is not None
        poller = zlab.Poller()
        poller.register(zap, zlab.POLLIN)
        poller.register(stop, zlab.POLLIN)
        while True:
            try:
                ready = dict(poller.poll())
            except zlab.ZMQError:  # the context was terminated
                return
            if stop in ready:
                return
            if zap in ready:
                try:
                    msg = zap.recv_multipart(zlab.NOBLOCK)
                except zlab.Again:
                    continue
                except zlab.ZMQError:
                    return
                self.handle_zap_message(msg)

    def stop(self) -> None:
        """Stop the thread (waits for it) and close the ZAP socket."""
        thread = self.thread
        if thread is not None and self._stop_send is not None:
            try:
                self._stop_send.send(b"STOP")
            except zlab.ZMQError:
                pass
            thread.join(timeout=5)
        self.thread = None
        for sock in (self._stop_send, self._stop_recv):
            if sock is not None:
                sock.close(linger=0)
        self._stop_send = self._stop_recv = None
        super().stop()

    def is_alive(self) -> bool:
        """Whether the authentication thread is running."""
        return self.thread is not None and self.thread.is_alive()

    def __del__(self) -> None:
        try:
            if self.is_alive():
                self.stop()
        except Exception:
            pass


__all__ = ["ThreadAuthenticator"]
