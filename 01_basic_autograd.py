"""Example 1, basic autograd: PyTorch's derivative of y = x**2 + 3*x + 1 beside the one worked by hand.

A tensor made with requires_grad=True is a leaf that autograd watches: while grad mode is on (example
4 turns it off), every differentiable operation on it (x * 2, x.sin(); not x > 1, nor zeros_like(x),
which reads only x's shape) is recorded in a graph, and y.backward() walks that graph from y back to x
and adds dy/dx into x.grad, which is None before the first call (example 3 shows the adding).

By hand, the power rule and the sum rule give

    y     = x**2 + 3*x + 1          at x = 2:  4 + 6 + 1 = 11
    dy/dx = 2*x + 3                 at x = 2:  2*2 + 3   = 7

What the number means: dy/dx is the slope of y at x, the rate at which y changes: for a small change
dx of x, y changes by about dy/dx * dx (from x = 2 to 2.001, by about 0.007).
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

Your own function: --expr "sin(x) * exp(-x/2)" runs the lesson on any expression in x made of numbers,
x, + - * / **, parentheses and sin, cos, tan, exp, log, sqrt, tanh, sigmoid, abs. The text is only
parsed, never run as Python, and the one tree it gives is built three ways: as torch operations, which
autograd differentiates; as a formula, which sympy differentiates by the rules of calculus, the way it is
done by hand; and in plain floats, whose central difference measures the slope. Each way has its limits.
The rules give a formula, but it can swell far beyond the expression, and they need a formula: a loop or
an if in code is not one. The central difference needs only values, but it is an estimate: too large an
h measures a chord, too small a one loses its digits to rounding. Autograd follows the torch operations
the code actually ran, loops and ifs included, exact up to rounding; but it differentiates the branch the
code took, sees nothing done outside torch (.item(), math, NumPy), and gives the derivative at one point
only, never the formula.

Run it:  python 01_basic_autograd.py [--x 2.0] [--v 1 0.5 0.25] [--expr EXPR] [--device cpu]
"""

import argparse
import math
import operator
import re
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


# Your own function, the same in 01 and 05: an expression in x, read by a small parser (never run as
# Python), and built from the one tree three ways: torch operations for autograd, sympy's for the rules of
# calculus, plain floats for the central difference.

LONGEST, DEEPEST, LARGEST_EXPONENT = 200, 30, 1024
FUNCTIONS = {  # name: (torch's, in plain floats, sympy's, sympy given as s: it is imported for an expression only)
    "sin": (torch.sin, math.sin, lambda s, u: s.sin(u)),
    "cos": (torch.cos, math.cos, lambda s, u: s.cos(u)),
    "tan": (torch.tan, math.tan, lambda s, u: s.tan(u)),
    "exp": (torch.exp, math.exp, lambda s, u: s.exp(u)),
    "log": (torch.log, math.log, lambda s, u: s.log(u)),
    "sqrt": (torch.sqrt, math.sqrt, lambda s, u: s.sqrt(u)),
    "tanh": (torch.tanh, math.tanh, lambda s, u: s.tanh(u)),
    "sigmoid": (
        torch.sigmoid,
        lambda u: math.exp(min(u, 0)) / (1 + math.exp(-abs(u))),
        lambda s, u: 1 / (1 + s.exp(-u)),
    ),
    "abs": (torch.abs, abs, lambda s, u: s.Abs(u)),
}
LANGUAGE = f"numbers, x, + - * / **, parentheses and {', '.join(FUNCTIONS)}"
TOKEN = re.compile(r"\s*(?:(\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)|([A-Za-z_]\w*)|(\*\*|[-+*/(),]))")
OPERATIONS = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv, "**": operator.pow}
NOT_IN_LANGUAGE = {".": "an attribute (.)", "'": "a string", '"': "a string", "[": "a [", "{": "a {", "=": "an ="}


