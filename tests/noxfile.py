"""The README's "Tested with" table, reproduced: a maintainer's tool, not a requirement of the lesson. From the
project's folder, `nox -f tests/noxfile.py -l` lists a session a row and uv_indexes (tests/uv_indexes.py); without
-l it runs the table, each row in a fresh environment (torch==X from PyPI, on Linux a CUDA build that runs on the
CPU; NumPy < 2 for torch < 2.3; pytest) as .ci/run does. Each session works from the project's folder.
"""

from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent.parent

TABLE = [("3.10", "2.0.1"), ("3.11", "2.3.1"), ("3.12", "2.7.1"), ("3.12", "2.11.0"), ("3.11", "2.13.0")]
TABLE += [("3.13", "2.15.0")]  # (Python, torch), the README's rows; a missing Python fails, none is downloaded
nox.options.sessions, nox.options.download_python, nox.options.error_on_missing_interpreters = ["table"], "never", True


@nox.session
@nox.parametrize(("python", "torch"), TABLE)
def table(session, torch):
    numpy = "numpy<2" if tuple(map(int, torch.split(".")[:2])) < (2, 3) else "numpy"
    session.install(f"torch=={torch}", numpy, "pytest", "hypothesis")
    session.chdir(ROOT)
    session.run("python", "-m", "pytest", "-p", "no:cacheprovider")
    session.run("python", "-m", "pytest", "-p", "no:cacheprovider", "-m", "optim or thorough")
    session.run("python", "tests/run_lessons.py")


@nox.session
def uv_indexes(session):
    session.install("uv")
    session.chdir(ROOT)
    session.run("python", "tests/uv_indexes.py")
