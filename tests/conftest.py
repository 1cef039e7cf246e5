"""What every test file shares: the scripts by name, the devices to run on, and running a script's __main__."""

import functools
import gc
import importlib
import inspect
import re
import sys
import types
import warnings
from pathlib import Path

import pytest

if sys.version_info < (3, 10):  # noqa: UP036 (ruff's target is 3.10): one line, as the scripts say it
    pytest.exit("the lesson and its tests need Python 3.10 or newer", returncode=4)

# PyTorch may warn as it loads: "Failed to initialize NumPy" where NumPy is missing or one it was not built
# against is installed. That is the teacher's environment, not the lesson: let it show in the warnings
# summary instead of stopping the run. The lesson's own warnings stay errors (pyproject.toml).
with warnings.catch_warnings():
    warnings.simplefilter("default")
    import torch

import backward_graphs  # noqa: E402 (after torch, whose warnings are caught above)
import lesson_tools  # noqa: E402
import your_function  # noqa: E402

your_function.start()  # judge.py loads sympy in its own process while the suite is collected and begins

# What torch loaded lives until the run ends: gc.freeze() keeps the collector from scanning its 160,000
# objects again at each full collection (a few in a run, near a tenth of a second each) and at exit.
gc.freeze()

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = {
    "01": "01_basic_autograd",
    "02": "02_autograd_multiple_variables",
    "03": "03_gradient_accumulation",
    "04": "04_disabling_gradients",
    "05": "05_optional_grad_fn",
}

# assert_close looks for DTensors on its first call by importing torch.distributed.tensor
# (pytorch/pytorch#176895): half a second, a third of this suite's own time. No test here compares a
# DTensor, so turn the probe off. torch.testing._comparison._HAS_DTENSOR is private: found on 2.13.0 and
# 2.15.0, not on 2.11.0 and older (checked); where it is missing this does nothing.
_comparison = getattr(torch.testing, "_comparison", None)
if hasattr(_comparison, "_HAS_DTENSOR"):
    _comparison._HAS_DTENSOR = False


def script(number):
    """The lesson script numbered number ("01" ... "05"), imported as a module."""
    return importlib.import_module(SCRIPTS[number])


# Every device this machine can compute on, found as the scripts find it: the lesson must give the same
# numbers on each, so none is skipped.
DEVICES = ["cpu"] + [kind for kind in ("cuda", "mps", "xpu") if lesson_tools.device_count(kind)[0]]


@pytest.fixture(params=DEVICES)
def device(request):
    return request.param


@pytest.fixture
def run(capsys, monkeypatch):
    """Run a script as `python 0N_....py ARGS` does, calling main() of the module imported once: returns
    (exit code, stdout, stderr). Running the file anew would compile it each time (nothing caches bytecode
    where PYTHONDONTWRITEBYTECODE is set), more than most tests cost; test_readme.py runs each file as
    __main__ in full."""

    def run(number, *args):
        monkeypatch.setattr(sys, "argv", [str(ROOT / f"{SCRIPTS[number]}.py"), *args])  # argparse's prog
        try:
            code = script(number).main(list(args))
        except SystemExit as exited:  # argparse: a bad option, or --help
            code = exited.code
        out, err = capsys.readouterr()
        return code, out, err

    return run


@functools.cache
def compiled(name):
    """A script's file compiled once for the run: executing it as a new module is then cheap."""
    path = ROOT / name
    return compile(path.read_text(), str(path), "exec")


def run_file(name, run_name="__main__"):
    """Execute the file name (01_basic_autograd.py, lesson_tools.py ...) as a fresh module named run_name, as
    `python name` does for "__main__": a script's `if __name__ == "__main__"` then calls sys.exit(main())."""
    exec(compiled(name), {"__name__": run_name, "__file__": str(ROOT / name)})


def thorough_except(cases, kept):
    """cases, tuples of a test's arguments, as pytest params: all but those in kept marked thorough, so that the
    default run keeps a few of a matrix that CI runs whole (-m thorough)."""
    return [pytest.param(*case, marks=[pytest.mark.thorough] * (case not in kept)) for case in cases]


SPREAD = 1  # the cases of a matrix the default run takes (2: its first and its last); -m thorough runs them all


@pytest.hookimpl(tryfirst=True)  # before -m deselects what is marked thorough
def pytest_collection_modifyitems(items):
    """The default run takes SPREAD cases of each parametrized test (on each device), spread from its first to its
    last, and marks the rest thorough: CI runs them all. A test that chose its own (thorough_except) or that runs
    over the five scripts keeps its cases."""
    matrices = {}
    for item in items:
        if hasattr(item, "callspec"):
            key = (item.nodeid.split("[")[0], str(item.callspec.params.get("device")))
            matrices.setdefault(key, []).append(item)
    for cases in matrices.values():
        chosen = any(case.get_closest_marker("thorough") or "number" in case.callspec.params for case in cases)
        kept = {round(i * (len(cases) - 1) / max(1, SPREAD - 1)) for i in range(SPREAD)}
        for i, case in enumerate([] if chosen else cases):
            if i not in kept:
                case.add_marker(pytest.mark.thorough)


