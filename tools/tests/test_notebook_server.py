"""Tests of `make notebook` (tools/notebook_server.py, through tools/run.py): Jupyter started once
on a free port with the browser off, the URL it prints, its kernel, and Ctrl-C."""

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit
from urllib.request import urlopen

import pytest

import notebook_server
from bootstrap import venv_python
from workshop import UsageError, port_is_free, step_dirs, step_number

RUN = Path(__file__).resolve().parent.parent / "run.py"
NOTEBOOK = "notebooks/01_sync_django.ipynb"
STARTUP_SECONDS = 60  # a loaded 2-core machine: make test runs three jobs at once
STOP_SECONDS = 30


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def interrupt(process: subprocess.Popen) -> None:
    """What Ctrl-C does to `make notebook` (Ctrl-Break on Windows)."""
    if os.name == "nt":
        process.send_signal(signal.CTRL_BREAK_EVENT)
    else:
        process.send_signal(signal.SIGINT)


@pytest.fixture(scope="module")
def jupyter(tmp_path_factory):
    """`run.py notebook --step 1` on a free port, once for this module, with a Jupyter home of
    its own in which a user-level "python3" kernel points at another Python."""
    home = tmp_path_factory.mktemp("jupyter")
    decoy = home / "data" / "kernels" / "python3"
    decoy.mkdir(parents=True)
    argv = ["/not/the/venv/python", "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    spec = {"argv": argv, "display_name": "another Python", "language": "python"}
    (decoy / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_DATA_DIR": str(home / "data"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        # The user's folders before the venv's, as outside a venv: the decoy would win.
        "JUPYTER_PREFER_ENV_PATH": "0",
        "PYTHONUNBUFFERED": "1",
    }
    port = free_port()
    command = [sys.executable, str(RUN), "--venv", sys.prefix, "notebook", "--step", "1"]
    command += ["--port", str(port), "--no-browser"]
    if os.name == "nt":
        group = {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}
    else:
        group = {"start_new_session": True}
    process = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        encoding="utf-8",
        errors="replace",
        **group,
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def read_output():
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read_output, daemon=True).start()
    seen, url = [], None
    try:
        while url is None:
            line = lines.get(timeout=STARTUP_SECONDS)
            assert line is not None, "make notebook ended before printing a URL:\n" + "".join(seen)
            seen.append(line)
            if f"/notebooks/{NOTEBOOK}?token=" in line:
                url = line.strip()
        yield SimpleNamespace(process=process, url=url, port=port, lines=lines)
    finally:
        if process.poll() is None:
            interrupt(process)
            try:
                process.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def api(jupyter, path: str):
    """GET `path` from the server with the printed URL's token; its JSON."""
    token = urlsplit(jupyter.url).query.removeprefix("token=")
    with urlopen(f"http://127.0.0.1:{jupyter.port}{path}?token={token}", timeout=30) as answer:
        return json.load(answer)


def test_the_printed_url_opens_the_steps_notebook(jupyter):
    with urlopen(jupyter.url, timeout=30) as page:
        assert page.status == 200
        assert "- Notebook</title>" in page.read().decode()
    assert api(jupyter, f"/api/contents/{NOTEBOOK}")["type"] == "notebook"


def test_without_the_token_jupyter_asks_for_a_login(jupyter):
    with urlopen(jupyter.url.split("?")[0], timeout=30) as page:
        assert urlsplit(page.url).path == "/login"


def test_the_notebooks_kernel_runs_the_venvs_python(jupyter):
    spec = api(jupyter, "/api/kernelspecs")["kernelspecs"]["python3"]["spec"]
    assert Path(spec["argv"][0]) == venv_python(Path(sys.prefix))


def test_the_link_to_the_steps_readme_opens_in_jupyter(jupyter):
    # Jupyter serves the repository's root, so ../step01_sync_django/README.md is inside it.
    readme = "step01_sync_django/README.md"
    assert api(jupyter, f"/api/contents/{readme}")["path"] == readme


def test_a_step_number_opens_that_steps_notebook_and_none_the_newest_steps():
    assert notebook_server.find_notebook(2).name == "02_channels_websockets.ipynb"
    newest = step_number(step_dirs()[-1])
    assert notebook_server.find_notebook(None).name.startswith(f"{newest:02d}_")


def test_step_6_opens_notebook_06_which_has_no_step_folder():
    assert notebook_server.find_notebook(6).name == "06_realtime_under_load.ipynb"


def test_a_number_with_neither_a_step_nor_a_notebook_is_a_usage_error():
    with pytest.raises(UsageError, match="no step 09"):
        notebook_server.find_notebook(9)


# Last in this module: it stops the server the tests above share.
def test_ctrl_c_stops_jupyter(jupyter):
    interrupt(jupyter.process)
    assert jupyter.process.wait(STOP_SECONDS) == 0
    assert port_is_free(jupyter.port)
