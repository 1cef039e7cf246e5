"""Example 2, several inputs: one backward() fills the gradient of every leaf that requires grad under c.

c = a**2 * b depends on two leaves; c.backward() computes both partial derivatives in one pass and
stores each in its own leaf's .grad. By hand, treating the other variable as a constant:

    dc/da = 2*a*b          at a = 2, b = 3:  2*2*3 = 12
    dc/db = a**2           at a = 2:         2**2  = 4

Going further: torch.autograd.grad, a derivative of a derivative, the tutorial's one-layer model by hand and
trained; your own c of a and b (--expr) and your own partials (--mine-a, --mine-b), checked.

Run it:  python 02_autograd_multiple_variables.py [--a 2.0] [--b 3.0] [--expr C] [--mine-a DCDA] [--device cpu]
"""

import math

import torch

from expressions import expression, language
from lesson_tools import agree, at_inputs, checked, leaf, name, num, options, real_number, run_lesson, shown
from lesson_tools import exit_with, raised, sgd_step, usable_device, whole_number, within_rounding
from your_function import three_ways, your_own


def the_plan():
    """The lesson plan's code for this example, as the plan writes it."""
    a = torch.tensor([2.0], requires_grad=True)
    b = torch.tensor([3.0], requires_grad=True)
    c = a**2 * b
    c.backward()
    print(a.grad, b.grad)


# The hand check, at any a and b: each partial derivative treats the other variable as a constant
def product(a, b):
    """The lesson's c = a**2 * b, for tensors a and b or plain numbers."""
    return a**2 * b


def dc_da(a, b):
    return 2 * a * b


def dc_db(a, b):
    return a**2


def multiple_variables(a=2.0, b=3.0, device="cpu"):
    """Return (a, b, c) with c = a**2 * b, after c.backward() has filled a.grad and b.grad."""
    a, b = leaf(a, device, "a"), leaf(b, device, "b")
    c = product(a, b)
    c.backward()  # one pass backward reaches both leaves
    return a, b, c


def show_hand_check(args):
    """By hand: dc/da = 2ab and dc/db = a**2, each with the other input held constant"""
    a, b, device = args.a, args.b, args.device
    print(f"  the same steps {at_inputs(args)}, on {device}:")
    a, b, c = multiple_variables(a, b, device)
    va, vb = a.item(), b.item()  # the float32 values autograd worked with
    print(f"  c = {c.item():g}, made by recorded operations: c.grad_fn = {name(c.grad_fn)}")
    print(f"  after c.backward(): a.grad = {a.grad.item():g}, b.grad = {b.grad.item():g}")
    print(f"  by hand: c = {num(va)}**2 * {num(vb)} = {product(va, vb):g}")
    print(f"           dc/da = 2*a*b = 2*{num(va)}*{num(vb)} = {dc_da(va, vb):g}")
    print(f"           dc/db = a**2 = {num(va)}**2 = {dc_db(va, vb):g}")
    return [
        agree("c", c.item(), product(va, vb), how="forward"),
        agree("a.grad = dc/da", a.grad.item(), dc_da(va, vb)),
        agree("b.grad = dc/db", b.grad.item(), dc_db(va, vb)),
    ]


# torch.autograd.grad returns the gradients instead, and leaves .grad alone: the form to use when a
# gradient is a value to compute with rather than an update for an optimizer.
def gradients_returned(a=2.0, b=3.0, device="cpu"):
    """Return (a, b, (dc/da, dc/db)) from torch.autograd.grad(c, (a, b)), which leaves a.grad and b.grad None."""
    a, b = leaf(a, device, "a"), leaf(b, device, "b")
    return a, b, torch.autograd.grad(product(a, b), (a, b))


def show_gradients_returned(args):
    """torch.autograd.grad returns the gradients instead of adding them into .grad"""
    fresh_a, fresh_b, (grad_a, grad_b) = gradients_returned(args.a, args.b, args.device)
    va, vb = fresh_a.item(), fresh_b.item()
    print(f"  torch.autograd.grad(c, (a, b)) on fresh a and b returns ({grad_a.item():g}, {grad_b.item():g})")
    print(f"  and leaves a.grad = {fresh_a.grad}, b.grad = {fresh_b.grad}")
    return [
        agree("grad(c, a) = dc/da", grad_a.item(), dc_da(va, vb)),
        agree("grad(c, b) = dc/db", grad_b.item(), dc_db(va, vb)),
        agree("[a.grad, b.grad] after it", [fresh_a.grad, fresh_b.grad], [None, None]),
    ]


# A derivative of a derivative (a gradient penalty, say): create_graph=True records how the gradient was
# computed, so that it can be differentiated again.
def d2c_da2(a, b):
    return 2 * b


