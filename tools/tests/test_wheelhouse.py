"""Tests of the wheelhouse (tools/wheelhouse.py, tools/bootstrap.py): a venv built from one with
the package index off, and `make wheelhouse` run against a folder of tiny wheels. No internet:
the tests build their wheels with zipfile; the index pip and uv see is an empty one on loopback,
which remembers every request."""

import base64
import contextlib
import functools
import hashlib
import http.server
import io
import os
import shutil
import subprocess
import sys
import threading
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest

import bootstrap
import wheelhouse

PYTHON = Path(sys.executable)  # the venv's, which runs these tests


@contextlib.contextmanager
def serving(handler):
    """`handler` served on loopback in a thread: its URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def package_index():
    """The package index pip and uv are told to use: empty (404), on loopback, listing what it
    was asked (`asked`), so that a test sees an install that did not switch the index off."""
    asked = []

    class EmptyIndex(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            asked.append(self.path)
            self.send_error(404)

        def log_message(self, *args):
            pass

    with serving(EmptyIndex) as url:
        yield SimpleNamespace(url=f"{url}simple/", asked=asked)


def index_environment(index) -> dict[str, str]:
    """pip's and uv's settings that point them at `index`, without retries."""
    pip = {"PIP_INDEX_URL": index.url, "PIP_RETRIES": "0"}
    return {**pip, "UV_DEFAULT_INDEX": index.url, "UV_INDEX_URL": index.url, "UV_HTTP_RETRIES": "0"}


def build_wheel(folder: Path, name: str, version: str, requires=(), tag="py3-none-any") -> Path:
    """A wheel of one module, `name` with `_` for `-`, holding VERSION; its RECORD hashed."""
    module = name.replace("-", "_")
    info = f"{module}-{version}.dist-info"
    requirements = "".join(f"Requires-Dist: {requirement}\n" for requirement in requires)
    files = {
        f"{module}/__init__.py": f"VERSION = {version!r}\n",
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        + requirements,
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
        + f"Tag: {tag}\n",
    }
    record = []
    for path, text in files.items():
        digest = hashlib.sha256(text.encode()).digest()
        encoded = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        record.append(f"{path},sha256={encoded},{len(text.encode())}")
    files[f"{info}/RECORD"] = "\n".join([*record, f"{info}/RECORD,,"]) + "\n"
    wheel = folder / f"{module}-{version}-{tag}.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    return wheel


def write_requirements(folder: Path, name: str, *pins: str) -> Path:
    path = folder / name
    path.write_text("".join(f"{pin}\n" for pin in pins), encoding="utf-8")
    return path


def imported_versions(venv: Path, *modules: str) -> str:
    """What `venv`'s python prints importing `modules`: their VERSIONs, space-separated."""
    code = f"import {', '.join(modules)}; print(*[m.VERSION for m in ({', '.join(modules)},)])"
    done = subprocess.run(
        [str(bootstrap.venv_python(venv)), "-c", code], capture_output=True, text=True
    )
    return done.stdout.strip() or done.stderr.strip()


@contextlib.contextmanager
def installer(kind: str, index):
    """The bootstrap installs with uv when it is on the PATH; "pip" hides it. Either one is
    pointed at the empty `index`, whose list of requests starts empty."""
    index.asked.clear()
    with pytest.MonkeyPatch.context() as patch:
        if kind == "pip":
            patch.setattr(bootstrap, "find_uv", lambda: None)
        for variable, value in index_environment(index).items():
            patch.setenv(variable, value)
        yield


# --- the bootstrap, from a wheelhouse ---------------------------------------------------------

INSTALLERS = [
    "pip",
    pytest.param("uv", marks=pytest.mark.skipif(not shutil.which("uv"), reason="no uv")),
]


@pytest.fixture(scope="module")
def tiny_wheelhouse(tmp_path_factory):
    """A wheelhouse: probe-alpha (which needs probe-beta), and for each installer a wheel to
    install from the folder and one to install over HTTP."""
    folder = tmp_path_factory.mktemp("wheelhouse")
    build_wheel(folder, "probe-alpha", "1.0", requires=["probe-beta==2.0"])
    build_wheel(folder, "probe-beta", "2.0")
    for kind in ("pip", "uv"):
        build_wheel(folder, f"probe-{kind}-folder", "3.0")
        build_wheel(folder, f"probe-{kind}-served", "4.0")
    return folder