def parse_expression(text):
    """The tree of an expression in x: ("x",), ("number", its text), ("-", a), (operator, a, b) or
    (function, a), with Python's precedence (-x**2 is -(x**2), 2**-x is 2**(-x)). It is only parsed,
    never run as Python; ValueError names what is not in the language."""
    if not isinstance(text, str):
        raise TypeError(f"expr must be a str, got {text!r}")
    if len(text) > LONGEST:
        raise ValueError(f"the expression is {len(text)} characters long, more than {LONGEST}")
    tokens, end = [], len(text.rstrip())  # (kind: 1 number, 2 name, 3 operator; its text; where it starts)
    while (tokens[-1][3] if tokens else 0) < end:
        start = tokens[-1][3] if tokens else 0
        match = TOKEN.match(text, start)
        if match is None:  # a name the language lacks says more than the character after it: __import__('os')
            unknown_names(tokens)
            where = len(text) - len(text[start:].lstrip())
            what = NOT_IN_LANGUAGE.get(text[where], repr(text[where]))
            raise ValueError(f"{what} at character {where + 1} is not part of the language: {LANGUAGE}")
        tokens.append((match.lastindex, match[match.lastindex], match.start(match.lastindex) + 1, match.end()))
    if not tokens:
        raise ValueError("the expression is empty")
    unknown_names(tokens)
    tree, rest = parse_sum(tokens, 0)
    if rest:
        raise ValueError(f"{rest[0][1]!r} at character {rest[0][2]} cannot follow what comes before it")
    constant_value(tree)
    return tree


def unknown_names(tokens):
    """ValueError for the first name that is neither x nor a function of the language."""
    for i, (kind, token, _, _) in enumerate(tokens):
        if kind == 2 and token != "x" and token not in FUNCTIONS:
            called = i + 1 < len(tokens) and tokens[i + 1][1] == "("
            raise ValueError(f"unknown {'function' if called else 'name'} {token!r}: the language has {LANGUAGE}")


def parse_sum(tokens, depth):
    tree, tokens = parse_product(tokens, depth)
    while tokens and tokens[0][1] in ("+", "-"):
        right, rest = parse_product(tokens[1:], depth)
        tree, tokens = (tokens[0][1], tree, right), rest
    return tree, tokens


def parse_product(tokens, depth):
    tree, tokens = parse_unary(tokens, depth)
    while tokens and tokens[0][1] in ("*", "/"):
        right, rest = parse_unary(tokens[1:], depth)
        tree, tokens = (tokens[0][1], tree, right), rest
    return tree, tokens


def parse_unary(tokens, depth):
    if tokens and tokens[0][1] in ("-", "+"):
        operand, rest = parse_unary(tokens[1:], depth)
        return (("-", operand) if tokens[0][1] == "-" else operand), rest
    base, tokens = parse_atom(tokens, depth)
    if tokens and tokens[0][1] == "**":  # right to left, and tighter than a minus before it
        exponent, tokens = parse_unary(tokens[1:], depth)
        return ("**", base, exponent), tokens
    return base, tokens


def parse_atom(tokens, depth):
    if not tokens:
        raise ValueError("the expression ends too soon")
    (kind, token, where, _), rest = tokens[0], tokens[1:]
    if kind == 1:  # 1e-999999999 would be a long wait for its exact value: its exponent is checked
        if abs(int(token.lower().partition("e")[2] or 0)) > LARGEST_EXPONENT:
            raise ValueError(f"{token} is written with an exponent beyond {LARGEST_EXPONENT}")
        return ("number", token), rest
    if kind == 3 and token != "(":
        raise ValueError(f"{token!r} at character {where} stands where a number, x or a function should")
    called = token == "(" or (bool(rest) and rest[0][1] == "(")
    if token == "x" and called:
        raise ValueError("x is not a function")
    if token == "x":
        return ("x",), rest
    if not called:
        raise ValueError(f"{token} needs its argument in parentheses, as {token}(x)")
    if depth >= DEEPEST:
        raise ValueError(f"parentheses are nested deeper than {DEEPEST}")
    arguments, rest = [], rest if token == "(" else rest[1:]
    while True:  # arguments separated by commas, counted to name a wrong count
        argument, rest = parse_sum(rest, depth + 1)
        arguments.append(argument)
        if not rest or rest[0][1] not in (",", ")"):
            raise ValueError(f"a ( at character {where} is not closed by )")
        if rest[0][1] == ")":
            break
        rest = rest[1:]
    if token == "(":
        if len(arguments) != 1:
            raise ValueError(f"a , at character {where} is not part of the language outside a function's ( )")
        return arguments[0], rest[1:]
    if len(arguments) != 1:
        raise ValueError(f"{token} takes one argument, got {len(arguments)}")
    return (token, arguments[0]), rest[1:]


