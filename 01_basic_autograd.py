"""Example 1, basic autograd: PyTorch's derivative of y = x**2 + 3*x + 1 beside the one worked by hand.

A tensor made with requires_grad=True is a leaf that autograd watches: every operation on it is
recorded in a graph, and y.backward() walks that graph from y back to x, leaving dy/dx in x.grad.

By hand, the power rule and the sum rule give

    y     = x**2 + 3*x + 1          at x = 2:  4 + 6 + 1 = 11
    dy/dx = 2*x + 3                 at x = 2:  2*2 + 3   = 7

What the number means: dy/dx is the slope of y at x, how much y changes per unit change of x.
The central difference (y(x + h) - y(x - h)) / (2*h) measures that slope without autograd; for a
polynomial of degree 2 it is exact, up to rounding.

backward() with no argument needs an output of one element. For several outputs at once
(ys = y at several xs) it raises "grad can be implicitly created only for scalar outputs"; sum them
first, ys.sum().backward(), which gives each x its own dy/dx, as ys.backward(torch.ones_like(ys)) does.

Run it:  python 01_basic_autograd.py [--x 2.0] [--device cpu]
"""

import argparse
import math
import sys
import warnings

import torch


def polynomial(x):
    """The lesson's y as a function of x, for any tensor x."""
    return x**2 + 3 * x + 1


def basic_autograd(x=2.0, device="cpu"):
    """Return (x, y) with y = x**2 + 3*x + 1, after y.backward() has filled x.grad with dy/dx."""
    x = torch.tensor([real_number("x", x)], device=usable_device(device), requires_grad=True)
    y = polynomial(x)
    y.backward()  # y holds one element, so backward() needs no gradient argument
    return x, y


def central_difference(x=2.0, h=None):
    """Return (slope, h, y(x + h), y(x - h)): the slope (y(x + h) - y(x - h)) / (2*h) measured without autograd.

    In float64, since the subtraction cancels most digits; h defaults to 1e-3 * max(1, |x|).
    """
    x = real_number("x", x)
    h = 1e-3 * max(1.0, abs(x)) if h is None else real_number("h", h)
    if not h > 0:
        raise ValueError(f"h must be positive, got {h!r}")
    around = torch.tensor([x + h, x - h], dtype=torch.float64)
    above, below = polynomial(around).tolist()
    return (above - below) / (2 * h), h, above, below


def three_xs(x=2.0, device="cpu"):
    """xs = [x, x+1, x+2] as a leaf that requires grad: three inputs, so ys = polynomial(xs) has three outputs."""
    return (torch.arange(3.0, device=usable_device(device)) + real_number("x", x)).requires_grad_()


def several_outputs(x=2.0, device="cpu"):
    """Return (xs, ys) for xs = [x, x+1, x+2], after ys.sum().backward() has filled xs.grad with 2*xs + 3."""
    xs = three_xs(x, device)
    ys = polynomial(xs)
    ys.sum().backward()  # d(sum of ys)/d(xs[i]) = dy/dx at xs[i]: each x gets its own gradient
    return xs, ys


def several_outputs_without_gradient(x=2.0, device="cpu"):
    """ys.backward() on three outputs, with no gradient argument: raises RuntimeError."""
    polynomial(three_xs(x, device)).backward()  # three outputs: which gradient should start the backward pass?


