"""Kernels forked from one process that has imported ipykernel and matplotlib once per render.

Every document's kernel imports the same modules before its first cell: ipykernel and IPython
(``python -m ipykernel_launcher``) and ``matplotlib.pyplot`` (Quarto's setup cell:
src/resources/jupyter/lang/python/setup.py), about 0.9 s of CPU per kernel. A fork server
(``kernel_zygote.py``) does those imports once and forks each kernel from there; each kernel
is still its own process in its own folder and environment, one per document, as Quarto
starts them, and jupyter_client manages it as it manages a kernel it launched itself
(``ForkedKernelProvisioner``: poll, signals, kill, interrupt of its process group).

A kernel is forked only when its environment is the server's (the imports it would make
read their environment: ``MPLCONFIGDIR``, ``PYTHONHASHSEED``, locale, ...) apart from the
variables that name the document (``PER_DOCUMENT_ENV``), and its command is the standard
``<this Python> -m ipykernel_launcher``; any other kernel is launched as before.
``QMD_KERNEL_FORK=0`` launches every kernel directly.

The server ends when the render process closes its pipe (at exit) or dies (the pipe closes
too): it kills any kernel still running first, so no kernel outlives its render.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning import LocalProvisioner

from analysis.render.limits import CELL_TIMEOUT_SECONDS

FORK_ENV_VAR = "QMD_KERNEL_FORK"
# Set per document by the render (analysis/render/command.py) or per kernel by jupyter_client: not
# read by the imports the server makes, so kernels that differ only in these share a server.
PER_DOCUMENT_ENV = ("QUARTO_DOCUMENT_PATH", "QUARTO_DOCUMENT_FILE")
_SERVER_SOURCE = Path(__file__).with_name("kernel_zygote.py")
# run as a file, not ``-m analysis.render...``: the server imports nothing of the project (a kernel
# imports the project's modules itself, from its own sys.path)
_RUN_SERVER = "__import__('runpy').run_path(__import__('sys').argv[1], run_name='__main__')"


def _shared_env(env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k not in PER_DOCUMENT_ENV and not k.startswith("JPY_")}


class ForkedProcess:
    """The ``subprocess.Popen`` surface jupyter_client uses, for a kernel forked by the server."""

    stdin = stdout = stderr = None

    def __init__(self, server: "KernelForkServer", pid: int):
        self.server, self.pid, self.returncode = server, pid, None

    def poll(self) -> int | None:
        if self.returncode is None:
            self.returncode = self.server.exit_code(self.pid)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(f"kernel {self.pid}", timeout)
            self.server.wait_for_news(0.05)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:   # never a signal to a pid the server has reaped (it may be reused)
            os.kill(self.pid, signum)

    def kill(self) -> None:
        import signal

        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        import signal

        self.send_signal(signal.SIGTERM)


class KernelForkServer:
    """One server process (``kernel_zygote.py``) and the pipe to it; thread-safe."""

    def __init__(self, env: dict[str, str], cwd: str):
        self.env, self.cwd = env, cwd
        self._lock = threading.Lock()
        self._exited: dict[int, int] = {}
        self._forked: dict[int, int] = {}
        self._errors: dict[int, str] = {}
        self._live: set[int] = set()
        self.broken = False
        self.reserved = 0   # callers given this server by server_for that have not forked yet (_servers_lock)
        self._next_id = 0
        self._buffer = b""
        kernel_stdout = os.dup(1)   # the kernels write where a kernel Popen starts would: our stdout
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-c", _RUN_SERVER, str(_SERVER_SOURCE), str(kernel_stdout)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, cwd=cwd, pass_fds=(kernel_stdout,),
                start_new_session=True)   # as a kernel is started: a Ctrl-C at the terminal reaches the render only
        finally:
            os.close(kernel_stdout)

    def alive(self) -> bool:
        return not self.broken and self.process.poll() is None

    def idle(self) -> bool:
        """No kernel of this server still running (every one it forked has been reported ended)."""
        with self._lock:
            self._read(timeout=0)
            return self.reserved == 0 and self._live <= set(self._exited)

    def fork(self, argv: list[str], env: dict[str, str], cwd: str, warm: list[str] = ()) -> ForkedProcess:
        """A kernel forked with ``argv``, ``env``, ``cwd``, after the server imported ``warm`` (errors ignored)."""
        with self._lock:
            request_id = self._next_id
            self._next_id += 1
            line = json.dumps({"id": request_id, "argv": argv, "env": env, "cwd": cwd, "warm": list(warm)}) + "\n"
            try:
                self.process.stdin.write(line.encode())
                self.process.stdin.flush()
            except (BrokenPipeError, ValueError) as error:
                raise OSError(f"kernel fork server gone: {error}") from None
            deadline = time.monotonic() + CELL_TIMEOUT_SECONDS
            while request_id not in self._forked and request_id not in self._errors:
                remaining = deadline - time.monotonic()
                if remaining <= 0:   # stuck (a module it imports never returns): no more kernels from it
                    self.broken = True
                    raise OSError(f"kernel fork server did not fork within {CELL_TIMEOUT_SECONDS} s")
                if not self._read(timeout=remaining):
                    raise OSError("kernel fork server ended before forking a kernel")
            if request_id in self._errors:
                raise OSError(f"kernel fork server could not fork: {self._errors.pop(request_id)}")
            pid = self._forked.pop(request_id)
            self._live.add(pid)
            return ForkedProcess(self, pid)

    def exit_code(self, pid: int) -> int | None:
        with self._lock:
            self._read(timeout=0)
            if pid in self._exited:
                return self._exited[pid]
            if self.process.poll() is not None and not self._buffer:   # the server is gone: so are its kernels
                return -9
            return None

    def wait_for_news(self, seconds: float) -> None:
        with self._lock:
            self._read(timeout=seconds)

    def _read(self, timeout: float | None) -> bool:
        """Read what the server wrote within ``timeout`` (None: until something arrives); False at its end."""
        out = self.process.stdout
        if out.closed:   # closed by close(): the server and its kernels are gone
            return False
        poller = select.poll()   # not select.select: a render process may hold more than 1024 descriptors
        poller.register(out.fileno(), select.POLLIN)
        if not poller.poll(None if timeout is None else timeout * 1000):
            return True
        chunk = os.read(out.fileno(), 65536)
        if not chunk:
            return False
        self._buffer += chunk
        while b"\n" in self._buffer:
            line, self._buffer = self._buffer.split(b"\n", 1)
            message: dict[str, Any] = json.loads(line)
            if "exited" in message:
                self._exited[message["exited"]] = message["code"]
            elif "error" in message:
                self._errors[message["id"]] = message["error"]
            else:
                self._forked[message["id"]] = message["pid"]
        return True

    def release(self) -> None:
        """A caller of server_for is done with it (forked or not): the server may be closed when idle."""
        with _servers_lock:
            self.reserved -= 1

    def close(self) -> None:
        with self._lock:   # never while a fork or a read is under way in another thread
            try:
                self.process.stdin.close()   # the server kills what is left and exits
            except OSError:
                pass
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process.stdout.close()


_servers: list[KernelForkServer] = []
_servers_lock = threading.Lock()


def server_for(env: dict[str, str], cwd: str) -> KernelForkServer | None:
    """The fork server for kernels with environment ``env`` in folder ``cwd`` (started on first use),
    or None when kernels are launched directly (``QMD_KERNEL_FORK=0``, or no ``fork`` here).

    A server whose kernels have all ended is closed when another one is started (a process that
    renders again with other data, as the tests and the preview do, keeps one server at a time).
    The caller forks from it, then calls ``release()``: until then the server is not idle, so a
    render in another thread never closes it between this call and the fork."""
    if env.get(FORK_ENV_VAR, os.environ.get(FORK_ENV_VAR, "1")) == "0" or not hasattr(os, "fork"):
        return None
    shared = _shared_env(env)
    with _servers_lock:
        for server in _servers:
            if server.env == shared and server.cwd == cwd and server.alive():
                server.reserved += 1
                return server
        for server in [s for s in _servers if s.process.poll() is not None or s.idle()]:
            server.close()
            _servers.remove(server)
        server = KernelForkServer(shared, cwd)
        server.reserved += 1
        _servers.append(server)
        return server


def close_servers() -> None:
    """End every fork server (each kills any kernel of its own still running)."""
    with _servers_lock:
        while _servers:
            _servers.pop().close()


atexit.register(close_servers)


def _is_standard_kernel(cmd: list[str]) -> bool:
    return (len(cmd) >= 3 and cmd[1:3] == ["-m", "ipykernel_launcher"]
            and os.path.realpath(cmd[0]) == os.path.realpath(sys.executable))


class ForkedKernelProvisioner(LocalProvisioner):
    """jupyter_client's local provisioner, whose kernel process is forked by the server when it can be."""

    async def launch_kernel(self, cmd: list[str], **kwargs: Any):
        env = kwargs.get("env")
        cwd = str(kwargs.get("cwd") or os.getcwd())
        try:
            server = server_for(env, cwd) if env is not None and _is_standard_kernel(cmd) else None
        except OSError:   # no server could be started (no stdout to hand on, no process left): launched directly
            server = None
        if server is None:
            return await super().launch_kernel(cmd, **kwargs)
        import importlib.util

        try:
            launcher = importlib.util.find_spec("ipykernel_launcher").origin   # sys.argv[0] of ``python -m``
            self.process = server.fork([launcher, *cmd[3:]], dict(env), cwd,
                                       list(getattr(self.parent, "warm_modules", ())))
        except OSError:   # the server cannot fork (any more): this kernel is launched directly
            return await super().launch_kernel(cmd, **kwargs)
        finally:
            server.release()
        self.pid = self.pgid = self.process.pid   # the kernel leads its own session, as launched by Popen
        self.cwd = cwd
        return self.connection_info


class ForkingKernelManager(AsyncKernelManager):
    """``AsyncKernelManager`` whose kernels come from ``ForkedKernelProvisioner``.

    ``warm_modules``: modules the server imports before it forks this kernel (the document's
    imports, which the kernel would otherwise import itself while it waits for the pre-render step).
    """

    warm_modules: tuple[str, ...] = ()

    async def _async_pre_start_kernel(self, **kw: Any):
        if self.provisioner is None:
            import uuid

            self.kernel_id = self.kernel_id or kw.pop("kernel_id", str(uuid.uuid4()))
            self.provisioner = ForkedKernelProvisioner(kernel_id=self.kernel_id, kernel_spec=self.kernel_spec,
                                                       parent=self)
        return await super()._async_pre_start_kernel(**kw)
