"""Kernels forked from the render's fork server (analysis/render/kernel_fork.py): each still one
process per document, in its folder and environment, with its own seeds and a working inline
backend; kernels of another environment, or with QMD_KERNEL_FORK=0, are launched directly; no
kernel outlives a render process that is killed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from analysis.render import kernel_fork
from analysis.render.execute import execute_document
from analysis.render.project import EXECUTE_DEFAULTS
from analysis.render.qmd import parse_qmd

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="the fork server needs fork()")

PROBE = textwrap.dedent("""\
    ```{python}
    import json, os, random, sys
    import matplotlib.pyplot as plt
    print(json.dumps({"pid": os.getpid(), "ppid": os.getppid(), "sid": os.getsid(0), "cwd": os.getcwd(),
                      "file": os.environ.get("QUARTO_DOCUMENT_FILE"), "argv0": sys.argv[0],
                      "random": random.random(), "path": sys.path,
                      "modules": sorted(m for m in sys.modules if m.startswith(("matplotlib", "IPython")))}))
    plt.plot([0, 1], [1, 0])
    ```
    """)


def probe(tmp_path: Path, name: str, env: dict[str, str]) -> tuple[dict, list[str]]:
    folder = tmp_path / name
    folder.mkdir(exist_ok=True)
    path = folder / "doc.qmd"
    path.write_text(PROBE, encoding="utf-8")
    executed = execute_document(parse_qmd(path), EXECUTE_DEFAULTS, env, progress=lambda _m: None)
    outputs = [o for outs in executed.outputs.values() for o in outs]
    text = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    mimes = [m for o in outputs for m in o.get("data", {})]
    return json.loads(text), mimes


def server_pids() -> set[int]:
    return {server.process.pid for server in kernel_fork._servers if server.alive()}


def test_kernels_of_one_environment_are_forked_each_in_its_own_folder_session_and_seed(tmp_path):
    kernel_fork.close_servers()
    env = {k: v for k, v in os.environ.items() if k != kernel_fork.FORK_ENV_VAR}
    first, first_mimes = probe(tmp_path, "a", dict(env, QUARTO_DOCUMENT_FILE="a.qmd"))
    second, second_mimes = probe(tmp_path, "a", dict(env, QUARTO_DOCUMENT_FILE="b.qmd"))
    servers = server_pids()
    assert first["ppid"] in servers and second["ppid"] == first["ppid"]   # forked by one server
    assert first["pid"] != second["pid"]
    assert (first["file"], second["file"]) == ("a.qmd", "b.qmd")
    assert first["cwd"] == second["cwd"] == str(tmp_path / "a")
    assert first["sid"] == first["pid"]   # its own session, as jupyter_client's launcher starts a kernel
    assert first["argv0"].endswith("ipykernel_launcher.py")
    assert first["random"] != second["random"]
    # the inline backend hooked into each kernel's shell: the figure is shown
    assert "image/png" in first_mimes and "image/png" in second_mimes


def test_another_environment_or_fork_off_launches_directly(tmp_path):
    kernel_fork.close_servers()
    env = {k: v for k, v in os.environ.items() if k != kernel_fork.FORK_ENV_VAR}
    forked, _ = probe(tmp_path, "a", dict(env, QUARTO_DOCUMENT_FILE="a.qmd"))
    other, _ = probe(tmp_path, "b", dict(env, QUARTO_DOCUMENT_FILE="a.qmd"))   # another folder: another server
    assert other["ppid"] != forked["ppid"] and other["ppid"] in server_pids()
    direct, mimes = probe(tmp_path, "a", dict(env, **{kernel_fork.FORK_ENV_VAR: "0"}))
    assert direct["ppid"] == os.getpid() and "image/png" in mimes
    # the same import path and the same matplotlib and IPython modules loaded as a kernel launched directly
    assert direct["path"] == forked["path"] and direct["modules"] == forked["modules"]


KILLED_RENDER = textwrap.dedent("""\
    import json, os, signal, sys
    from jupyter_core.utils import run_sync
    from analysis.render.kernel_fork import ForkingKernelManager, _servers

    manager = ForkingKernelManager(kernel_name="python3")
    run_sync(manager.start_kernel)(cwd=sys.argv[1], env=dict(os.environ))
    print(json.dumps({"kernel": manager.provisioner.pid, "server": _servers[0].process.pid}), flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
    """)


def running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process states from /proc")
def test_no_kernel_outlives_a_killed_render_process(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != kernel_fork.FORK_ENV_VAR}
    process = subprocess.run([sys.executable, "-c", KILLED_RENDER, str(tmp_path)], env=env,
                             stdout=subprocess.PIPE, text=True, timeout=120)
    assert process.returncode == -signal.SIGKILL
    pids = json.loads(process.stdout)
    assert pids["kernel"] != pids["server"]
    deadline = time.monotonic() + 30   # the server sees its pipe close, kills the kernel, exits
    while any(running(pid) for pid in pids.values()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(running(pid) for pid in pids.values()), pids


WARM_PROBE = textwrap.dedent("""\
    ```{{python}}
    import json, os
    import {module}
    print(json.dumps({{"imported_in_kernel": {module}.IMPORTED_IN == os.getpid(), "ppid": os.getppid(),
                      "folder": os.path.basename(os.path.dirname({module}.__file__))}}))
    ```
    """)


def warm_probe(tmp_path: Path, folder: Path, module: str, env: dict[str, str]) -> dict:
    from analysis.render.gate import StartGate

    path = folder / "doc.qmd"
    path.write_text(WARM_PROBE.format(module=module), encoding="utf-8")
    gate = StartGate()
    gate.open()
    executed = execute_document(parse_qmd(path), EXECUTE_DEFAULTS, env, progress=lambda _m: None, gate=gate)
    return json.loads("".join(o.get("text", "") for outs in executed.outputs.values() for o in outs))


def test_the_server_imports_the_documents_modules_before_forking_unless_the_folder_shadows_them(tmp_path):
    """With a pre-render step (a start gate), what the cells import is imported once, by the server,
    when the kernel would find the same module; a module of the document's own folder is the
    kernel's to import; a module that starts a thread stops the forking (kernels launched directly)."""
    kernel_fork.close_servers()
    lib = tmp_path / "lib"
    lib.mkdir()
    record = "import os\nIMPORTED_IN = os.getpid()\n"
    (lib / "warm_probe_lib.py").write_text(record)
    (lib / "warm_probe_thread.py").write_text(record + "import threading, time\n"
                                              "threading.Thread(target=time.sleep, args=(60,), daemon=True).start()\n")
    env = {k: v for k, v in os.environ.items() if k != kernel_fork.FORK_ENV_VAR}
    env["PYTHONPATH"] = os.pathsep.join([str(lib), *filter(None, [env.get("PYTHONPATH")])])
    folder = tmp_path / "doc"
    folder.mkdir()
    # the kernel finds its folder's module before an installed one of the same name ('' comes before
    # site-packages on its sys.path); the server, without '', would import the installed one
    (folder / "pypandoc.py").write_text(record)
    warmed = warm_probe(tmp_path, folder, "warm_probe_lib", env)
    assert warmed["ppid"] in server_pids()
    assert warmed == {"imported_in_kernel": False, "ppid": warmed["ppid"], "folder": "lib"}
    local = warm_probe(tmp_path, folder, "pypandoc", env)
    assert local == {"imported_in_kernel": True, "ppid": warmed["ppid"], "folder": "doc"}   # forked; the folder's module
    threaded = warm_probe(tmp_path, folder, "warm_probe_thread", env)
    assert threaded["ppid"] == os.getpid()   # the server no longer forks: launched directly


def test_a_server_handed_out_is_not_closed_by_another_thread_before_it_forks(tmp_path):
    """Two renders in one process (the conformance corpus renders two documents at a time): a server
    is closed as idle when another is started, but never between server_for and its fork (that
    closed its pipes under a kernel being started: 'I/O operation on closed file')."""
    kernel_fork.close_servers()
    env = dict(os.environ)
    folders = []
    for name in ("a", "b", "c"):
        (tmp_path / name).mkdir()
        folders.append(str(tmp_path / name))
    try:
        first = kernel_fork.server_for(env, folders[0])
        second = kernel_fork.server_for(env, folders[1])   # another folder: a new server; the first is reserved
        assert first.alive() and not first.process.stdout.closed
        first.release()
        second.release()
        kernel_fork.server_for(env, folders[2]).release()   # now both are idle: closed
        assert first.process.poll() is not None and second.process.poll() is not None
        assert first.exit_code(12345) == -9   # a closed server reads as ended, not as an I/O error
    finally:
        kernel_fork.close_servers()
