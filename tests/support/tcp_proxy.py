"""A TCP relay in front of an API server that a test can cut, on both clusters.

kubesim has fault controls (``/kubesim/*``); a real kube-apiserver has none, but a client
can still be disconnected: :class:`TcpProxy` relays 127.0.0.1 connections byte for byte (TLS
passes through untouched, the server certificate names 127.0.0.1), and :meth:`TcpProxy.cut`
resets every open connection and refuses new ones until :meth:`TcpProxy.restore`. Clients
reach it through :func:`kubeconfig_via`, a copy of the cluster's kubeconfig whose server is
the proxy.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from urllib.parse import urlsplit

import yaml


class TcpProxy:
    def __init__(self, upstream_url: str) -> None:
        parts = urlsplit(upstream_url)
        assert parts.hostname is not None, upstream_url
        assert parts.port is not None, upstream_url
        self.scheme = parts.scheme
        self._upstream = (parts.hostname, parts.port)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.refusing = False

    @property
    def url(self) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"{self.scheme}://127.0.0.1:{port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        self._reset_all()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def __aenter__(self) -> TcpProxy:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def cut(self) -> None:
        """Reset every relayed connection now and refuse new ones."""
        self.refusing = True
        self._reset_all()

    def restore(self) -> None:
        self.refusing = False

    def _reset_all(self) -> None:
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.refusing:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._upstream)
        except OSError:
            writer.transport.abort()
            return
        self._writers.update((writer, up_writer))
        pipes = [
            asyncio.create_task(self._pipe(reader, up_writer)),
            asyncio.create_task(self._pipe(up_reader, writer)),
        ]
        self._tasks.update(pipes)
        try:
            await asyncio.gather(*pipes, return_exceptions=True)
        finally:
            self._tasks.difference_update(pipes)
            for w in (writer, up_writer):
                self._writers.discard(w)
                w.close()

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        # The other side ended (or was cut): end this one too, after what is buffered.
        writer.close()


def kubeconfig_via(proxy: TcpProxy, kubeconfig: Path, target: Path) -> Path:
    """A copy of ``kubeconfig`` whose every cluster's server is ``proxy``."""
    config = yaml.safe_load(kubeconfig.read_text())
    for cluster in config.get("clusters") or []:
        cluster["cluster"]["server"] = proxy.url
    target.write_text(yaml.safe_dump(config))
    return target
