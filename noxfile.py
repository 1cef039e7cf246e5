"""The README's "Tested with" table, reproduced: a maintainer's tool, not a requirement of the lesson.

    nox -l                         # the sessions: one for each (Python, PyTorch) of the table, and uv_indexes
    nox                            # the whole table
    nox -s "table(python='3.12', torch='2.11.0')"

Each table session builds a fresh environment for its pair: torch==X from PyPI (on Linux the CUDA build, 2 to
5 GB, which runs on the CPU where there is no GPU), NumPy (older than 2 for torch older than 2.3, built against
NumPy 1) and pytest; then, as .ci/run does, the suite, its optim tests and each lesson, failing as CI would.
Its Pythons are found on PATH (pyenv's shims serve). uv_indexes runs tests/uv_indexes.py.
"""

import nox

TABLE = [("3.10", "2.0.1"), ("3.11", "2.3.1"), ("3.12", "2.7.1"), ("3.12", "2.11.0"), ("3.11", "2.13.0")]
TABLE += [("3.13", "2.15.0")]
nox.options.sessions = ["table"]


@nox.session
@nox.parametrize(("python", "torch"), TABLE)
def table(session, torch):
    numpy = "numpy<2" if tuple(map(int, torch.split(".")[:2])) < (2, 3) else "numpy"
    session.install(f"torch=={torch}", numpy, "pytest")
    session.run("python", "-m", "pytest", "-p", "no:cacheprovider")
    session.run("python", "-m", "pytest", "-p", "no:cacheprovider", "-m", "optim")
    session.run("python", "tests/run_lessons.py")


@nox.session
def uv_indexes(session):
    session.install("uv")
    session.run("python", "tests/uv_indexes.py")
