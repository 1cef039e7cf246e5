"""Does `uv pip install -r requirements.txt` resolve what pip resolves? A simulation, for maintainers:
`nox -f tests/noxfile.py -s uv_indexes`, or `python tests/uv_indexes.py` with uv on PATH (the suite runs it where
uv is found, under -m thorough).

requirements.txt names PyTorch's CPU index with --extra-index-url. That index carries numpy too, at older
releases than PyPI. uv puts an extra index first and, by its default index strategy, takes each package from
the first index that has it: it looks for numpy on PyTorch's index alone. pip takes the best version from
either. Two local indexes stand in for the two, "pytorch" with numpy 2.1.3 and "pypi" with 2.2.6 and 2.4.6
(wheels that hold nothing but their names), and requirements.txt's index options and numpy pins are resolved
against them three ways: by pip; by uv as it is (--no-config); and by uv in a folder holding this project's
pyproject.toml, whose [tool.uv.pip] sets the index strategy. Exit 0 where pip and uv with the project's
setting resolve the pinned numpy and uv without it does not: what the README's Installing section says.
"""

import functools
import http.server
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # a line a request on stderr would bury the result
        pass


def wheel(folder, version):
    """A wheel of numpy version that installs nothing but its name, and the index page's link to it."""
    name, info = f"numpy-{version}-py3-none-any.whl", f"numpy-{version}.dist-info"
    with zipfile.ZipFile(folder / name, "w") as archive:
        archive.writestr("numpy/__init__.py", "")
        archive.writestr(f"{info}/METADATA", f"Metadata-Version: 2.1\nName: numpy\nVersion: {version}\n")
        tags = "Wheel-Version: 1.0\nGenerator: uv_indexes\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        archive.writestr(f"{info}/WHEEL", tags)
        archive.writestr(f"{info}/RECORD", f"numpy/__init__.py,,\n{info}/METADATA,,\n{info}/WHEEL,,\n{info}/RECORD,,\n")
    return f'<a href="{name}">{name}</a>'


def index(root, versions):
    """A PEP 503 index under root holding numpy at versions, served on a free port; its URL."""
    folder = root / "simple" / "numpy"
    folder.mkdir(parents=True)
    (folder / "index.html").write_text("<html><body>" + "".join(wheel(folder, v) for v in versions) + "</body></html>")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/simple"


def requirements(pytorch, pypi):
    """requirements.txt's index options and numpy lines, the two indexes put for PyTorch's and PyPI."""
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    kept = [line.replace("https://download.pytorch.org/whl/cpu", pytorch) for line in lines if "index" in line]
    return "\n".join([f"--index-url {pypi}", *kept, *(line for line in lines if line.startswith("numpy"))]) + "\n"


def resolved(command, cwd):
    """The numpy version command would install, or its last line where it installs none."""
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    found = re.search(r"numpy[-=]=?(\d+\.\d+\.\d+)", done.stdout + done.stderr)
    refused = [line for line in done.stderr.splitlines() if "not at the requested version" in line or "error" in line]
    return found[1] if found and done.returncode == 0 else "refused: " + (refused or ["?"])[0].strip()[:110]


def main():
    uv = shutil.which("uv")
    if uv is None:
        sys.exit("uv is not on PATH: run `nox -f tests/noxfile.py -s uv_indexes`, or install uv")
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        pytorch, pypi = index(scratch / "pytorch", ["2.1.3"]), index(scratch / "pypi", ["2.2.6", "2.4.6"])
        (scratch / "requirements.txt").write_text(requirements(pytorch, pypi))
        bare, project = scratch / "bare", scratch / "project"
        bare.mkdir(), project.mkdir()
        shutil.copy(ROOT / "pyproject.toml", project)
        pinned = "2.4.6" if sys.version_info >= (3, 11) else "2.2.6"
        needs = str(scratch / "requirements.txt")
        # What each would choose, whatever this environment holds already: pip ignores what is installed, uv
        # compiles (resolves without installing), for this Python's version
        pip = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "-r", needs]
        version = f"{sys.version_info[0]}.{sys.version_info[1]}"
        uv_compile = [uv, "--no-cache", "pip", "compile", "--python-version", version, needs]
        got = {
            "pip": resolved(pip, bare),
            "uv, its default": resolved([*uv_compile, "--no-config"], bare),
            "uv, this project's setting": resolved(uv_compile, project),
        }
    for how, version in got.items():
        print(f"{how:<28} numpy {version}")
    expected = {"pip": pinned, "uv, this project's setting": pinned}
    if any(got[how] != version for how, version in expected.items()) or got["uv, its default"] == pinned:
        sys.exit(f"uv_indexes: expected numpy {pinned} from pip and from uv with the project's setting only")
    print(f"as expected: numpy {pinned}, as pinned, from pip and from uv with this project's [tool.uv.pip]")


if __name__ == "__main__":
    main()
