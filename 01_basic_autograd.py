"""Example 1, basic autograd: PyTorch's derivative of y = x**2 + 3*x + 1 beside the one worked by hand.

A tensor made with requires_grad=True is a leaf (made by us, not by an operation) that autograd watches: while
grad mode is on (autograd's recording switch: on by default, example 4 turns it off), every differentiable
operation on it is recorded in a graph, and y.backward() walks that graph from y back to x and adds dy/dx into
x.grad. By hand, the power rule and the sum rule give

    dy/dx = 2*x + 3                 at x = 2:  2*2 + 3 = 7

Going further: the slope measured, several outputs (backward(v)), your own y (--expr) and dy/dx (--mine), checked.

Run it:  python 01_basic_autograd.py [--x 2.0] [--v 1 0.5 0.25] [--expr Y] [--mine DYDX] [--device cpu]
"""

import torch

from expressions import expression, language, parse_expression, with_autograd  # noqa: F401 (names 01 gave before)
from lesson_tools import agree, checked, derivative, exit_with, leaf, name, num, options, polynomial, real_number
from lesson_tools import at_inputs, device_count, raised, run_lesson, shown, usable_device  # noqa: F401
from your_function import NoDerivative, derivatives, show_judgement, show_three_ways, your_own  # noqa: F401


def the_plan():
    """The lesson plan's code for this example, as the plan writes it."""
    x = torch.tensor([2.0], requires_grad=True)
    y = x**2 + 3*x + 1  # fmt: skip
    y.backward()
    print(x.grad)


# The hand check, at any x: autograd's x.grad beside 2*x + 3
def basic_autograd(x=2.0, device="cpu"):
    """Return (x, y) with y = x**2 + 3*x + 1, after y.backward() has filled x.grad with dy/dx."""
    x = leaf(x, device)
    y = polynomial(x)
    y.backward()  # y holds one element, so backward() needs no gradient argument
    return x, y


def show_hand_check(args):
    """By hand: dy/dx = 2x + 3, by the power rule and the sum rule"""
    fresh, (x, y) = leaf(args.x, args.device), basic_autograd(args.x, args.device)
    at = x.item()  # the float32 value autograd worked with
    print(f"  the same steps {at_inputs(args)}, on {args.device}:")
    print(f"  x, a leaf (made by us, not by an operation): requires_grad={fresh.requires_grad},", end=" ")
    print(f"grad_fn={fresh.grad_fn}, grad={fresh.grad} till backward()")
    print(f"  y = {y.item():g}, made by recorded operations: y.grad_fn = {name(y.grad_fn)}, the node of the last one")
    print(f"  after y.backward(): x.grad = {x.grad.item():g}")
    print(f"  by hand: y = {num(at)}**2 + 3*{num(at)} + 1 = {polynomial(at):g}")
    print(f"           dy/dx = 2*x + 3 = 2*{num(at)} + 3 = {derivative(at):g}")
    return [agree("y", y.item(), polynomial(at), how="forward"), agree("x.grad = dy/dx", x.grad.item(), derivative(at))]


# What the number means: the slope, measured without autograd (from x = 2 to 2.001, y changes by about 0.007); for a
# polynomial of degree 2 the central difference is exact, up to rounding.
def central_difference(x=2.0, h=None):
    """(slope, h, y(x + h), y(x - h)): (y(x + h) - y(x - h)) / (2*h) in float64; h = 1e-3 * max(1, |x|) by default."""
    x = real_number("x", x)
    h = 1e-3 * max(1.0, abs(x)) if h is None else real_number("h", h)
    if not h > 0:
        raise ValueError(f"h must be positive, got {h!r}")
    above, below = polynomial(torch.tensor([x + h, x - h], dtype=torch.float64)).tolist()  # float64: y(x±h) cancel
    return (above - below) / (2 * h), h, above, below


def show_slope(args):
    """What dy/dx means: the slope of y at x, measured without autograd"""
    at = leaf(args.x).item()
    slope, h, above, below = central_difference(at)
    print(f"  for a small change dx of x, y changes by about dy/dx * dx; measured with h = {h:g}, in float64:")
    print(f"  (y(x + h) - y(x - h)) / (2*h) = ({above:.10g} - {below:.10g}) / {2 * h:g} = {slope:.10g}")
    return [agree("slope = dy/dx", slope, derivative(at), how="measured")]


