"""Example 2, several inputs: one backward() fills the gradient of every leaf that requires grad under c.

c = a**2 * b depends on two leaves. c.backward() computes both partial derivatives in one pass
and stores each in its own leaf's .grad.

By hand, treating the other variable as a constant:

    dc/da = 2*a*b          at a = 2, b = 3:  2*2*3 = 12
    dc/db = a**2           at a = 2:         2**2  = 4

torch.autograd.grad(c, (a, b)) computes the same two derivatives and returns them instead:
a.grad and b.grad stay None. It is the form to use when a gradient is a value to compute with
rather than an update for an optimizer. To differentiate that value again (a derivative of a
derivative, a gradient penalty), pass create_graph=True, and autograd records the computation of
the gradient too:

    dc/da   = grad(c, a, create_graph=True) = 2*a*b      at a = 2, b = 3:  12
    d2c/da2 = grad(dc/da, a)                = 2*b        at b = 3:         6

Without create_graph=True the gradient comes back with no graph behind it, and differentiating it
again raises "element 0 of tensors does not require grad and does not have a grad_fn".

The same holds at full size. The official tutorial's one-layer model has x = ones(5), targets
y = zeros(3), weights w of shape (5, 3) and b of shape (3), z = x @ w + b and
loss = binary_cross_entropy_with_logits(z, y), the mean over the 3 outputs of
log(1 + exp(z)) - y*z. One loss.backward() fills w.grad and b.grad; by hand, with sigmoid(z) = 1/(1 + exp(-z)),

    dloss/dz = (sigmoid(z) - y) / 3,   dloss/db = dloss/dz,   dloss/dw[i][j] = x[i] * dloss/dz[j]

Trained a few steps by hand (w -= lr * w.grad and b -= lr * b.grad under no_grad, the gradients reset
before the next backward()), the update is the one torch.optim.SGD makes (without momentum), and here,
with lr = 0.5, the loss falls at every step; with too large a learning rate it would not.

Run it:  python 02_autograd_multiple_variables.py [--a 2.0] [--b 3.0] [--device cpu]
"""

import argparse
import math
import sys
import warnings

import torch


def product(a, b):
    """The lesson's c = a**2 * b, for tensors a and b or plain numbers."""
    return a**2 * b


# By hand, each partial derivative treats the other variable as a constant.


def dc_da(a, b):
    return 2 * a * b


def dc_db(a, b):
    return a**2


def d2c_da2(a, b):
    return 2 * b


def leaves(a, b, device):
    """a and b as one-element leaves that require grad."""
    device = usable_device(device)
    return tuple(torch.tensor([real_number(n, v)], device=device, requires_grad=True) for n, v in (("a", a), ("b", b)))


def multiple_variables(a=2.0, b=3.0, device="cpu"):
    """Return (a, b, c) with c = a**2 * b, after c.backward() has filled a.grad and b.grad."""
    a, b = leaves(a, b, device)
    c = product(a, b)
    c.backward()  # one pass backward reaches both leaves
    return a, b, c


def gradients_returned(a=2.0, b=3.0, device="cpu"):
    """Return (a, b, (dc/da, dc/db)) from torch.autograd.grad(c, (a, b)), which leaves a.grad and b.grad None."""
    a, b = leaves(a, b, device)
    return a, b, torch.autograd.grad(product(a, b), (a, b))


# A derivative of a derivative: create_graph=True


def second_derivative(a=2.0, b=3.0, device="cpu"):
    """Return (dc/da, d2c/da2): the first from grad(c, a, create_graph=True), the second from grad(dc/da, a)."""
    a, b = leaves(a, b, device)
    (first,) = torch.autograd.grad(product(a, b), a, create_graph=True)  # records how dc/da was computed
    (second,) = torch.autograd.grad(first, a)
    return first, second


def second_derivative_without_create_graph(a=2.0, b=3.0, device="cpu"):
    """grad(grad(c, a), a): the first gradient has no graph behind it, so the second grad() raises RuntimeError."""
    a, b = leaves(a, b, device)
    (first,) = torch.autograd.grad(product(a, b), a)
    torch.autograd.grad(first, a)


# The tutorial's own model: several variables at full size


