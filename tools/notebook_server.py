"""`make notebook`: one step's notebook in the venv's Jupyter, on the venv's Python (root tooling,
from issue 16); STEP=6 opens notebook 06, which has no step folder. Stdlib only: tools/run.py
imports it before the venv exists.

Jupyter serves the repository's root, so that a notebook's links to its step's README open in
Jupyter too; the notebook's kernel starts in notebooks/ all the same (a kernel starts in its
notebook's folder). Ctrl-C (or SIGTERM) stops Jupyter, and Jupyter stops the kernels it started.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

from demo import stop, wait_until_listening
from workshop import ROOT, UsageError, find_step, notebooks, port_is_free, relative, step_number

DEFAULT_PORT = 8888  # Jupyter's own; when it is taken, the next free one
PORTS_TRIED = 50  # as many as Jupyter itself tries
# The notebooks' metadata ask for the kernel "python3".
KERNEL_NAME = "python3"


def notebook_of(step: Path) -> Path:
    """The step's notebook, notebooks/NN_slug.ipynb."""
    found = notebooks(step_number(step))
    if len(found) != 1:
        raise UsageError(f"{step.name} has no notebook (notebooks/{step_number(step):02d}_*.ipynb)")
    return found[0]


def find_notebook(number: int | None) -> Path:
    """Notebook `number` (notebooks/NN_slug.ipynb), with or without a step folder of that
    number (06 has none); the newest step's when `number` is None."""
    if number is not None and len(found := notebooks(number)) == 1:
        return found[0]
    return notebook_of(find_step(number))


def choose_port(port: int | None) -> int:
    """`port` when it is given; else 8888 or the next free port after it."""
    if port is not None:
        return port
    for candidate in range(DEFAULT_PORT, DEFAULT_PORT + PORTS_TRIED):
        if port_is_free(candidate):
            return candidate
    raise UsageError(f"ports {DEFAULT_PORT} to {DEFAULT_PORT + PORTS_TRIED - 1} are all taken")


def write_kernel_spec(data_dir: Path, python: Path) -> None:
    """A "python3" kernel that runs the venv's python, in a Jupyter data folder.

    Put first on JUPYTER_PATH, it wins over any other "python3" kernel (one installed with
    `ipykernel install --user` for another Python, say), so the notebook runs in the venv.
    """
    folder = data_dir / "kernels" / KERNEL_NAME
    folder.mkdir(parents=True)
    spec = {
        # The log level: the kernel's warning about plain TCP on loopback is noise here.
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
        + ["--IPKernelApp.log_level=ERROR"],
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
        "metadata": {"debugger": True},
    }
    (folder / "kernel.json").write_text(json.dumps(spec, indent=1), encoding="utf-8")


def jupyter_command(python: Path, notebook: Path, port: int, open_browser: bool) -> list[str]:
    """Jupyter Notebook (the `notebook` package that `jupyter` installs) on `notebook`."""
    command = [str(python), "-m", "notebook", notebook.relative_to(ROOT).as_posix()]
    command += [f"--ServerApp.root_dir={ROOT}", "--ServerApp.ip=127.0.0.1"]
    # No other port than the one the URL names: it is printed before Jupyter could move.
    command += [f"--ServerApp.port={port}", "--ServerApp.port_retries=0"]
    # Warnings and errors only: the URL to open is printed below, once.
    command += ["--ServerApp.log_level=WARN"]
    if not open_browser:
        command.append("--no-browser")
    if os.name != "nt" and os.geteuid() == 0:
        command.append("--allow-root")  # a container's root user: Jupyter refuses it otherwise
    return command


def main(python: Path, notebook: Path, port: int | None = None, open_browser: bool = True) -> int:
    port = choose_port(port)
    if not port_is_free(port):
        print(f"notebook: port {port} is already in use on 127.0.0.1; nothing started.")
        return 1
    # The URL's token, handed to Jupyter in its environment (not on a command line that
    # `ps` shows to every user of the machine).
    token = secrets.token_hex(24)
    url = f"http://127.0.0.1:{port}/notebooks/{quote(relative(notebook))}?token={token}"

    def stop_on_signal(signum, frame):
        raise KeyboardInterrupt

    # SIGBREAK: Ctrl-Break on Windows.
    for name in ("SIGINT", "SIGTERM", "SIGBREAK"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), stop_on_signal)
    with tempfile.TemporaryDirectory(prefix="workshop-jupyter-") as data_dir:
        write_kernel_spec(Path(data_dir), python)
        paths = [data_dir, *filter(None, [os.environ.get("JUPYTER_PATH")])]
        env = {**os.environ, "JUPYTER_TOKEN": token, "JUPYTER_PATH": os.pathsep.join(paths)}
        # Its own process group: Ctrl-C reaches this script only, which stops Jupyter
        # without Jupyter's "Shutdown this Jupyter server (y/[n])?" question.
        if os.name == "nt":
            group = {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}
        else:
            group = {"start_new_session": True}
        command = jupyter_command(python, notebook, port, open_browser)
        jupyter = None
        try:
            jupyter = subprocess.Popen(command, cwd=ROOT, env=env, **group)
            if not wait_until_listening(port, [jupyter]):
                print("notebook: Jupyter did not start (see its output above)")
                return 1
            print_banner(notebook, url, python, open_browser)
            # Polled rather than waited for: on Windows a plain wait() does not see Ctrl-C.
            while jupyter.poll() is None:
                time.sleep(0.5)
            return jupyter.returncode  # stopped from its own page (File, Shut Down)
        except KeyboardInterrupt:
            print("\nnotebook: stopping Jupyter")
            return 0
        finally:
            # A second Ctrl-C must not interrupt the cleanup and leave Jupyter behind.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            if jupyter is not None:
                stop([jupyter])


def print_banner(notebook: Path, url: str, python: Path, open_browser: bool) -> None:
    opened = (
        "Jupyter opens it in your browser when it finds one; else open" if open_browser else "Open"
    )
    print(f"\n{relative(notebook)} is served by Jupyter.")
    print(f"{opened} this URL:", flush=True)
    print(f"  {url}")
    print(f"Its kernel ({KERNEL_NAME}) runs {relative(python)}, from {relative(notebook.parent)}/.")
    print("Ctrl-C stops Jupyter and the notebook's kernel.\n", flush=True)
