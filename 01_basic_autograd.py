"""Example 1, basic autograd: PyTorch's derivative of y = x**2 + 3*x + 1 beside the one worked by hand.

A tensor made with requires_grad=True is a leaf that autograd watches: every operation on it is
recorded in a graph, and y.backward() walks that graph from y back to x, leaving dy/dx in x.grad.

By hand, the power rule and the sum rule give

    y     = x**2 + 3*x + 1          at x = 2:  4 + 6 + 1 = 11
    dy/dx = 2*x + 3                 at x = 2:  2*2 + 3   = 7

What the number means: dy/dx is the slope of y at x, how much y changes per unit change of x.
The central difference (y(x + h) - y(x - h)) / (2*h) measures that slope without autograd; for a
polynomial of degree 2 it is exact, up to rounding.

backward() with no argument needs an output of one element. For several outputs, ys, it raises
"grad can be implicitly created only for scalar outputs": it needs a weight v[j] for each output, and
ys.backward(v) computes the vector-Jacobian product, the v-weighted sum of the outputs' gradients,

    xs.grad[i] = sum over j of v[j] * dys[j]/dxs[i]          (v^T J, J[j][i] = dys[j]/dxs[i])

With ys = y at several xs, ys[j] depends on xs[j] alone: J is diagonal, xs.grad[i] = v[i] * (2*xs[i] + 3),
and ys.sum().backward() (v = ones) gives each x its own dy/dx. That is special to outputs computed
elementwise: in a running sum, cs[j] = ys[0] + ... + ys[j], xs[i] reaches every cs[j] with j >= i, and
its gradient collects from all of them, xs.grad[i] = (2*xs[i] + 3) * (v[i] + ... + v[n-1]).

Run it:  python 01_basic_autograd.py [--x 2.0] [--v 1 0.5 0.25] [--device cpu]
"""

import argparse
import math
import sys
import warnings

import torch


def polynomial(x):
    """The lesson's y = x**2 + 3*x + 1, for a tensor x or a plain number."""
    return x**2 + 3 * x + 1


def derivative(x):
    """dy/dx worked by hand, by the power rule and the sum rule: 2*x + 3, for a tensor x or a plain number."""
    return 2 * x + 3


def basic_autograd(x=2.0, device="cpu"):
    """Return (x, y) with y = x**2 + 3*x + 1, after y.backward() has filled x.grad with dy/dx."""
    x = torch.tensor([real_number("x", x)], device=usable_device(device), requires_grad=True)
    y = polynomial(x)
    y.backward()  # y holds one element, so backward() needs no gradient argument
    return x, y


# What the number means: the slope, measured without autograd


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


# Several outputs: backward(v) computes the vector-Jacobian product


def three_xs(x=2.0, device="cpu"):
    """xs = [x, x+1, x+2] as a leaf that requires grad: three inputs, so ys = polynomial(xs) has three outputs."""
    return (torch.arange(3.0, device=usable_device(device)) + real_number("x", x)).requires_grad_()


def several_outputs_without_gradient(x=2.0, device="cpu"):
    """ys.backward() on three outputs, with no gradient argument: raises RuntimeError."""
    polynomial(three_xs(x, device)).backward()  # three outputs: which gradient should start the backward pass?


def weights(v):
    """v as a list of three floats, a weight for each output; otherwise TypeError/ValueError naming it."""
    if not isinstance(v, (list, tuple)) or len(v) != 3:
        raise TypeError(f"v must be a list or tuple of 3 numbers, one for each output, got {v!r}")
    return [real_number(f"v[{i}]", weight) for i, weight in enumerate(v)]


def vector_jacobian(x=2.0, v=(1.0, 0.5, 0.25), device="cpu"):
    """Return (xs, ys) for xs = [x, x+1, x+2], after ys.backward(v) has filled xs.grad with v^T J."""
    xs = three_xs(x, device)
    ys = polynomial(xs)
    ys.backward(torch.tensor(weights(v), device=xs.device))  # the weight of each output in the sum
    return xs, ys


def jacobian(x=2.0, device="cpu"):
    """J[j][i] = dys[j]/dxs[i] at xs = [x, x+1, x+2], from torch.autograd.functional.jacobian."""
    return torch.autograd.functional.jacobian(polynomial, three_xs(x, device).detach())


def several_outputs(x=2.0, device="cpu"):
    """Return (xs, ys) for xs = [x, x+1, x+2], after ys.sum().backward() has filled xs.grad with 2*xs + 3."""
    xs = three_xs(x, device)
    ys = polynomial(xs)
    ys.sum().backward()  # v = ones: with J diagonal, each x gets its own gradient
    return xs, ys


def running_sum(x=2.0, v=(1.0, 0.5, 0.25), device="cpu"):
    """Return (xs, cs) for cs = the running sum of ys over xs = [x, x+1, x+2], after cs.backward(v)."""
    xs = three_xs(x, device)
    cs = polynomial(xs).cumsum(0)  # cs[j] = ys[0] + ... + ys[j]: not elementwise
    cs.backward(torch.tensor(weights(v), device=xs.device))
    return xs, cs


