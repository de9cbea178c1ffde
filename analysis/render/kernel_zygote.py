"""The kernel fork server's own program (run as a file by ``analysis.render.kernel_fork``).

It imports once what every document's kernel imports before a cell runs (ipykernel and
IPython, which ``python -m ipykernel_launcher`` loads, ipykernel.debugger, which the kernel
imports when it is made, and ``matplotlib.pyplot``, which
Quarto's setup cell imports: src/resources/jupyter/lang/python/setup.py), then forks one
kernel per request. A forked kernel is what ``python -m ipykernel_launcher -f <connection
file>`` would be in the requested folder with the requested environment: a new session
(as jupyter_client's launcher starts it), its own random seeds, stdin on /dev/null.

Protocol (one JSON object a line): requests on stdin, ``{"id", "argv", "env", "cwd", "warm"}``
(``warm``: modules to import before forking, see ``_warm``);
replies on stdout, ``{"id", "pid"}`` (or ``{"id", "error"}``) and ``{"exited": pid,
"code": returncode}`` when a kernel ends. End of stdin (the render process closed it, or
died): every kernel still running is killed and the server exits.

Only the standard library, ipykernel and matplotlib are imported here, never the project's
own modules: a document imports those itself, inside its kernel, with its own ``sys.path``.
"""

import contextlib
import json
import os
import select
import signal
import sys

KERNEL_STDOUT_FD = -1   # the render process's stdout (last argument), which a kernel writes to as when Popen starts it
REPLY_FD = 1            # the replies' pipe (stdout when started; moved off fd 1 so that nothing else writes to it)
_children: set[int] = set()
_warmed: set[str] = set()
_unsafe = ""            # why this server no longer forks (a warmed module started a thread)


def _preload() -> None:
    # As ipykernel_launcher: the current directory is not on sys.path while the kernel's modules
    # load (IPython puts the kernel's own folder there when it starts: InteractiveShellApp.init_path).
    if sys.path and sys.path[0] in ("", os.getcwd()):
        del sys.path[0]
    import ipykernel.ipkernel  # noqa: F401
    import ipykernel.kernelapp  # noqa: F401
    # IPythonKernel.__init__ imports its debugger module, which imports debugpy, whose log module
    # calls platform.platform() (a ``uname -p`` process): 60 ms a kernel, once here instead. What
    # pydevd prints then (a warning about frozen modules) a kernel sends to no cell: dropped here too.
    with _stderr_dropped():
        import ipykernel.debugger  # noqa: F401
    # What ``import matplotlib.pyplot`` loads, but neither pyplot itself nor a backend: the setup cell
    # selects the inline backend before it imports pyplot, and the inline backend configures the
    # kernel's shell when it is imported (matplotlib_inline.backend_inline._enable_matplotlib_integration),
    # so both are imported in the kernel, in the setup cell's order. Importing matplotlib here also
    # reads its configuration (matplotlibrc, in the current folder first): the server runs in the kernel's.
    import matplotlib.colorbar  # noqa: F401
    import matplotlib.figure  # noqa: F401
    import matplotlib.image  # noqa: F401
    import matplotlib.style  # noqa: F401
    import matplotlib.widgets  # noqa: F401


@contextlib.contextmanager
def _stderr_dropped():
    """File descriptor 2 on /dev/null meanwhile (what Python and native code print there)."""
    saved = os.dup(2)
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    try:
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


def _reply(message: dict) -> None:
    data = (json.dumps(message) + "\n").encode()
    while data:
        data = data[os.write(REPLY_FD, data):]