# Several outputs: backward() with no argument needs an output of one element. For several, ys.backward(v)
# takes a weight v[j] for each output and computes the vector-Jacobian product v^T J,
#     xs.grad[i] = sum over j of v[j] * dys[j]/dxs[i]            (J[j][i] = dys[j]/dxs[i])
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


def show_several_outputs(args):
    """Several outputs: ys.backward(v) computes the vector-Jacobian product"""
    x, device = args.x, args.device
    xs, ys = vector_jacobian(x, args.v, device)
    points, v = xs.tolist(), weights(args.v)
    print(f"  xs = {shown(points)}, ys = xs**2 + 3*xs + 1 = {shown(ys.tolist())}")
    print(f"  ys.backward() {raised(several_outputs_without_gradient, x, device)}")
    print("  ys.backward(v) takes a weight for each output: xs.grad[i] = sum over j of v[j] * dys[j]/dxs[i], which is")
    print("  v^T J, with J the Jacobian, J[j][i] = dys[j]/dxs[i], ys's slopes along each of xs")
    J = jacobian(x, device).tolist()
    print(f"  J = torch.autograd.functional.jacobian(polynomial, xs) = {shown(J)}")
    print("    is diagonal, as ys[j] depends on xs[j] alone: xs.grad[i] = v[i] * (2*xs[i] + 3)")
    print(f"  ys.backward(v) with v = {shown(v)}: xs.grad = {shown(xs.grad.tolist())}")
    by_sum, _ = several_outputs(x, device)
    print(f"  ys.sum().backward(), which is v = ones: xs.grad = {shown(by_sum.grad.tolist())}, each x its dy/dx")
    by_running, cs = running_sum(x, v, device)
    print(f"  a running sum is not elementwise: cs = ys.cumsum(0) = {shown(cs.tolist())}, cs[j] = ys[0] + ... + ys[j]")
    print("    xs[i] reaches every cs[j] with j >= i, so xs.grad[i] = (2*xs[i] + 3) * (v[i] + ... + v[2])")
    print(f"  cs.backward(v): xs.grad = {shown(by_running.grad.tolist())}")
    own = [derivative(p) for p in points]  # dy/dx at each of xs, by hand
    weighted = [w * d for w, d in zip(v, own, strict=True)]  # v^T J with J = diag(own)
    diagonal = [[d if i == j else 0.0 for i, d in enumerate(own)] for j in range(3)]
    return [
        agree("J = diag(2*xs + 3)", J, diagonal, how="jacobian"),
        agree("v^T J", [sum(v[j] * J[j][i] for j in range(3)) for i in range(3)], weighted, how="jacobian"),
        agree("ys.backward(v)", xs.grad.tolist(), weighted),
        agree("ys.sum().backward()", by_sum.grad.tolist(), own),
        agree("cs.backward(v)", by_running.grad.tolist(), [d * sum(v[i:]) for i, d in enumerate(own)]),
    ]


def main(argv=None):
    parser = options(__doc__, x=2.0)
    parser.add_argument(
        "--v", nargs=3, type=checked(real_number, "v"), default=[1.0, 0.5, 0.25], metavar=("V1", "V2", "V3"),
        help="the weights ys.backward(v) and cs.backward(v) give the three outputs",
    )  # fmt: skip
    parser.add_argument("--expr", type=checked(expression), help=f"your own y instead: an expression with {language()}")
    parser.add_argument(
        "--mine", type=checked(expression), metavar="DYDX", help="your own dy/dx of y (or of --expr), checked"
    )
    parser.add_argument("--answer", action="store_true", help="with --mine: show the rules' dy/dx too")
    args = parser.parse_args(argv)
    if (own := your_own(parser, args, "x**2 + 3*x + 1", {"x": args.mine}, {"x": args.x})) is not None:
        return own  # your own y, or your dy/dx, checked
    further = [show_slope, show_several_outputs]
    return run_lesson("Example 1, basic autograd", the_plan, args, [show_hand_check], further)


if __name__ == "__main__":
    exit_with(main)