def constant_value(tree):
    """The value of a part without x, checked: ValueError where it is not a finite number, or has an
    exponent too large to compute exactly (9**9**9**9), as the rules of calculus would. None for a part with x."""
    values = [constant_value(part) for part in tree[1:] if isinstance(part, tuple)]
    if tree[0] == "x" or None in values:
        return None
    if tree[0] == "**" and abs(values[1]) > LARGEST_EXPONENT:
        raise ValueError(f"{unparse(tree)} is too large to compute exactly: its exponent is beyond {LARGEST_EXPONENT}")
    try:
        return plain(tree, math.nan)
    except ValueError:
        raise ValueError(f"{unparse(tree)} is not a finite number") from None


def unparse(tree):
    """The tree written back as text, each operation in parentheses."""
    if tree[0] in ("x", "number"):
        return tree[-1]
    if tree[0] in FUNCTIONS:
        return f"{tree[0]}({unparse(tree[1])})"
    return f"(-{unparse(tree[1])})" if len(tree) == 2 else f"({unparse(tree[1])} {tree[0]} {unparse(tree[2])})"


def build(tree, x, number, function, power=operator.pow):
    """The tree computed with x: each number made by number(its text), each function applied as function(name, u),
    each ** as power(base, exponent)."""
    if tree[0] == "x":
        return x
    if tree[0] == "number":
        return number(tree[1])
    parts = [build(part, x, number, function, power) for part in tree[1:]]
    if tree[0] in FUNCTIONS:
        return function(tree[0], parts[0])
    if tree[0] == "**":
        return power(*parts)
    return -parts[0] if len(parts) == 1 else OPERATIONS[tree[0]](*parts)


def plain(tree, x):
    """The tree in plain floats at x; ValueError where that is not a finite real number."""
    try:
        value = build(tree, x, float, lambda name, u: FUNCTIONS[name][1](u))
    except (ArithmeticError, ValueError, TypeError):  # 1/0, log(0), exp(1000), a complex number met by sin
        value = math.nan
    if isinstance(value, complex) or not math.isfinite(value):  # (-8)**(1/3) is complex in Python
        raise ValueError(f"{unparse(tree)} is not a finite real number at x = {x:g}")
    return value


def depends_on_x(tree):
    return tree[0] == "x" or any(depends_on_x(part) for part in tree[1:] if isinstance(part, tuple))


def undefined_at(tree, x):
    """Why the expression has no finite value or derivative at x, naming the step; None where it has both."""
    if tree[0] == "x" or not depends_on_x(tree):  # a constant is checked when parsed; its derivative is 0
        return None
    for part in tree[1:]:
        if isinstance(part, tuple) and (reason := undefined_at(part, x)):
            return reason
    values = [plain(part, x) for part in tree[1:] if isinstance(part, tuple)]  # each checked above
    u, name = values[0], tree[0]
    if name == "/" and values[1] == 0:
        return f"{unparse(tree)} divides by 0"
    if (name == "log" and u <= 0) or (name == "sqrt" and u < 0):
        return f"{unparse(tree)} needs a positive argument, and {unparse(tree[1])} is {u:g}"
    if name in ("sqrt", "abs") and u == 0:
        return f"{unparse(tree)} has no derivative where its argument is 0"
    if name == "**" and u <= 0 and (depends_on_x(tree[2]) or (u == 0 and 0 < values[1] < 1)):
        return f"{unparse(tree)} has no derivative here: its base is {u:g}"
    try:
        plain(tree, x)  # overflow, a negative number to a fractional power, 0 to a negative one
    except ValueError as error:
        return str(error)
    return None


