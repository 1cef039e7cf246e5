"""What the five lesson scripts share: the lesson's y, input and device checks, options, and the checks table.
Each script imports from here and still runs as `python 0N_....py`: Python looks first in the script's folder.
"""

import argparse
import contextlib
import inspect
import io
import math
import os
import sys
import textwrap
import typing
import warnings

import torch

# One clear line on an older Python, not a traceback deep in the lesson; ruff (target 3.10) calls it dead code.
if sys.version_info < (3, 10):  # noqa: UP036
    sys.exit(f"this lesson needs Python 3.10 or newer, not {sys.version_info[0]}.{sys.version_info[1]}")


# The lesson's y, from example 1 (examples 3 and 5 use it again), and its derivative worked by hand
def polynomial(x):
    """y = x**2 + 3*x + 1, for a tensor x or a plain number."""
    return x**2 + 3 * x + 1


def derivative(x):
    """dy/dx worked by hand, by the power rule and the sum rule: 2*x + 3, for a tensor x or a plain number."""
    return 2 * x + 3


# Inputs: one line naming what is wrong with a bad one
def real_number(name, value):
    """value as a float if it is an int or float that float32 holds; otherwise TypeError/ValueError."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be an int or float, got {value!r}")
    if not abs(value) <= torch.finfo(torch.float32).max:  # False for nan too
        raise ValueError(f"{name} must be a finite number within float32 range, got {value!r}")
    return float(value)


def positive(name, value):
    """value as a float if it is a positive number that float32 holds; otherwise TypeError/ValueError naming it."""
    value = real_number(name, value)
    if not value > 0:
        raise ValueError(f"{name} must be positive, got {value!r}")
    return value


def whole_number(name, value, low=1, high=1000):
    """value as an int if it is a whole number from low to high; otherwise TypeError/ValueError naming it."""
    value = real_number(name, value)
    if not (value.is_integer() and low <= value <= high):
        raise ValueError(f"{name} must be a whole number from {low} to {high}, got {value:g}")
    return int(value)


def leaf(value, device="cpu", name="x"):
    """value as a one-element float32 leaf that requires grad, on device."""
    return torch.tensor([real_number(name, value)], device=usable_device(device), requires_grad=True)


def as_float32(name, value):
    """An input as autograd sees it, in float32: "x = 2", or where float32 changes what is shown, "x = 1e-50, 0 in
    float32" (nearer 0 than about 7e-46, half float32's smallest, a number is 0; below 1.2e-38 it has fewer digits)."""
    held = torch.tensor(real_number(name, value), dtype=torch.float32).item()
    return f"{name} = {value:g}" + (f", {held:g} in float32" if f"{held:g}" != f"{value:g}" else "")


def at_inputs(args):
    """Where a section works: "at the plan's x = 2", or where an option moved an input, "at your x = 3 (the plan's:
    x = 2)"; args.plan is {input: the plan's value} (see options), each input as float32 holds it (see as_float32)."""
    plan = args.plan
    values = ", ".join(as_float32(n, getattr(args, n)) for n in plan)
    if all(getattr(args, n) == v for n, v in plan.items()):
        return f"at the plan's {values}"
    return f"at your {values} (the plan's: {', '.join(f'{n} = {v:g}' for n, v in plan.items())})"


# Devices
def device_count(kind):
    """(how many devices of kind, "cuda" or "mps", this torch can use here; what torch warned or raised, if none).
    Asked of kind's own module, as every release since 2.0 has it (torch.accelerator is 2.6+, and raises on 2.7)."""
    module = torch.backends.mps if kind == "mps" else getattr(torch, kind, None)  # one Apple GPU at most
    if not hasattr(module, "is_available"):
        return 0, ""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            count = (1 if kind == "mps" else module.device_count()) if module.is_available() else 0
        except Exception as error:  # a build that cannot count its devices has none to use
            return 0, str(error).split("\n")[0]
    return count, str(caught[0].message).split("\n")[0] if caught else ""


def usable_device(device):
    """device as a torch.device if this machine can compute on it; otherwise TypeError/ValueError naming it."""
    if not isinstance(device, (str, torch.device)):
        raise TypeError(f"device must be a str or torch.device, got {device!r}")
    try:
        wanted = torch.device(device)
    except RuntimeError:
        raise ValueError(f"device {str(device)!r} is not a device torch knows (cpu, cuda, cuda:1, mps, ...)") from None
    if wanted.type == "cpu":  # always there: no accelerator is asked about
        return wanted
    # Check before use: cuda on a CPU-only build, or cuda:7 on one GPU, fails with pages of text.
    count, why = device_count(wanted.type)
    if not 0 <= (wanted.index or 0) < count:
        kind, names = wanted.type.upper(), ", ".join(f"{wanted.type}:{i}" for i in range(count))
        has = f"{count} usable {kind} device{'s' * (count > 1)}, {names}" if count else f"no usable {kind} device"
        raise ValueError(f"device {str(device)!r} is not available: this machine has {has}" + (f" ({why})" * bool(why)))
    return wanted