def _warm(modules: list[str], cwd: str) -> None:
    """Import the modules the document's cells import, before forking its kernel, as the kernel
    itself does while the pre-render step runs (``execute._warm_imports``; errors are the cell's to
    report). A module is imported only if the kernel would find the same file: its name is not an
    entry of the kernel's folder, which comes first on the kernel's sys.path ('') and is not on the
    server's. Whatever it prints is dropped, as the kernel drops its warm-up cell's output. A module
    that starts a thread makes forking unsafe: the server then forks no more kernels."""
    global _unsafe
    import importlib
    import threading

    entries = os.listdir(cwd)
    wanted = [m for m in modules if m not in _warmed]
    _warmed.update(wanted)
    wanted = [m for m in wanted if not any(e == m.partition(".")[0] or e.startswith(m.partition(".")[0] + ".")
                                           for e in entries)]
    if not wanted:
        return
    with _stderr_dropped():
        for name in wanted:
            try:
                importlib.import_module(name)
            except BaseException:   # noqa: BLE001 - as the kernel's warm-up: the cell reports it
                pass
    if threading.active_count() > 1:
        _unsafe = "a module imported before forking started a thread"
    import gc

    gc.freeze()


def _reap() -> None:
    while _children:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        _children.discard(pid)
        _reply({"exited": pid, "code": os.waitstatus_to_exitcode(status)})


def _become_kernel(request: dict, wake_fds: tuple[int, int]) -> None:
    """In the forked child: set up the process as the launcher would, run the kernel, exit."""
    code = 1
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for fd in (*wake_fds, REPLY_FD):
            os.close(fd)
        os.setsid()   # jupyter_client's launcher: start_new_session=True (interrupts reach the group)
        null = os.open(os.devnull, os.O_RDWR)
        os.dup2(null, 0)
        os.dup2(KERNEL_STDOUT_FD, 1)
        os.close(null)
        os.close(KERNEL_STDOUT_FD)
        os.environ.clear()
        os.environ.update(request["env"])
        # the kernel watches this server (ipykernel ParentPollerUnix): it ends when the server does
        os.environ["JPY_PARENT_PID"] = str(os.getppid())
        os.chdir(request["cwd"])
        sys.argv = list(request["argv"])
        if "numpy.random" in sys.modules:   # the random module reseeds itself after a fork; numpy's does not
            sys.modules["numpy.random"].seed()
        from ipykernel import kernelapp

        try:
            # the app's default parent is read from $JPY_PARENT_PID when ipykernel is imported (here: before the fork)
            kernelapp.launch_new_instance(parent_handle=int(os.environ["JPY_PARENT_PID"]))
            code = 0
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
        import atexit

        atexit._run_exitfuncs()
    except BaseException:   # noqa: BLE001 - a kernel that cannot start reports it and exits, never returns here
        import traceback

        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def main() -> None:
    global KERNEL_STDOUT_FD, REPLY_FD
    KERNEL_STDOUT_FD = int(sys.argv[-1])
    REPLY_FD = os.dup(1)
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)   # the server's own prints (a warmed module's) go nowhere
    os.close(null)
    _preload()
    import gc

    gc.freeze()   # what the imports made is shared with every kernel, untouched by their collections
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.set_wakeup_fd(wake_write)
    buffer = b""
    while True:
        try:
            ready, _, _ = select.select([0, wake_read], [], [])
        except InterruptedError:
            continue
        if wake_read in ready:
            os.read(wake_read, 4096)
        _reap()
        if 0 not in ready:
            continue
        chunk = os.read(0, 65536)
        if not chunk:
            break
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            request = json.loads(line)
            if request.get("warm"):
                _warm(request["warm"], request["cwd"])
            if _unsafe:
                _reply({"id": request["id"], "error": _unsafe})
                continue
            try:
                pid = os.fork()
            except OSError as error:
                _reply({"id": request["id"], "error": str(error)})
                continue
            if pid == 0:
                _become_kernel(request, (wake_read, wake_write))
            _children.add(pid)
            _reply({"id": request["id"], "pid": pid})
    for pid in list(_children):   # the render process is gone: so are its kernels
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass
    while _children:
        try:
            pid, _status = os.waitpid(-1, 0)
        except ChildProcessError:
            break
        _children.discard(pid)


if __name__ == "__main__":
    main()