def with_autograd(tree, x):
    """The tree as torch operations on the tensor x, recorded by autograd; a part without x in plain floats."""
    y = build(tree, x, float, lambda name, u: FUNCTIONS[name][0 if isinstance(u, torch.Tensor) else 1](u))
    return y if isinstance(y, torch.Tensor) else x * 0 + y  # an expression without x: a constant, slope 0


def expression(text):
    """text if it is an expression of the language (an argparse type); otherwise ValueError naming why."""
    parse_expression(text)
    return text


def exact_power(base, exponent):
    """base**exponent in sympy, which computes a number to a number exactly: ValueError where that would take
    long, as for a constant when parsed. sympy finds such a part where x cancels: (x - x + 1.5)**(x - x + 10**8)."""
    if base.is_Number and exponent.is_Number and abs(base) not in (0, 1) and abs(exponent) > LARGEST_EXPONENT:
        too_large = f"its exponent is beyond {LARGEST_EXPONENT}"  # as the parser says of a constant
        raise ValueError(f"the rules would compute {float(base):.8g} ** {exponent} exactly: {too_large}")
    return base**exponent


class NoDerivative(ArithmeticError):
    """The expression has no finite derivative at x: the message says why."""


def central_difference_of(tree, at):
    """(slope, h): (y(x + h) - y(x - h)) / (2*h) in plain floats. h is a rule of thumb, float64's cube-root
    epsilon times max(1, |x|), not the best step for every y; it is made 10 times smaller while x - h or x + h
    falls outside where y is defined."""
    h = 6.0554544523933395e-06 * max(1.0, abs(at))
    for _ in range(12):
        try:
            return (plain(tree, at + h) - plain(tree, at - h)) / (2 * h), h
        except ValueError:
            h /= 10
    return math.nan, h


def derivatives(expr="x**2 + 3*x + 1", x=2.0, device="cpu"):
    """dy/dx of the expression y at x (as float32 holds it) three ways: {"value": y, "autograd": from
    backward(), "symbolic": the rules of calculus applied by sympy, then evaluated, "numeric": the central
    difference, "formula": the rules' dy/dx as text}. NoDerivative where there is no finite one."""
    tree = parse_expression(expr)
    leaf = torch.tensor([real_number("x", x)], device=usable_device(device), requires_grad=True)
    at = leaf.item()  # the float32 value autograd works with: the other two ways work at it too
    reason = undefined_at(tree, at)
    if reason:
        raise NoDerivative(f"at x = {at:g}, {reason}")
    y = with_autograd(tree, leaf)
    y.backward()
    import sympy  # for the rules only: torch depends on it, but the lesson's default run needs none of it

    symbol = sympy.Symbol("x", real=True)
    exact = build(tree, symbol, sympy.Rational, lambda f, u: FUNCTIONS[f][2](sympy, u), exact_power)
    formula = sympy.diff(exact, symbol)
    try:  # x as a 30-digit number evaluates each step as it is put in: quick, where evalf(subs=...) is not
        symbolic = complex(formula.xreplace({symbol: sympy.Float(at, 30)}))
    except TypeError:  # sympy's infinities and nan
        symbolic = math.nan
    try:
        text = str(formula)
    except ValueError:  # a number of more digits than Python writes out (x*1e-300*...*1e-300): in floating point
        text = str(formula.evalf(15))
    found = {
        "value": y.item(),
        "autograd": leaf.grad.item(),
        "symbolic": symbolic.real if symbolic.imag == 0 else math.nan,
        "numeric": central_difference_of(tree, at)[0],
        "formula": text,
    }
    ways = {
        "value": "y",
        "autograd": "autograd's dy/dx",
        "symbolic": "the rules' dy/dx",
        "numeric": "the slope measured",
    }
    bad = [way for way in ways if not math.isfinite(found[way])]
    if bad:
        verb = "is not a finite number" if len(bad) == 1 else "are not finite numbers"
        why = f" in float32, which holds at most {torch.finfo(torch.float32).max:.3g}"  # y is finite in float64
        why = why if set(bad) <= {"value", "autograd"} else ""
        raise NoDerivative(f"at x = {at:g}, {' and '.join(ways[way] for way in bad)} {verb}{why}")
    return found