# Options: argparse, with one line and exit status 2 for a bad value
class OneLineErrors(argparse.ArgumentParser):
    """argparse with one line and exit status 2 for an error; and the value after an option that takes one is the
    option's, whatever its first character (--x -1e5, --mine -1/x^2): argparse alone takes -1 so, not -1e5."""

    def error(self, message):  # one line and exit status 2, without argparse's usage block
        self.exit(2, f"{self.prog}: error: {message}\n")

    def add_argument(self, *names, **settings):
        action = super().add_argument(*names, **settings)
        if action.nargs != 0:  # how many values each option takes
            vars(self).setdefault("takes", {}).update(dict.fromkeys(action.option_strings, action.nargs or 1))
        return action

    def parse_known_args(self, args=None, namespace=None):
        args, takes = list(sys.argv[1:] if args is None else args), getattr(self, "takes", {})
        for i, arg in enumerate(args):
            options = [o for o in takes if o == arg or (arg.startswith("--") and o.startswith(arg))]  # --mi: --mine
            for j in range(i + 1, min(len(args), i + 1 + takes[options[0]])) if len(options) == 1 else ():
                if args[j].startswith("-") and not args[j].startswith("--"):  # one value: --x=-1e5; three: " -1e5"
                    args[i : j + 1] = [f"{arg}={args[j]}"] if takes[options[0]] == 1 else [*args[i:j], " " + args[j]]
        return super().parse_known_args(args, namespace)


def checked(check, *name):
    """check as an argparse type: it gets the text (as a float, after the name, where a name is given), and
    its TypeError or ValueError becomes argparse's one-line error."""

    def parse(text):
        try:
            return check(*name, float(text)) if name else check(text)
        except (TypeError, ValueError) as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return parse


