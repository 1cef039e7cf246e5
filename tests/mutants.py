"""Does the suite notice a wrong lesson? Change one thing in one file at a time and run the suite.

Each mutant makes one change to one lesson script or one of the modules beside them: an arithmetic
operator or comparison swapped, a number nudged by 1, True and False flipped, an `if` turned round, a
grad-mode switch turned into its opposite (no_grad into enable_grad, ...), a statement dropped (a
.backward(), a .zero_(), an assignment), a decorator or a `not` removed. The suite then runs against it
in a scratch copy of the project. A mutant the suite passes is a change to the lesson that no test
notices: the report lists each with the line it changed, so that a test can be added (or the mutant
shown to change nothing).

It runs the suite hundreds of times, so it is not part of it:

    python tests/mutants.py                      # every script and module
    python tests/mutants.py 03_gradient_accumulation.py expressions.py --jobs 2

The suite runs with its thorough tests (the full matrices of --mine's judge, bad input, inputs and 05's graphs),
not the optim ones.
"""

import argparse
import ast
import copy
import os
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SWAPS = {
    ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult, ast.Pow: ast.Mult,
    ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt,
    ast.Is: ast.IsNot, ast.IsNot: ast.Is, ast.In: ast.NotIn, ast.NotIn: ast.In, ast.And: ast.Or, ast.Or: ast.And,
}  # fmt: skip
OPPOSITES = {"no_grad": "enable_grad", "enable_grad": "no_grad", "inference_mode": "enable_grad", "detach": "clone"}


def mutations(node, offsets):
    """(what, change, edits) for each way to mutate node: change(n) makes it on n, a copy of node in a copy
    of the tree; edits [(start, end, text), ...] make it in the source, between byte offsets start and end
    (offsets[i] is where line i + 1 starts)."""

    def rewritten(what, change):  # an expression changed in place: its source replaced by its new form
        mutated = copy.deepcopy(node)
        change(mutated)
        return what, change, [(*span(node, offsets), f"({ast.unparse(mutated)})")]

    if isinstance(node, (ast.BinOp, ast.BoolOp)) and type(node.op) in SWAPS:
        new = SWAPS[type(node.op)]
        yield rewritten(f"{type(node.op).__name__} -> {new.__name__}", lambda n: setattr(n, "op", new()))
    elif isinstance(node, ast.Compare) and type(node.ops[0]) in SWAPS:
        new = SWAPS[type(node.ops[0])]
        yield rewritten(f"{type(node.ops[0]).__name__} -> {new.__name__}", lambda n: n.ops.__setitem__(0, new()))
    elif isinstance(node, ast.Constant) and isinstance(node.value, bool):
        yield rewritten(f"{node.value} -> {not node.value}", lambda n: setattr(n, "value", not n.value))
    elif isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        yield rewritten(f"{node.value!r} -> {node.value + 1!r}", lambda n: setattr(n, "value", n.value + 1))
    elif isinstance(node, ast.Attribute) and node.attr in OPPOSITES:
        yield rewritten(f"{node.attr} -> {OPPOSITES[node.attr]}", lambda n: setattr(n, "attr", OPPOSITES[n.attr]))
    elif isinstance(node, ast.IfExp):

        def turn_round(n):  # both at once: one after the other would leave the else branch on both sides
            n.body, n.orelse = n.orelse, n.body

        yield rewritten("if-else turned round", turn_round)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.Not, ast.USub)):
        yield rewritten(f"{type(node.op).__name__} removed", lambda n: setattr(n, "op", ast.UAdd()))
    elif isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.decorator_list:
        lines = [(span(d, offsets)[0] - d.col_offset - 1, span(d, offsets)[1]) for d in node.decorator_list]
        yield "decorator removed", lambda n: setattr(n, "decorator_list", []), [(a, b, "") for a, b in lines]
    for field in ("body", "orelse", "finalbody"):
        statements = getattr(node, field, None)
        if not isinstance(statements, list):
            continue
        for i, statement in enumerate(statements):
            docstring = isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant)
            if isinstance(statement, (ast.Expr, ast.Assign, ast.AugAssign)) and not docstring:
                what = f"line {statement.lineno} dropped: {ast.unparse(statement).splitlines()[0][:60]}"
                drop = lambda n, field=field, i=i: getattr(n, field).__setitem__(i, ast.Pass())  # noqa: E731
                yield what, drop, [(*span(statement, offsets), "pass")]


def span(node, offsets):
    """node's (start, end) byte offsets in the source being mutated."""
    return offsets[node.lineno - 1] + node.col_offset, offsets[node.end_lineno - 1] + node.end_col_offset


def mutants(path):
    """(line, what, mutated source) for every mutation of the script at path. The source is edited in place,
    so that everything else in it stays as written, and each edit is checked to make exactly its mutation."""
    source = path.read_bytes()
    offsets = [0]
    for line in source.splitlines(keepends=True):
        offsets.append(offsets[-1] + len(line))
    tree = ast.parse(source)
    for index, node in enumerate(ast.walk(tree)):
        for what, change, edits in mutations(node, offsets):
            mutant = copy.deepcopy(tree)
            change(next(n for i, n in enumerate(ast.walk(mutant)) if i == index))
            edited = source
            for start, end, text in sorted(edits, reverse=True):
                edited = edited[:start] + text.encode() + edited[end:]
            if ast.dump(ast.parse(edited)) != ast.dump(mutant):
                raise AssertionError(
                    f"{path.name}:{getattr(node, 'lineno', 0)}: the edit for {what} is not that change"
                )
            yield getattr(node, "lineno", 0), what, edited.decode()


def suite_passes(script, source, scratch):
    """Run the suite with script replaced by source, in a copy of the project; True if it passes."""
    work = Path(tempfile.mkdtemp(dir=scratch))
    shutil.copytree(ROOT, work, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".venv", ".git", "__pycache__"))
    (work / script).write_text(source)
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-m", "not optim"]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    try:
        done = subprocess.run(command, cwd=work, env=env, capture_output=True, timeout=120)
        return done.returncode == 0
    except subprocess.TimeoutExpired:
        return False  # a mutant that hangs the suite is noticed
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("scripts", nargs="*", help="files to mutate (default: the five scripts and the modules)")
    parser.add_argument(
        "--jobs", type=int, default=os.cpu_count() or 1, help="suites run at once (default: %(default)s)"
    )
    args = parser.parse_args()
    scripts = args.scripts or sorted(p.name for p in ROOT.glob("*.py"))
    with tempfile.TemporaryDirectory() as scratch:
        if not suite_passes(scripts[0], (ROOT / scripts[0]).read_text(), scratch):
            sys.exit("the suite fails on the scripts as they are: fix that first")
        jobs = [(script, line, what, source) for script in scripts for line, what, source in mutants(ROOT / script)]
        with ThreadPoolExecutor(args.jobs) as pool:
            survived = pool.map(lambda job: suite_passes(job[0], job[3], scratch), jobs)
            survivors = [
                (script, line, what) for (script, line, what, _), alive in zip(jobs, survived, strict=True) if alive
            ]
    for script, line, what in survivors:
        print(f"survived: {script}:{line}: {what}")
    print(f"{len(jobs) - len(survivors)} of {len(jobs)} mutants noticed by the suite, {len(survivors)} survived")
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main())
