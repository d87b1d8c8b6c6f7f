"""Runs one notebook top to bottom with the venv's own kernel, for `make test` (root tooling).

The one file in tools/ that needs the venv: tools/testing.py runs it with the venv's python.
"""

import sys
import tempfile
import time
from pathlib import Path

CELL_TIMEOUT = 120
KERNEL_QUIET = ["--IPKernelApp.log_level=ERROR"]


def execute(path: Path) -> int:
    import nbformat
    from ipykernel.kernelspec import write_kernel_spec
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as kernels:
        # A "python3" kernelspec installed elsewhere (user or system folders) may point at
        # another Python; this one is the interpreter running this file: the venv's.
        # Its log level: the kernel's startup warnings (plain TCP on loopback) are noise here;
        # a failing cell still reports its error.
        write_kernel_spec(Path(kernels) / "python3", extra_arguments=KERNEL_QUIET)
        specs = KernelSpecManager(kernel_dirs=[kernels])
        kernel = KernelManager(kernel_name="python3", kernel_spec_manager=specs)
        client = NotebookClient(
            notebook,
            km=kernel,
            timeout=CELL_TIMEOUT,
            resources={"metadata": {"path": str(path.parent)}},  # the kernel's working directory
        )
        try:
            client.execute()
        except Exception as error:
            print(f"FAIL  {path.name}: {failing_cell(notebook)}\n{error}")
            return 1
        finally:
            # nbclient shuts down only the kernels it created itself.
            if kernel.has_kernel:
                kernel.shutdown_kernel(now=True)
    print(f"PASS  {path.name} ({time.monotonic() - started:.1f} s)")
    return 0


def failing_cell(notebook) -> str:
    """Which cell failed: the first code cell with an error output."""
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    for number, cell in enumerate(code_cells, start=1):
        if any(output.get("output_type") == "error" for output in cell.get("outputs", [])):
            return f"code cell {number} of {len(code_cells)}"
    return "a cell did not finish (timeout or dead kernel)"


if __name__ == "__main__":
    sys.exit(execute(Path(sys.argv[1]).resolve()))