def second_derivative(a=2.0, b=3.0, device="cpu"):
    """Return (dc/da, d2c/da2): the first from grad(c, a, create_graph=True), the second from grad(dc/da, a)."""
    a, b = leaf(a, device, "a"), leaf(b, device, "b")
    (first,) = torch.autograd.grad(product(a, b), a, create_graph=True)  # records how dc/da was computed
    (second,) = torch.autograd.grad(first, a)
    return first, second


def second_derivative_without_create_graph(a=2.0, b=3.0, device="cpu"):
    """grad(grad(c, a), a): the first gradient has no graph behind it, so the second grad() raises RuntimeError."""
    a, b = leaf(a, device, "a"), leaf(b, device, "b")
    (first,) = torch.autograd.grad(product(a, b), a)
    torch.autograd.grad(first, a)


def show_second_derivative(args):
    """A derivative of a derivative: create_graph=True records the first"""
    a, b, device = args.a, args.b, args.device
    first, second = second_derivative(a, b, device)
    va, vb = leaf(a, name="a").item(), leaf(b, name="b").item()
    print(f"  dc/da = grad(c, a, create_graph=True) = {first.item():g}, requires_grad={first.requires_grad}")
    print(f"  d2c/da2 = grad(dc/da, a) = {second.item():g}")
    print(f"  by hand: d2c/da2 = d(2*a*b)/da = 2*b = 2*{num(vb)} = {d2c_da2(va, vb):g}")
    without = raised(second_derivative_without_create_graph, a, b, device)
    print(f"  without create_graph=True, the second grad() {without}")
    return [
        agree("create_graph: dc/da", first.item(), dc_da(va, vb)),
        agree("grad(dc/da, a) = d2c/da2", second.item(), d2c_da2(va, vb)),
    ]


# The tutorial's own model: several variables at full size, its loss and gradients worked by hand as the run says.
def tutorial_tensors(seed=0, device="cpu"):
    """(x, y, w, b) of the tutorial's model: x = ones(5), y = zeros(3), w (5, 3) and b (3) by torch.randn from seed."""
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


def tutorial_by_hand(x, y, w, b):
    """(z, loss, dloss/dw, dloss/db) of the tutorial's model worked by hand, in plain floats from lists."""
    z = [sum(x[i] * w[i][j] for i in range(len(x))) + b[j] for j in range(len(b))]
    loss = sum(max(zj, 0) - zj * yj + math.log1p(math.exp(-abs(zj))) for zj, yj in zip(z, y, strict=True)) / len(z)
    dz = [(1 / (1 + math.exp(-zj)) - yj) / len(z) for zj, yj in zip(z, y, strict=True)]
    return z, loss, [[xi * d for d in dz] for xi in x], dz


def show_tutorial_model(args):
    """The official tutorial's one-layer model: its gradients by hand"""
    device, seed = args.device, 0
    loss, w, b = tutorial_model(seed, device)
    start = [t.tolist() for t in tutorial_tensors(seed, "cpu")]  # x, y, w, b: the same draw, untouched, as lists
    z, loss_by_hand, dw, db = tutorial_by_hand(*start)
    w_gap = max(abs(g - h) for g, h in zip(sum(w.grad.tolist(), []), sum(dw, []), strict=True))  # rows joined
    b_gap = max(abs(g - h) for g, h in zip(b.grad.tolist(), db, strict=True))
    print(f"  x = ones(5), targets y = zeros(3), weights w (5, 3) and bias b (3) from torch.randn, seed {seed}")
    print(f"  z = x @ w + b = {shown([round(v, 4) for v in z])}, and one loss.backward(), where")
    mean = "the mean of log(1 + exp(z[j])) - y[j]*z[j]"
    print(f"  loss = binary_cross_entropy_with_logits(z, y), {mean} = {loss.item():.6g}")
    print(f"  by hand, with sigmoid(z) = 1/(1 + exp(-z)): dloss/dz = (sigmoid(z) - y)/{len(z)} = dloss/db")
    print(f"  = {shown([round(v, 4) for v in db])}, and dloss/dw[i][j] = x[i] * dloss/dz[j]")
    print(f"  largest |w.grad - by hand| = {w_gap:.3g}, largest |b.grad - by hand| = {b_gap:.3g}")
    return [
        agree("model: loss", loss.item(), loss_by_hand, how="forward"),
        within_rounding("model: w.grad vs by hand", w_gap, torch.float32),
        within_rounding("model: b.grad vs by hand", b_gap, torch.float32),
    ]