def main(argv=None):
    args = options(__doc__, x=2.0).parse_args(argv)
    x, y = basic_autograd(args.x, args.device)
    v = x.item()  # the float32 value autograd worked with
    print(f"Example 1, basic autograd on {args.device}: y = x**2 + 3*x + 1")
    print(f"x = {v:g}   (a leaf: requires_grad={x.requires_grad}, grad_fn={x.grad_fn})")
    print(f"y = {y.item():g}   (made by autograd's {type(y.grad_fn).__name__})")
    print(f"after y.backward(): x.grad = {x.grad.item():g}")
    print("by hand:")
    print(f"  y     = x**2 + 3*x + 1 = {num(v)}**2 + 3*{num(v)} + 1 = {v**2 + 3 * v + 1:g}")
    print(f"  dy/dx = 2*x + 3 = 2*{num(v)} + 3 = {2 * v + 3:g}")
    slope, h, above, below = central_difference(v)
    print(f"what it means, the slope of y at x, measured with h = {h:g} (float64):")
    print(f"  (y(x + h) - y(x - h)) / (2*h) = ({above:.10g} - {below:.10g}) / {2 * h:g} = {slope:.10g}")
    xs, ys = several_outputs(args.x, args.device)
    print(f"several outputs: xs = {show(xs.tolist())}, ys = xs**2 + 3*xs + 1 = {show(ys.tolist())}")
    try:
        several_outputs_without_gradient(args.x, args.device)
        print("  ys.backward() ran")
    except RuntimeError as error:
        print(f"  ys.backward() raises RuntimeError: {error}")
    print(f"  ys.sum().backward() gives each x its own dy/dx: xs.grad = {show(xs.grad.tolist())}")
    print("checks:")
    ok = [
        agree("y", y.item(), v**2 + 3 * v + 1),
        agree("x.grad = dy/dx", x.grad.item(), 2 * v + 3),
        agree("x.grad = slope", x.grad.item(), slope),
    ]
    ok += [agree(f"xs.grad[{i}] = 2*xs+3", xs.grad[i].item(), 2 * xs[i].item() + 3) for i in range(len(xs))]
    return 0 if all(ok) else 1


def show(values):
    """Numbers as [1, 2, 3]: short, and stable across versions, unlike a tensor's repr."""
    return "[" + ", ".join(f"{v:g}" for v in values) + "]"


# Plumbing, the same in each script of the lesson: check inputs, read options, compare results.

# One clear line on an older Python, not a traceback deep in the lesson (zip(strict=True), ...); ruff's
# target is 3.10, so it takes this check for dead code.
if sys.version_info < (3, 10):  # noqa: UP036
    sys.exit(f"this lesson needs Python 3.10 or newer, not {sys.version_info[0]}.{sys.version_info[1]}")


def real_number(name, value):
    """value as a float if it is an int or float that float32 holds; otherwise TypeError/ValueError."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be an int or float, got {value!r}")
    if not abs(value) <= torch.finfo(torch.float32).max:  # False for nan too
        raise ValueError(f"{name} must be a finite number within float32 range, got {value!r}")
    return float(value)


def device_count(kind):
    """(how many devices of kind, such as "cuda" or "mps", this torch can use here; why none, if torch said).

    Asked of kind's own module, which every release since 2.0 has: torch.accelerator is 2.6+, and on 2.7's
    CUDA builds without an NVIDIA driver its device_count() raises. What torch warns or raises is the why.
    """
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


class OneLineErrors(argparse.ArgumentParser):
    def error(self, message):  # one line and exit status 2, without argparse's usage block
        self.exit(2, f"{self.prog}: error: {message}\n")


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
        text = f"{name}; a negative one as --{name}=-1e5"
        parser.add_argument(f"--{name}", type=checked(real_number, name), default=default, help=text)
    parser.add_argument("--device", type=checked(usable_device), default="cpu", help="cpu, cuda, cuda:1, mps, ...")
    return parser


def num(v):
    """v as written in a substituted formula: 2 stays 2, -1.5 becomes (-1.5)."""
    return f"({v:g})" if v < 0 else f"{v:g}"


def agree(label, value, by_hand, how="autograd"):
    """Print a value (computed how: autograd, forward, ...) beside the hand-derived one; True when they agree,
    to float32 precision."""
    if isinstance(by_hand, float):
        ok = math.isclose(value, by_hand, rel_tol=1e-5, abs_tol=1e-5)
    else:
        ok = value == by_hand
    shown = [f"{v:g}" if isinstance(v, float) else str(v) for v in (value, by_hand)]
    print(f"  {label:<26} {how:>8} {shown[0]:<12} by hand {shown[1]:<12} {'agree' if ok else 'DIFFER'}")
    return ok


if __name__ == "__main__":
    sys.exit(main())