def main(argv=None):
    parser = options(__doc__, x=2.0)
    parser.add_argument(
        "--v", nargs=3, type=checked(real_number, "v"), default=[1.0, 0.5, 0.25], metavar=("V1", "V2", "V3"),
        help="the weights ys.backward(v) and cs.backward(v) give the three outputs",
    )  # fmt: skip
    parser.add_argument("--expr", type=checked(expression), help=f"your own y instead: an expression with {LANGUAGE}")
    args = parser.parse_args(argv)
    if args.expr is not None:
        try:
            return your_own_function(args.expr, args.x, args.device)
        except ValueError as error:  # a part too long to compute exactly, found by the rules: bad input, as parsed
            parser.error(str(error))
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


def your_own_function(expr, x, device):
    """main's run with --expr: dy/dx by autograd, by the rules and measured, side by side. Returns 0 where they
    agree, 1 where they do not or there is no finite derivative to compare."""
    print(f"Example 1, your own function on {device}: y = {expr}")
    try:
        found = derivatives(expr, x, device)
    except NoDerivative as reason:
        print(f"{reason}; nothing to compare")
        return 1
    tree, at = parse_expression(expr), torch.tensor(x, dtype=torch.float32).item()  # x as autograd saw it
    slope, h = central_difference_of(tree, at)
    print(f"x = {x:g}, in float32 {at:.10g}: all three ways work at it; y = {found['value']:.8g} (the forward pass)")
    print(f"by autograd:  y.backward() leaves x.grad = {found['autograd']:.8g}")
    formula = found["formula"]  # the rules can make it swell far beyond the expression: show its start
    print(f"by the rules: dy/dx = {formula if len(formula) <= 200 else formula[:150] + ' ...'}")
    if len(formula) > 200:
        print(f"              ({len(formula)} characters in all, from {len(expr)} in y: the formula swells)")
    print(f"              = {found['symbolic']:.8g} at x   (sympy applied the rules; 30 digits, then rounded)")
    print(f"measured:     (y(x + h) - y(x - h)) / (2*h), h = {h:.3g}: {slope:.8g}   (in plain floats)")
    print("checks:")
    ok = [
        agree("y", found["value"], plain(tree, at), how="forward", against="floats"),
        agree("dy/dx", found["autograd"], found["symbolic"], against="rules"),
        agree("dy/dx", slope, found["symbolic"], how="measured", against="rules"),
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


def agree(label, value, by_hand, how="autograd", against="by hand"):
    """Print a value computed how (by autograd, by the forward pass, ...) beside the one worked out against it
    (by hand, by the rules, ...); True when they agree: numbers to float32 precision, lists element by element."""

    def close(a, b):
        if isinstance(b, list):
            return isinstance(a, list) and len(a) == len(b) and all(map(close, a, b))
        return math.isclose(a, b, rel_tol=1e-5, abs_tol=1e-5) if isinstance(b, float) else a == b

    ok = close(value, by_hand)
    print(f"  {label:<26} {how:>8} {shown(value):<12} {against:>7} {shown(by_hand):<12} {'agree' if ok else 'DIFFER'}")
    return ok


if __name__ == "__main__":
    sys.exit(main())