def main(argv=None):
    parser = options(__doc__, x=2.0)
    parser.add_argument(
        "--v", nargs=3, type=checked(real_number, "v"), default=[1.0, 0.5, 0.25], metavar=("V1", "V2", "V3"),
        help="the weights ys.backward(v) and cs.backward(v) give the three outputs",
    )  # fmt: skip
    args = parser.parse_args(argv)
    x, y = basic_autograd(args.x, args.device)
    at = x.item()  # the float32 value autograd worked with
    print(f"Example 1, basic autograd on {args.device}: y = x**2 + 3*x + 1")
    print(f"x = {at:g}   (a leaf: requires_grad={x.requires_grad}, grad_fn={x.grad_fn})")
    print(f"y = {y.item():g}   (computed by the forward pass, which autograd recorded: y.grad_fn = {name(y.grad_fn)})")
    print(f"after y.backward(): x.grad = {x.grad.item():g}")
    print("by hand:")
    print(f"  y     = x**2 + 3*x + 1 = {num(at)}**2 + 3*{num(at)} + 1 = {polynomial(at):g}")
    print(f"  dy/dx = 2*x + 3 = 2*{num(at)} + 3 = {derivative(at):g}")

    # The slope, measured
    slope, h, above, below = central_difference(at)
    print(f"what it means, the slope of y at x, measured with h = {h:g} (float64):")
    print(f"  (y(x + h) - y(x - h)) / (2*h) = ({above:.10g} - {below:.10g}) / {2 * h:g} = {slope:.10g}")

    # Several outputs
    xs, ys = vector_jacobian(args.x, args.v, args.device)
    points, v = xs.tolist(), weights(args.v)
    print(f"several outputs: xs = {shown(points)}, ys = xs**2 + 3*xs + 1 = {shown(ys.tolist())}")
    try:
        several_outputs_without_gradient(args.x, args.device)
        print("  ys.backward() ran")
    except RuntimeError as error:
        print(f"  ys.backward() raises RuntimeError: {error}")
    print("  ys.backward(v) takes a weight for each output: xs.grad[i] = sum over j of v[j] * dys[j]/dxs[i], v^T J")
    J = jacobian(args.x, args.device).tolist()
    print(f"  J = torch.autograd.functional.jacobian(polynomial, xs) = {shown(J)}")
    print("    is diagonal, as ys[j] depends on xs[j] alone: xs.grad[i] = v[i] * (2*xs[i] + 3)")
    print(f"  ys.backward(v) with v = {shown(v)}: xs.grad = {shown(xs.grad.tolist())}")
    by_sum, _ = several_outputs(args.x, args.device)
    print(f"  ys.sum().backward(), which is v = ones: xs.grad = {shown(by_sum.grad.tolist())}, each x its dy/dx")
    by_running, cs = running_sum(args.x, args.v, args.device)
    print(f"  a running sum is not elementwise: cs = ys.cumsum(0) = {shown(cs.tolist())}, cs[j] = ys[0] + ... + ys[j]")
    print("    xs[i] reaches every cs[j] with j >= i, so xs.grad[i] = (2*xs[i] + 3) * (v[i] + ... + v[2])")
    print(f"  cs.backward(v): xs.grad = {shown(by_running.grad.tolist())}")

    print("checks:")
    own = [derivative(p) for p in points]  # dy/dx at each of xs, by hand
    weighted = [w * d for w, d in zip(v, own, strict=True)]  # v^T J with J = diag(own)
    ok = [
        agree("y", y.item(), polynomial(at), how="forward"),
        agree("x.grad = dy/dx", x.grad.item(), derivative(at)),
        agree("slope = dy/dx", slope, derivative(at), how="measured"),
        agree(
            "J = diag(2*xs + 3)", J, [[d if i == j else 0.0 for i, d in enumerate(own)] for j in range(3)], "jacobian"
        ),
        agree("v^T J", [sum(v[j] * J[j][i] for j in range(3)) for i in range(3)], weighted, how="jacobian"),
        agree("ys.backward(v)", xs.grad.tolist(), weighted),
        agree("ys.sum().backward()", by_sum.grad.tolist(), own),
        agree("cs.backward(v)", by_running.grad.tolist(), [d * sum(v[i:]) for i, d in enumerate(own)]),
    ]
    return 0 if all(ok) else 1


def name(node):
    """A grad_fn's class name (AddBackward0), or None: stable across versions, unlike its repr."""
    return type(node).__name__ if node is not None else "None"


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


def shown(value):
    """A value as the lesson prints it: 7.0 as 7, a list of numbers as [7, 9, 11], anything else as str() has it."""
    if isinstance(value, list):
        return "[" + ", ".join(map(shown, value)) + "]"
    return f"{value:g}" if isinstance(value, float) else str(value)


def agree(label, value, by_hand, how="autograd"):
    """Print a value computed how (by autograd, by the forward pass, ...) beside the one worked by hand; True
    when they agree: numbers to float32 precision, lists element by element."""

    def close(a, b):
        if isinstance(b, list):
            return isinstance(a, list) and len(a) == len(b) and all(map(close, a, b))
        return math.isclose(a, b, rel_tol=1e-5, abs_tol=1e-5) if isinstance(b, float) else a == b

    ok = close(value, by_hand)
    print(f"  {label:<26} {how:>8} {shown(value):<12} by hand {shown(by_hand):<12} {'agree' if ok else 'DIFFER'}")
    return ok


if __name__ == "__main__":
    sys.exit(main())