def tutorial_tensors(seed=0, device="cpu"):
    """(x, y, w, b) of the tutorial's model: x = ones(5), y = zeros(3), and the leaves w (5, 3) and b (3)
    drawn by torch.randn from seed, the same numbers on every device."""
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {seed!r}")
    if seed < 0:
        raise ValueError(f"seed must be a whole number >= 0, got {seed!r}")
    device, generator = usable_device(device), torch.Generator().manual_seed(seed)
    w, b = (torch.randn(shape, generator=generator).to(device).requires_grad_() for shape in ((5, 3), (3,)))
    return torch.ones(5, device=device), torch.zeros(3, device=device), w, b


def tutorial_loss(x, y, w, b):
    return torch.nn.functional.binary_cross_entropy_with_logits(x @ w + b, y)


def tutorial_model(seed=0, device="cpu"):
    """Return (loss, w, b) for the tutorial's model drawn from seed, after loss.backward()."""
    x, y, w, b = tutorial_tensors(seed, device)
    loss = tutorial_loss(x, y, w, b)
    loss.backward()  # one pass fills w.grad and b.grad
    return loss, w, b


def train_tutorial_model(steps=5, lr=0.5, seed=0, device="cpu"):
    """Train the tutorial's model from seed by hand-written gradient descent. Returns the loss before each
    of the steps updates and after the last: steps + 1 values."""
    steps, lr = real_number("steps", steps), real_number("lr", lr)
    if not (steps.is_integer() and steps >= 0):
        raise ValueError(f"steps must be a whole number >= 0, got {steps:g}")
    x, y, w, b = tutorial_tensors(seed, device)
    losses = []
    for _ in range(int(steps)):
        loss = tutorial_loss(x, y, w, b)
        losses.append(loss.item())
        loss.backward()
        with torch.no_grad():  # the update is no part of the loss: nothing to record
            for parameter in (w, b):
                parameter -= lr * parameter.grad
                parameter.grad = None  # as optimizer.zero_grad() does: the next backward() starts afresh
    return [*losses, tutorial_loss(x, y, w, b).item()]


def tutorial_by_hand(x, y, w, b):
    """(z, loss, dloss/dw, dloss/db) of the tutorial's model worked by hand, in plain floats from lists."""
    z = [sum(x[i] * w[i][j] for i in range(len(x))) + b[j] for j in range(len(b))]
    loss = sum(max(zj, 0) - zj * yj + math.log1p(math.exp(-abs(zj))) for zj, yj in zip(z, y, strict=True)) / len(z)
    dz = [(1 / (1 + math.exp(-zj)) - yj) / len(z) for zj, yj in zip(z, y, strict=True)]
    return z, loss, [[xi * d for d in dz] for xi in x], dz


def train_by_hand(x, y, w, b, steps, lr):
    """The losses of train_tutorial_model worked by hand: the same descent, in plain floats from lists."""
    losses = []
    for _ in range(steps):
        _, loss, dw, db = tutorial_by_hand(x, y, w, b)
        losses.append(loss)
        w = [[wij - lr * dij for wij, dij in zip(wi, di, strict=True)] for wi, di in zip(w, dw, strict=True)]
        b = [bj - lr * dj for bj, dj in zip(b, db, strict=True)]
    return [*losses, tutorial_by_hand(x, y, w, b)[1]]