def pytest_collection_finish():
    """What collection made (the test modules, their matrices, the modules they import) lives till the end too."""
    gc.freeze()


def pytest_runtest_logfinish():
    """What each test leaves lives on too (sympy, which PyTorch's symbolic shapes import, the judge's replies): frozen,
    the collector's full passes do not scan it again and again, a tenth of the run. The process ends soon after, so a
    cycle of one test's garbage kept so costs only memory (some 60 MB in all, measured)."""
    gc.freeze()


def pytest_sessionfinish():
    """Where torch._dynamo was loaded (the optim tests), all of it may go at exit: frozen, objects would outlive the
    collector's last pass there, and the triton it loads counts its objects (nanobind) and would call them leaked.
    Elsewhere nothing counts them, and that last pass over all a run froze would take a tenth of the run."""
    if "torch._dynamo" in sys.modules:
        gc.unfreeze()


def float32(value, device="cpu"):
    """A hand-derived value as the one-element float32 tensor that autograd's result is compared with."""
    return torch.tensor([value], dtype=torch.float32, device=device)


# Inputs beyond the lesson's own: negative, zero, fractional, large, and ints (the default run takes four).
SWEEP = [(v,) for v in (-1e6, -3.5, -1.5, -1, 0, 0.1, 2, 12.25, 1e6)]
SWEEP = thorough_except(SWEEP, [(-1e6,), (-1.5,), (0,), (12.25,)])
# The modules beside the scripts, which the scripts import
MODULES = ["lesson_tools", "expressions", "your_function", "backward_graphs"]


def plan_code(module, function="the_plan"):
    """The lines of module's the_plan() after its docstring, stripped: the plan's code as the script writes it."""
    source = inspect.getsource(getattr(module, function))
    return [line.split("  # fmt: skip")[0].strip() for line in source.split('"""')[2].strip().splitlines()]


# The plan's code for each example as ../shared/lesson-plan.md's Code Idea gives it, and what it prints
PLAN_CODE = {
    "01": ["x = torch.tensor([2.0], requires_grad=True)", "y = x**2 + 3*x + 1", "y.backward()", "print(x.grad)"],
    "02": [
        "a = torch.tensor([2.0], requires_grad=True)", "b = torch.tensor([3.0], requires_grad=True)", "c = a**2 * b",
        "c.backward()", "print(a.grad, b.grad)",
    ],
    "03": [
        "x = torch.tensor([2.0], requires_grad=True)", "y = x**2 + 3*x + 1", "y.backward()", "print(x.grad)",
        "y.backward()", "print(x.grad)", "x.grad.zero_()", "y.backward()", "print(x.grad)",
    ],
    "04": [
        "x = torch.tensor([2.0], requires_grad=True)", "y = x * 2", "print(y.requires_grad)", "with torch.no_grad():",
        "    z = x * 3", "print(z.requires_grad)",
    ],
    "05": ["x = torch.tensor([2.0], requires_grad=True)", "y = x**2 + 3*x + 1", "print(y.grad_fn)"],
}  # fmt: skip
PLAN_PRINTS = {"01": ["tensor([7.])"], "02": ["tensor([12.]) tensor([4.])"], "03": ["tensor([7.])"],
               "04": ["True", "False"], "05": ["<AddBackward0 object at 0x"]}  # fmt: skip


def sections(out):
    """A run's numbered sections, [(number, title, [its lines])], each after a blank line; number 0 for what comes
    before the first: the run's title."""
    found = [(0, "", [])]
    lines = out.split("\n")
    for i, line in enumerate(lines):
        heading = re.fullmatch(r"(\d+)\. (.+)", line)
        if heading and i > 0 and lines[i - 1] == "":
            found.append((int(heading[1]), heading[2], []))
        else:
            found[-1][2].append(line)
    return found


def plan_output(out):
    """What section 1 of a run shows the plan's code printed: the lines after "  prints:", up to the next line at
    less than four spaces' indent, unindented."""
    body = dict((number, lines) for number, _, lines in sections(out))[1]
    start = body.index("  prints:") + 1
    printed = []
    for line in body[start:]:
        if not line.startswith("    "):
            break
        printed.append(line[4:])
    return printed


@pytest.fixture(params=["metadata", "no metadata"])
def shapes_known(request, monkeypatch):
    """Each walk twice: with Node._input_metadata, and without it as on PyTorch 2.0, where the walk must infer it."""
    if request.param == "no metadata":
        real = backward_graphs.input_shapes

        def hidden(node):
            return types.SimpleNamespace(variable=node.variable) if hasattr(node, "variable") else object()

        monkeypatch.setattr(backward_graphs, "input_shapes", lambda node: real(hidden(node)))
    return request.param