@pytest.fixture(scope="module")
def offline_venv(tiny_wheelhouse, package_index, tmp_path_factory):
    """A venv built by the bootstrap from the tiny wheelhouse (WORKSHOP_WHEELHOUSE) with pip,
    as on a machine without uv: (the venv, what the bootstrap printed, what it asked the
    index)."""
    folder = tmp_path_factory.mktemp("offline")
    requirements = write_requirements(folder, "requirements.txt", "probe-alpha==1.0")
    venv, printed = folder / "venv", io.StringIO()
    with installer("pip", package_index), pytest.MonkeyPatch.context() as patch:
        patch.setenv(bootstrap.WHEELHOUSE_VARIABLE, str(tiny_wheelhouse))
        with contextlib.redirect_stdout(printed):  # capsys is for one test, this runs once
            bootstrap.ensure_venv(bootstrap.running_interpreter(), venv, requirements=requirements)
    return venv, printed.getvalue(), list(package_index.asked)


def test_bootstrap_builds_a_venv_from_the_wheelhouse_with_the_index_off(offline_venv):
    venv, _, asked_the_index = offline_venv
    assert imported_versions(venv, "probe_alpha", "probe_beta") == "1.0 2.0"
    assert asked_the_index == []


def test_bootstrap_says_it_installs_from_the_wheelhouse_with_no_network(
    offline_venv, tiny_wheelhouse
):
    venv, printed, _ = offline_venv
    said = f"installing requirements.txt into {venv} from the wheelhouse {tiny_wheelhouse}{os.sep}"
    assert f"{said}, no network" in printed


@pytest.mark.parametrize("kind", INSTALLERS)
def test_installer_installs_from_the_wheelhouse_folder(
    offline_venv, tiny_wheelhouse, package_index, kind
):
    venv, *_ = offline_venv
    requirements = write_requirements(venv.parent, f"{kind}.txt", f"probe-{kind}-folder==3.0")
    with installer(kind, package_index):
        bootstrap.install_requirements(venv, requirements, str(tiny_wheelhouse))
    assert imported_versions(venv, f"probe_{kind}_folder") == "3.0"
    assert package_index.asked == []


@pytest.mark.parametrize("kind", INSTALLERS)
def test_missing_wheel_names_the_requirement_and_how_to_fix_it(
    offline_venv, tiny_wheelhouse, package_index, kind
):
    venv, *_ = offline_venv
    requirements = write_requirements(venv.parent, "missing.txt", "probe-gamma==3.0")
    with installer(kind, package_index), pytest.raises(bootstrap.BootstrapError) as raised:
        bootstrap.install_requirements(venv, requirements, str(tiny_wheelhouse))
    message = str(raised.value)
    wheelhouse = f"the wheelhouse {tiny_wheelhouse}{os.sep}"
    assert f"{wheelhouse} has no wheel of probe-gamma==3.0 for " in message
    assert (
        "run `make wheelhouse` (python tools/run.py wheelhouse) where there is network" in message
    )