def main(argv=None):
    args = options(__doc__, a=2.0, b=3.0).parse_args(argv)
    a, b, c = multiple_variables(args.a, args.b, args.device)
    va, vb = a.item(), b.item()  # the float32 values autograd worked with
    print(f"Example 2, autograd with several inputs on {args.device}: c = a**2 * b")
    print(f"a = {va:g}, b = {vb:g}   (leaves, requires_grad={a.requires_grad} and {b.requires_grad})")
    print(f"c = {c.item():g}   (computed by the forward pass, which autograd recorded: c.grad_fn = {name(c.grad_fn)})")
    print(f"after c.backward(): a.grad = {a.grad.item():g}, b.grad = {b.grad.item():g}")
    print("by hand:")
    print(f"  c     = a**2 * b = {num(va)}**2 * {num(vb)} = {product(va, vb):g}")
    print(f"  dc/da = 2*a*b = 2*{num(va)}*{num(vb)} = {dc_da(va, vb):g}")
    print(f"  dc/db = a**2 = {num(va)}**2 = {dc_db(va, vb):g}")

    # torch.autograd.grad returns the gradients
    fresh_a, fresh_b, (grad_a, grad_b) = gradients_returned(args.a, args.b, args.device)
    print(f"torch.autograd.grad(c, (a, b)) on fresh a and b returns ({grad_a.item():g}, {grad_b.item():g})")
    print(f"  and leaves a.grad = {fresh_a.grad}, b.grad = {fresh_b.grad}")

    # A derivative of a derivative
    first, second = second_derivative(args.a, args.b, args.device)
    print("a derivative of a derivative:")
    print(f"  dc/da = grad(c, a, create_graph=True) = {first.item():g}, requires_grad={first.requires_grad}")
    print(f"  d2c/da2 = grad(dc/da, a) = {second.item():g}")
    print(f"  by hand: d2c/da2 = d(2*a*b)/da = 2*b = 2*{num(vb)} = {d2c_da2(va, vb):g}")
    try:
        second_derivative_without_create_graph(args.a, args.b, args.device)
        print("  without create_graph=True, the second grad() ran")
    except RuntimeError as error:
        print(f"  without create_graph=True, the second grad() raises RuntimeError: {error}")

    # The tutorial's model
    seed = 0
    net_loss, net_w, net_b = tutorial_model(seed, args.device)
    start = [t.tolist() for t in tutorial_tensors(seed, "cpu")]  # x, y, w, b: the same draw, untouched, as lists
    z, loss_by_hand, dw, db = tutorial_by_hand(*start)
    w_gap = max(
        abs(g - h) for got, hand in zip(net_w.grad.tolist(), dw, strict=True) for g, h in zip(got, hand, strict=True)
    )
    b_gap = max(abs(g - h) for g, h in zip(net_b.grad.tolist(), db, strict=True))
    print(f"the tutorial's model: x = ones(5), y = zeros(3), w (5, 3) and b (3) from torch.randn, seed {seed}")
    print(f"  z = x @ w + b = {shown([round(v, 4) for v in z])}, loss = {net_loss.item():.6g}; one loss.backward()")
    print(f"  by hand: dloss/dz = (sigmoid(z) - y)/{len(z)} = {shown([round(v, 4) for v in db])} = dloss/db;")
    print("  dloss/dw[i][j] = x[i] * dloss/dz[j]")
    print(f"  largest |w.grad - by hand| = {w_gap:.3g}, largest |b.grad - by hand| = {b_gap:.3g}")
    steps, lr = 5, 0.5
    losses = train_tutorial_model(steps, lr, seed, args.device)
    losses_by_hand = train_by_hand(*start, steps, lr)
    print(f"  trained {steps} steps, lr = {lr:g}, w -= lr * w.grad and b -= lr * b.grad under no_grad:")
    print(f"  loss {' -> '.join(f'{v:.4f}' for v in losses)}")
    print(f"  by hand, in plain floats: {' -> '.join(f'{v:.4f}' for v in losses_by_hand)}")
    falls = all(after < before for before, after in zip(losses, losses[1:], strict=False))

    print("checks:")
    ok = [
        agree("c", c.item(), product(va, vb), how="forward"),
        agree("a.grad = dc/da", a.grad.item(), dc_da(va, vb)),
        agree("b.grad = dc/db", b.grad.item(), dc_db(va, vb)),
        agree("grad(c, a) = dc/da", grad_a.item(), dc_da(va, vb)),
        agree("grad(c, b) = dc/db", grad_b.item(), dc_db(va, vb)),
        agree("[a.grad, b.grad] after it", [fresh_a.grad, fresh_b.grad], [None, None]),
        agree("create_graph: dc/da", first.item(), dc_da(va, vb)),
        agree("grad(dc/da, a) = d2c/da2", second.item(), d2c_da2(va, vb)),
        agree("model: loss", net_loss.item(), loss_by_hand, how="forward"),
        agree("model: w.grad, max gap", w_gap, 0.0, against="target"),
        agree("model: b.grad, max gap", b_gap, 0.0, against="target"),
        agree(f"model: loss, {steps} steps on", losses[-1], losses_by_hand[-1], how="training"),
        agree("model: the loss falls", falls, True, how="training"),
    ]
    return 0 if all(ok) else 1


def name(node):
    """A grad_fn's class name (MulBackward0), or None: stable across versions, unlike its repr."""
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