def options(doc, **inputs):
    """A parser with --NAME for each lesson input (default as given) and --device; a bad value exits 2."""
    parser = OneLineErrors(description=doc.split("\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    for name, default in inputs.items():
        parser.add_argument(f"--{name}", type=checked(real_number, name), default=default, help=name)
    parser.add_argument("--device", type=checked(usable_device), default="cpu", help="cpu, cuda, cuda:1, mps, ...")
    parser.set_defaults(plan=inputs)  # the defaults are the plan's own inputs, which at_inputs names
    return parser


# What the lesson prints
def name(node):
    """A grad_fn's class name (AddBackward0), or None: stable across versions, unlike its repr."""
    return type(node).__name__ if node is not None else "None"


def num(v):
    """v as written in a substituted formula: 2 stays 2, -1.5 becomes (-1.5)."""
    return f"({v:g})" if v < 0 else f"{v:g}"


def shown(value):
    """A value as the lesson prints it: 7.0 as 7, a list of numbers as [7, 9, 11], anything else as str() has it."""
    if isinstance(value, list):
        return "[" + ", ".join(map(shown, value)) + "]"
    return f"{value:g}" if isinstance(value, float) else str(value)


def coloured(word, ok):
    """word in green where ok, else red, as pytest colours pass and fail: only at a terminal, not with NO_COLOR set
    (no-color.org) or TERM=dumb; on Windows only in Windows Terminal (WT_SESSION): the old console prints the codes."""
    env = os.environ
    plain = env.get("NO_COLOR") or env.get("TERM") == "dumb" or not sys.stdout.isatty()
    if plain or (os.name == "nt" and "WT_SESSION" not in env):
        return word
    return f"\033[{32 if ok else 31}m{word}\033[0m"


class Check(typing.NamedTuple):
    """One check's label and verdict; true when it agrees, so that all(checks) says whether every one did."""

    label: str
    ok: bool

    def __bool__(self):
        return self.ok


def row(label, how, value, against, target, ok, why=""):
    """Print one check: what was computed how, what it is checked against, the verdict (and why it DIFFERs). A Check."""
    verdict = coloured("agree" if ok else "DIFFER", ok) + f" ({why})" * bool(why and not ok)
    print(f"  {label:<30} {how:>8} {value:<12} {against:>8} {target:<12} {verdict}")
    return Check(label, ok)


def agree(label, value, by_hand, how="autograd", against="by hand"):
    """Print a value computed how (by autograd, the forward pass, ...) beside the one worked out against it (by hand,
    the rules, ...); a Check, true when they agree: numbers within 1e-5, relative or absolute, lists by element."""

    def close(a, b):
        if isinstance(b, list):
            return isinstance(a, list) and len(a) == len(b) and all(map(close, a, b))
        return math.isclose(a, b, rel_tol=1e-5, abs_tol=1e-5) if isinstance(b, float) else a == b

    overflow = isinstance(value, float) and math.isinf(value) and isinstance(by_hand, float) and math.isfinite(by_hand)
    why = f"{value:g}: beyond float32's largest, {torch.finfo(torch.float32).max:.2g}" if overflow else ""
    return row(label, how, shown(value), against, shown(by_hand), close(value, by_hand), why)


def within_rounding(label, gap, dtype, how="autograd"):
    """Print the largest gap between values computed how and by hand in dtype; a Check, true within its rounding."""
    allowed = 1e-5 if dtype is torch.float32 else 1e-12
    return row(label, how, f"gap {gap:.2g}", "within", f"{str(dtype)[6:]} rounding", gap <= allowed)


def summary(checks):
    """The run's last line: how many checks ran, and that all agree, or which DIFFER."""
    differ, ran = [check.label for check in checks if not check], f"{len(checks)} check{'s' * (len(checks) != 1)}"
    if not differ:
        return f"Summary: {ran}, all {coloured('agree', True)}"
    named = "; ".join(differ)
    named = named if len(named) <= 100 else named[:99] + "…"  # the line within 200 characters, whatever the labels
    return f"Summary: {ran}, {len(differ)} {coloured('DIFFER', False)}: {named}"


def plan_lines(plan):
    """The lines of plan's body after its docstring, as the plan writes them: dedented, without '# fmt: skip'."""
    body = textwrap.dedent(inspect.getsource(plan).split('"""', 2)[2].strip("\n"))
    return [line.split("  # fmt: skip")[0] for line in body.splitlines()]


def show_plan(plan, lines=None, fails=None):
    """Print the plan's code (or lines), then what it prints, indented; fails: the call expected to raise."""
    print("\n".join("    " + line for line in lines or plan_lines(plan)))
    printed, error = io.StringIO(), None
    try:
        with contextlib.redirect_stdout(printed):
            plan()
    except RuntimeError as raised_here:
        if fails is None:
            raise
        error = raised_here
    print("  prints:\n" + textwrap.indent(printed.getvalue(), "    "), end="")
    if fails and error:
        print(f"  then, as expected, {fails} raises RuntimeError:\n    {str(error).split('. ')[0]}")
    elif fails:
        print(f"  and this torch ran it to the end: {fails} did not raise")


def heading(number, title):
    """Print a section's numbered title, after a blank line."""
    print(f"\n{number}. {title}")


def run_lesson(title, plan, args, sections, further=(), fails=None, then=None):
    """A lesson's run: its title; 1, the plan's code and what it prints, and then(); each section(args) numbered, titled
    by its docstring, printing its part and returning its checks (further: under their heading); the summary. Exit."""
    print(f"{title}\n\n1. The plan's code, as the plan writes it")
    show_plan(plan, fails=fails)
    if then:
        then()
    checks = []
    for number, section in enumerate([*sections, *further], 2):
        if further and number == len(sections) + 2:  # the first that goes further
            print("\nGoing further, beyond the plan's example (as the tutorial's Optional Reading goes beyond its own)")
        heading(number, section.__doc__.splitlines()[0])
        checks += section(args)
    print(f"\n{summary(checks)}")
    return 0 if all(checks) else 1


def exit_with(main):
    """sys.exit(main()); quietly where the reader closed the pipe early (python 03_....py | head): no traceback."""
    try:
        sys.exit(main())
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so that Python's flush at exit fails not
        sys.exit(1)


def raised(call, *args):
    """What call(*args) says: "raises RuntimeError: " and PyTorch's message, or "ran" where it runs (where a
    release of PyTorch lets it)."""
    try:
        call(*args)
    except RuntimeError as error:
        return f"raises RuntimeError: {error}"
    return "ran"


def sgd_step(parameters, lr, weight_decay=0.0):
    """One step of torch.optim.SGD (without momentum), by hand, as examples 2 and 4 train: each parameter with a
    .grad moves by lr * (its .grad + weight_decay * itself); one whose .grad is None is left alone."""
    with torch.no_grad():  # the update is no part of any loss: nothing to record
        for p in parameters:
            if p.grad is not None:
                p -= lr * (p.grad + weight_decay * p)


def read_grad(tensor):
    """(tensor.grad, the warning reading it gave, or None): PyTorch warns when a non-leaf's .grad is read."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        grad = tensor.grad
    return grad, str(caught[0].message) if caught else None
