"""Does the suite notice a wrong lesson? Change one thing in one script at a time and run the suite.

Each mutant makes one change to one script: an arithmetic operator or comparison swapped, a number
nudged by 1, True and False flipped, an `if` turned round, a grad-mode switch turned into its
opposite (no_grad into enable_grad, ...), a statement dropped (a .backward(), a .zero_(), an
assignment), a decorator or a `not` removed. The suite then runs against it in a scratch copy of the
project. A mutant the suite passes is a change to the lesson that no test notices: the report lists
each with the line it changed, so that a test can be added (or the mutant shown to change nothing).

It runs the suite hundreds of times, so it is not part of it:

    python tests/mutants.py                      # every script
    python tests/mutants.py 03_gradient_accumulation.py --jobs 2
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


def mutations(node):
    """(what, change) for each way to mutate this node; change(node) edits it in place."""
    if isinstance(node, (ast.BinOp, ast.BoolOp)) and type(node.op) in SWAPS:
        new = SWAPS[type(node.op)]
        yield f"{type(node.op).__name__} -> {new.__name__}", lambda n: setattr(n, "op", new())
    elif isinstance(node, ast.Compare) and type(node.ops[0]) in SWAPS:
        new = SWAPS[type(node.ops[0])]
        yield f"{type(node.ops[0]).__name__} -> {new.__name__}", lambda n: n.ops.__setitem__(0, new())
    elif isinstance(node, ast.Constant) and isinstance(node.value, bool):
        yield f"{node.value} -> {not node.value}", lambda n: setattr(n, "value", not n.value)
    elif isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        yield f"{node.value!r} -> {node.value + 1!r}", lambda n: setattr(n, "value", n.value + 1)
    elif isinstance(node, ast.Attribute) and node.attr in OPPOSITES:
        yield f"{node.attr} -> {OPPOSITES[node.attr]}", lambda n: setattr(n, "attr", OPPOSITES[n.attr])
    elif isinstance(node, ast.IfExp):
        yield "if-else turned round", lambda n: setattr(n, "body", n.orelse) or setattr(n, "orelse", n.body)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.Not, ast.USub)):
        yield f"{type(node.op).__name__} removed", lambda n: setattr(n, "op", ast.UAdd())
    elif isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.decorator_list:
        yield "decorator removed", lambda n: setattr(n, "decorator_list", [])
    for field in ("body", "orelse", "finalbody"):
        statements = getattr(node, field, None)
        if not isinstance(statements, list):
            continue
        for i, statement in enumerate(statements):
            docstring = isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant)
            if isinstance(statement, (ast.Expr, ast.Assign, ast.AugAssign)) and not docstring:
                what = f"line {statement.lineno} dropped: {ast.unparse(statement).splitlines()[0][:60]}"
                yield what, lambda n, field=field, i=i: getattr(n, field).__setitem__(i, ast.Pass())


def mutants(path):
    """(line, what, mutated source) for every mutation of the script at path."""
    tree = ast.parse(path.read_text())
    for index, node in enumerate(ast.walk(tree)):
        for what, change in mutations(node):
            mutant = copy.deepcopy(tree)
            change(next(n for i, n in enumerate(ast.walk(mutant)) if i == index))
            yield getattr(node, "lineno", 0), what, ast.unparse(ast.fix_missing_locations(mutant))


def suite_passes(script, source, scratch):
    """Run the suite with script replaced by source, in a copy of the project; True if it passes."""
    work = Path(tempfile.mkdtemp(dir=scratch))
    shutil.copytree(ROOT, work, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".venv", ".git", "__pycache__"))
    (work / script).write_text(source)
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider"]
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
    parser.add_argument("scripts", nargs="*", help="scripts to mutate (default: all five)")
    parser.add_argument(
        "--jobs", type=int, default=os.cpu_count() or 1, help="suites run at once (default: %(default)s)"
    )
    args = parser.parse_args()
    scripts = args.scripts or sorted(p.name for p in ROOT.glob("0[1-5]_*.py"))
    with tempfile.TemporaryDirectory() as scratch:
        unchanged = {script: ast.unparse(ast.parse((ROOT / script).read_text())) for script in scripts}
        if not all(suite_passes(script, source, scratch) for script, source in unchanged.items()):
            sys.exit("the suite fails on the unmutated scripts: fix that first")
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