class QuietFiles(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def served_wheelhouse(tiny_wheelhouse):
    """The tiny wheelhouse served as `python -m http.server` does, on loopback: its URL."""
    with serving(functools.partial(QuietFiles, directory=tiny_wheelhouse)) as url:
        yield url


@pytest.mark.parametrize("kind", INSTALLERS)
def test_wheelhouse_served_by_http_server_installs(
    offline_venv, served_wheelhouse, package_index, kind
):
    venv, *_ = offline_venv
    requirements = write_requirements(venv.parent, "served.txt", f"probe-{kind}-served==4.0")
    with installer(kind, package_index):
        bootstrap.install_requirements(venv, requirements, served_wheelhouse)
    assert imported_versions(venv, f"probe_{kind}_served") == "4.0"
    assert package_index.asked == []


def test_wheels_folder_in_the_root_is_the_wheelhouse(tmp_path, monkeypatch):
    monkeypatch.delenv(bootstrap.WHEELHOUSE_VARIABLE, raising=False)
    (tmp_path / "wheels").mkdir()
    assert bootstrap.find_wheelhouse(tmp_path) == str(tmp_path / "wheels")


def test_variable_wins_over_the_wheels_folder(tmp_path, monkeypatch):
    (tmp_path / "wheels").mkdir()
    monkeypatch.setenv(bootstrap.WHEELHOUSE_VARIABLE, "http://192.168.1.10:8000/")
    assert bootstrap.find_wheelhouse(tmp_path) == "http://192.168.1.10:8000/"


def test_no_wheelhouse_means_the_package_index(tmp_path, monkeypatch):
    monkeypatch.delenv(bootstrap.WHEELHOUSE_VARIABLE, raising=False)
    assert bootstrap.find_wheelhouse(tmp_path) is None


# --- make wheelhouse, against a folder of tiny wheels instead of PyPI -------------------------


@pytest.fixture(scope="module")
def tiny_index(tmp_path_factory):
    """Wheels to download from (pip's --find-links, the index off): probe-app needs
    probe-windows on Windows, probe-posix elsewhere, probe-old before Python 3.12;
    probe-native has a wheel for CPython 3.13 on Windows only."""
    folder = tmp_path_factory.mktemp("index")
    requires = [
        'probe-windows==1.0; sys_platform == "win32"',
        'probe-posix==1.0; sys_platform != "win32"',
        'probe-old==1.0; python_version < "3.12"',
    ]
    build_wheel(folder, "probe-app", "1.0", requires=requires)
    for name in ("probe-windows", "probe-posix", "probe-old"):
        build_wheel(folder, name, "1.0")
    build_wheel(folder, "probe-native", "1.0", tag="cp313-cp313-win_amd64")
    return folder


def make_wheelhouse(tiny_index, dest, systems, versions, *pins):
    """`make wheelhouse` of `pins` for the targets chosen, from `tiny_index` with the index
    off: (its exit code, what it printed)."""
    requirements = write_requirements(dest.parent, f"{dest.name}.txt", *pins)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = wheelhouse.main(
            PYTHON,
            dest,
            systems,
            versions,
            requirements=requirements,
            extra_pip_arguments=["--no-index", "--find-links", str(tiny_index)],
        )
    return code, printed.getvalue()


def wheel_names(folder: Path) -> set[str]:
    return {path.name.split("-")[0] for path in folder.glob("*.whl")}


@pytest.mark.parametrize(
    ("system", "version", "expected"),
    [
        ("windows-amd64", "3.14", {"probe_app", "probe_windows"}),
        ("linux-x86_64", "3.11", {"probe_app", "probe_posix", "probe_old"}),
    ],
)
def test_each_target_gets_the_dependencies_its_markers_select(
    tiny_index, tmp_path, system, version, expected
):
    code, printed = make_wheelhouse(
        tiny_index, tmp_path / "wheels", [system], [version], "probe-app"
    )
    assert code == 0, printed
    assert wheel_names(tmp_path / "wheels") == expected


def test_target_without_a_wheel_is_named_with_the_requirement(tiny_index, tmp_path):
    targets = ["linux-x86_64", "windows-amd64"]
    code, printed = make_wheelhouse(tiny_index, tmp_path / "w", targets, ["3.13"], "probe-native")
    assert code == 1
    assert "windows-amd64 Python 3.13: ok" in printed
    missing = "linux-x86_64 Python 3.13 (no wheel of probe-native for it"
    assert f"wheelhouse: 1 target(s) failed: {missing}" in printed


def test_summary_counts_the_files_and_megabytes_written(tiny_index, tmp_path):
    dest = tmp_path / "wheels"
    code, printed = make_wheelhouse(tiny_index, dest, ["windows-amd64"], ["3.12"], "probe-app")
    assert code == 0, printed
    assert "wrote 2 files, 0.0 MB, in " in printed
    assert f"; {dest}{os.sep} holds 2 files, 0.0 MB" in printed