# Training it: w -= lr * w.grad, b -= lr * b.grad under no_grad, as torch.optim.SGD does it without momentum (tested).
# With x = ones(5) and every target 0, a step takes each z[j] to z[j] - 2*lr*sigmoid(z[j]) (tested): lower at any
# lr > 0, so the loss falls at any rate (in exact arithmetic: a step too small to change a float32 z changes nothing).
def train_tutorial_model(steps=5, lr=0.5, seed=0, device="cpu"):
    """Train the tutorial's model from seed by hand-written descent: the loss before each step and after the last."""
    steps, lr = whole_number("steps", steps, 0, 10**6), real_number("lr", lr)
    x, y, w, b = tutorial_tensors(seed, device)
    losses = []
    for _ in range(steps):
        loss = tutorial_loss(x, y, w, b)
        losses.append(loss.item())
        loss.backward()
        sgd_step((w, b), lr)  # w -= lr * w.grad and b -= lr * b.grad, under no_grad
        w.grad = b.grad = None  # as optimizer.zero_grad() does: the next backward() starts afresh
    return [*losses, tutorial_loss(x, y, w, b).item()]


def train_by_hand(x, y, w, b, steps, lr):
    """The losses of train_tutorial_model worked by hand: the same descent, in plain floats from lists."""
    losses = []
    for _ in range(steps):
        _, loss, dw, db = tutorial_by_hand(x, y, w, b)
        losses.append(loss)
        w = [[wij - lr * dij for wij, dij in zip(wi, di, strict=True)] for wi, di in zip(w, dw, strict=True)]
        b = [bj - lr * dj for bj, dj in zip(b, db, strict=True)]
    return [*losses, tutorial_by_hand(x, y, w, b)[1]]


def show_training(args):
    """Training the model: gradient descent with autograd's gradients, and by hand"""
    device, seed, steps = args.device, 0, 5
    start = [t.tolist() for t in tutorial_tensors(seed, "cpu")]
    print(f"  {steps} steps of w -= lr * w.grad and b -= lr * b.grad, lr the learning rate, under no_grad (recording")
    print("  nothing: example 4); by hand, in plain floats. Here even lr = 50 works: x = ones(5) and every target is")
    print("  0, so a step takes each z[j] to z[j] - 2*lr*sigmoid(z[j]), lower at any lr > 0 (with targets between 0")
    print("  and 1, too large an lr can overshoot)")
    checks = []
    for lr in (0.5, 50.0):
        losses, by_hand = train_tutorial_model(steps, lr, seed, device), train_by_hand(*start, steps, lr)
        print(f"  lr = {lr:g}: loss {' -> '.join(f'{v:.4f}' for v in losses)}")
        print(f"  {'by hand:':>{len(f'lr = {lr:g}:')}} loss {' -> '.join(f'{v:.4f}' for v in by_hand)}")
        falls = all(after < before for before, after in zip(losses, losses[1:], strict=False))
        last = [round(v, 6) for v in (losses[-1], by_hand[-1])]  # float32's sums: the 7th digit differs by release
        checks.append(agree(f"lr {lr:g}: loss, {steps} steps on", *last, how="training"))
        checks.append(agree(f"lr {lr:g}: the loss falls", falls, True, how="training", against="expected"))
    return checks


# Your own c of a and b (--expr), and your own partial derivatives of it (--mine-a, --mine-b)
def partial_derivatives(expr="a**2 * b", a=2.0, b=3.0, device="cpu"):
    """dc/da and dc/db of c at a and b three ways, as 01's derivatives: {"value": c, "a": {"autograd", "symbolic",
    "numeric", "formula"}, "b": {...}}; NoDerivative where there is none."""
    return three_ways(expr, {"a": real_number("a", a), "b": real_number("b", b)}, device, output="c")


def main(argv=None):
    parser = options(__doc__, a=2.0, b=3.0)
    own = checked(lambda text: expression(text, ("a", "b")))
    parser.add_argument("--expr", type=own, help=f"your own c instead: an expression with {language(('a', 'b'))}")
    parser.add_argument("--mine-a", type=own, metavar="DCDA", help="your own dc/da of c (or of --expr), checked")
    parser.add_argument("--mine-b", type=own, metavar="DCDB", help="your own dc/db, checked")
    parser.add_argument("--answer", action="store_true", help="with --mine-a or --mine-b: show the rules' too")
    args = parser.parse_args(argv)
    mine, point = {"a": args.mine_a, "b": args.mine_b}, {"a": args.a, "b": args.b}
    if (own := your_own(parser, args, "a**2 * b", mine, point, "c", "Example 2")) is not None:
        return own  # your own c, or your partials, checked
    further = [show_gradients_returned, show_second_derivative, show_tutorial_model, show_training]
    return run_lesson("Example 2, several inputs", the_plan, args, [show_hand_check], further)


if __name__ == "__main__":
    exit_with(main)
