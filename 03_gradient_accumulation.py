"""Example 3, gradient accumulation: backward() adds to .grad; it does not overwrite it.

Each backward() call adds the new gradient to whatever x.grad already holds. With
y = x**2 + 3*x + 1 and dy/dx = 2*x + 3 (7 at x = 2), three calls show it:

    1st y.backward()                      x.grad = dy/dx       = 7
    2nd y.backward(), without zeroing     x.grad = 2 * dy/dx   = 14
    x.grad.zero_(), then 3rd backward()   x.grad = dy/dx       = 7

This is why a training loop calls optimizer.zero_grad() before each loss.backward().

Why add at all: a sum's gradient is the sum of the gradients. A loss summed over a batch, say
L(x) = sum over s in the batch of (x - s)**2 with dL/dx = 2*(n*x - sum(s)), gets the same x.grad
whether backward() runs once on the whole batch or once per half, one after the other, with no
zeroing in between. That is how a batch too large for memory is trained in pieces. It holds as
said for a summed loss only. torch.nn's losses average by default (reduction='mean'): each half's
mean weighs its examples by 1/(half's size), so two halves add up to twice the whole batch's
gradient, unless each half's loss is divided by 2, the number of pieces (in general, each piece's
mean weighed by its size over the batch's).

Two ways to reset: x.grad.zero_() writes zeros into the same tensor, and the next backward() adds
into it (in place, as it does for a dense gradient whenever it records no graph of its own; with
create_graph=True it makes a new tensor instead). x.grad = None drops the tensor, and the next
backward() makes a new one. optimizer.zero_grad() does the second by default (set_to_none=True, since
PyTorch 2.0): nothing to write, and None tells "no gradient yet" apart from a gradient of 0.

Put to work, the gradient moves x downhill. Gradient descent repeats y = x**2 + 3*x + 1; y.backward();
x -= lr * x.grad under no_grad; x.grad.zero_(), rebuilding y from x each time as a training loop does.
By hand, each step takes x to x - lr*(2*x + 3), so after k steps

    x_k = -1.5 + (x_0 + 1.5) * (1 - 2*lr)**k

x walks to the minimum -1.5, where dy/dx = 0, when 0 < lr < 1 (in one step at lr = 0.5); it swings
between two points at lr = 1 and runs away beyond. Leave out the zeroing and each step uses the sum of
all the gradients so far: x overshoots the minimum and, for 0 < lr < 2, swings around it without
settling (unless it starts there); from lr = 2 on it runs away.

The plan calls y.backward() twice on the same y. That fails as written: the first call frees the
values the graph saved for the backward pass. retain_graph=True keeps them, as the official
tutorial does; a training loop instead rebuilds y from x before each call.

Run it:  python 03_gradient_accumulation.py [--x 2.0] [--lr 0.1] [--steps 5] [--device cpu]
"""

import argparse
import inspect
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


def leaf(x, device):
    """x as a one-element leaf that requires grad."""
    return torch.tensor([real_number("x", x)], device=usable_device(device), requires_grad=True)


def gradient_accumulation(x=2.0, device="cpu"):
    """Return x.grad after each of three y.backward() calls: the 1st, a 2nd without zeroing, a 3rd after zero_()."""
    x = leaf(x, device)
    y = polynomial(x)
    seen = []
    y.backward(retain_graph=True)  # keep the graph's saved tensors: y.backward() runs again below
    seen.append(x.grad.item())
    y.backward(retain_graph=True)  # no zeroing in between, so this dy/dx is added to the last
    seen.append(x.grad.item())
    x.grad.zero_()  # zeros, in place; optimizer.zero_grad(set_to_none=False) does this to every parameter
    y.backward()  # the last call may free the graph
    seen.append(x.grad.item())
    return seen


def plan_as_written(x=2.0, device="cpu"):
    """The plan's literal code, y.backward() twice on one graph: the second call raises RuntimeError."""
    x = leaf(x, device)
    y = polynomial(x)
    y.backward()  # frees the tensors saved for the backward pass
    y.backward()  # needs them: raises


# Why gradients add: a batch in pieces

BATCH = (1.0, 2.0, 3.0, 4.0)  # the data s of the batch example
PIECES = 2  # the batch in halves
REDUCTIONS = ("sum", "mean")


def batch_loss(x, batch, reduction):
    """The squared error of x against each s in batch, summed or averaged: torch.nn's MSELoss."""
    return torch.nn.functional.mse_loss(x.expand_as(batch), batch, reduction=reduction)


def batch_slope(x, batch, reduction):
    """dL/dx worked by hand: 2*(n*x - sum(s)) for the summed loss, that over n for the mean."""
    total = 2 * (len(batch) * x - sum(batch))
    return total if reduction == "sum" else total / len(batch)


def batch_in_halves(x=2.0, reduction="sum", scaled=False, device="cpu"):
    """For L = batch_loss over BATCH, return x.grad after backward() on its 1st half, after the 2nd half too
    (no zeroing), and after one backward() on the whole batch. scaled: each half's loss divided by 2 first."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {', '.join(REDUCTIONS)}, got {reduction!r}")
    x = leaf(x, device)
    batch = torch.tensor(BATCH, device=x.device)
    half, divided_by = len(BATCH) // PIECES, PIECES if scaled else 1
    (batch_loss(x, batch[:half], reduction) / divided_by).backward()
    first_half = x.grad.item()
    (batch_loss(x, batch[half:], reduction) / divided_by).backward()  # no zeroing: the 2nd half's adds to the 1st's
    halves = x.grad.item()
    x.grad = None
    batch_loss(x, batch, reduction).backward()
    return first_half, halves, x.grad.item()


# Two ways to reset


def two_resets(x=2.0, device="cpu"):
    """Reset x.grad both ways, each followed by a backward(). Returns x.grad after zero_(), after the next
    backward() and whether that reused the same tensor; whether x.grad is None after = None, and after the next."""
    x = leaf(x, device)
    polynomial(x).backward()
    kept = x.grad
    x.grad.zero_()  # zeros written into the same tensor
    zeroed = x.grad.item()
    polynomial(x).backward()
    after_zeroed, reused = x.grad.item(), x.grad is kept  # backward added into the tensor that zero_() kept
    x.grad = None  # the tensor is dropped
    dropped = x.grad is None
    polynomial(x).backward()  # and a new one is made
    return zeroed, after_zeroed, reused, dropped, x.grad.item()


def adds_in_place(x=2.0, create_graph=False, device="cpu"):
    """Whether a second backward() adds into the tensor x.grad already is, or makes a new one."""
    x = leaf(x, device)
    polynomial(x).backward()
    kept = x.grad
    with warnings.catch_warnings():  # create_graph=True warns once of a cycle x -> x.grad -> graph -> x:
        warnings.simplefilter("ignore")  # true, and why torch.autograd.grad is the tool for it, but not this lesson
        polynomial(x).backward(create_graph=create_graph)
    return x.grad is kept


# The gradient put to work: gradient descent, with and without zeroing

MINIMUM = -3 / 2  # where dy/dx = 2*x + 3 is 0


def descend(x=2.0, lr=0.1, steps=5, zero=True, device="cpu"):
    """Return [x_0, ..., x_steps] from gradient descent on y, zeroing x.grad after each step unless zero=False.

    In float64 (float32 on MPS, which has no float64): a walk of a thousand steps that never settles, as
    without zeroing, would otherwise drift from the exact one by float32's rounding, step after step."""
    lr, steps, device = positive("lr", lr), whole_number("steps", steps), usable_device(device)
    dtype = torch.float32 if device.type == "mps" else torch.float64
    x = torch.tensor([real_number("x", x)], dtype=dtype, device=device, requires_grad=True)
    walk = [x.item()]
    for _ in range(steps):
        y = polynomial(x)  # rebuilt from x each step: the last backward() freed the last graph
        y.backward()
        with torch.no_grad():  # the update is not part of y's computation: nothing to record
            x -= lr * x.grad
        if zero:
            x.grad.zero_()
        walk.append(x.item())
    return walk


def descent_by_hand(x, lr, steps, zero=True):
    """[x_0, ..., x_steps] worked by hand, in plain floats: zeroed, the closed form
    x_k = MINIMUM + (x_0 - MINIMUM) * (1 - 2*lr)**k; not zeroed, x_(k+1) = x_k - lr * (sum of dy/dx at x_0 ... x_k)."""
    if zero:
        factors = [1.0]
        for _ in range(steps):  # (1 - 2*lr)**k as products, which overflow to inf where ** would raise
            factors.append(factors[-1] * (1 - 2 * lr))
        return [MINIMUM + ((x - MINIMUM) * f if x != MINIMUM else 0.0) for f in factors]
    walk, summed = [x], 0.0
    for _ in range(steps):
        summed += derivative(walk[-1])
        walk.append(walk[-1] - lr * summed)
    return walk


def main(argv=None):
    parser = options(__doc__, x=2.0)
    parser.add_argument("--lr", type=checked(positive, "lr"), default=0.1, help="the learning rate, > 0")
    parser.add_argument("--steps", type=checked(whole_number, "steps"), default=5, help="steps of descent, 1 to 1000")
    args = parser.parse_args(argv)
    first, second, third = gradient_accumulation(args.x, args.device)
    at = leaf(args.x, "cpu").item()  # the float32 value autograd worked with
    slope = derivative(at)
    print(f"Example 3, gradient accumulation on {args.device}: y = x**2 + 3*x + 1")
    print(f"x = {at:g}, so dy/dx = 2*x + 3 = 2*{num(at)} + 3 = {slope:g}")
    try:
        plan_as_written(args.x, args.device)
        print("the plan as written, y.backward() twice on one graph, ran")
    except RuntimeError as error:
        print("the plan as written, y.backward() twice on one graph, fails with")
        print(f"  RuntimeError: {str(error).split(' (')[0]}")
        print("  so the first two calls below pass retain_graph=True")
    print(f"x.grad after the 1st y.backward():             {first:g}")
    print(f"x.grad after a 2nd, without zeroing:           {second:g}")
    print(f"x.grad after x.grad.zero_() and a 3rd:         {third:g}")

    # A batch in pieces
    n, total = len(BATCH), sum(BATCH)
    summed, mean = (batch_slope(at, BATCH, reduction) for reduction in REDUCTIONS)
    first_half, halves, whole = batch_in_halves(args.x, "sum", device=args.device)
    print(f"why it adds: L = sum of (x - s)**2 over the batch s = {shown(list(BATCH))}, dL/dx = 2*(n*x - sum(s))")
    print(f"  backward() on the 1st half, then on the 2nd, no zeroing:   x.grad = {first_half:g}, then {halves:g}")
    print(f"  backward() on the whole batch at once:                      x.grad = {whole:g}")
    print(f"  by hand: 2*({n}*{num(at)} - {total:g}) = {summed:g}")
    default = inspect.signature(torch.nn.functional.mse_loss).parameters["reduction"].default
    print(f"that is for a summed loss; torch.nn's losses default to reduction={default!r}, the mean:")
    _, mean_halves, mean_whole = batch_in_halves(args.x, "mean", device=args.device)
    _, scaled_halves, _ = batch_in_halves(args.x, "mean", scaled=True, device=args.device)
    print(f"  L = mean of (x - s)**2, dL/dx = 2*(n*x - sum(s))/n; on the whole batch:  x.grad = {mean_whole:g}")
    print(
        f"  each half's mean, one after the other, no zeroing:          x.grad = {mean_halves:g}, {PIECES} times that"
    )
    print(f"  each half's mean divided by {PIECES}, the number of pieces:        x.grad = {scaled_halves:g}")
    print(f"  by hand: 2*({n}*{num(at)} - {total:g})/{n} = {mean:g}")

    # Two ways to reset
    zeroed, after_zeroed, reused, dropped, after_none = two_resets(args.x, args.device)
    print("two resets, each followed by y.backward():")
    print(f"  x.grad.zero_(): x.grad = {zeroed:g}, then {after_zeroed:g}, added into the same tensor: {reused}")
    print(f"  x.grad = None:  x.grad is None: {dropped}, then {after_none:g}, in a new tensor")
    in_place = adds_in_place(args.x, create_graph=True, device=args.device)
    print(f"  backward() adds a dense gradient in place; with create_graph=True, the same tensor: {in_place}")
    default = inspect.signature(torch.optim.Optimizer.zero_grad).parameters["set_to_none"].default
    print(f"  optimizer.zero_grad() uses set_to_none={default} by default")

    # Gradient descent
    print(
        f"gradient descent on y from x = {at:g}, lr = {args.lr:g}: x -= lr * x.grad under no_grad, y rebuilt each step"
    )
    walks = [descend(args.x, args.lr, args.steps, zero, args.device) for zero in (True, False)]
    by_hand = [descent_by_hand(at, args.lr, args.steps, zero) for zero in (True, False)]
    print(f"  {'step':>4}  {'zero_() each step':>18}  {'by hand':>12}  {'never zeroed':>14}  {'by hand':>12}")
    for k, row in enumerate(zip(walks[0], by_hand[0], walks[1], by_hand[1], strict=True)):
        print(f"  {k:>4}  " + "  ".join(f"{v:>{w}.6g}" for v, w in zip(row, (18, 12, 14, 12), strict=True)))
    print(f"  by hand, zeroed: x_k = {MINIMUM:g} + (x_0 - ({MINIMUM:g}))*(1 - 2*lr)**k; never zeroed: each step")
    print("  takes lr times the sum of all the gradients so far")
    pairs = [(a, h) for walk, hand in zip(walks, by_hand, strict=True) for a, h in zip(walk, hand, strict=True)]
    gaps = [abs(a - h) / max(1.0, abs(h)) for a, h in pairs]
    gap = math.inf if any(map(math.isnan, gaps)) else max(gaps)  # nan where a walk overflowed: max() would skip it

    print("checks:")
    ok = [
        agree("1st: dy/dx", first, slope),
        agree("2nd: dy/dx + dy/dx", second, slope + slope),
        agree("3rd: 0 + dy/dx", third, 0 + slope),
        agree("summed, halves: dL/dx", halves, summed),
        agree("summed, whole: dL/dx", whole, summed),
        agree("mean, whole: dL/dx", mean_whole, mean),
        agree(f"mean, halves: {PIECES} * dL/dx", mean_halves, PIECES * mean),
        agree(f"mean, halves / {PIECES}: dL/dx", scaled_halves, mean),
        agree("after zero_()", zeroed, 0.0),
        agree("zero_(), then dy/dx", after_zeroed, slope),
        agree("same tensor reused", reused, True),
        agree("create_graph: same tensor", in_place, False),
        agree("= None, then dy/dx", after_none, slope),
        agree(f"x_{args.steps}, zeroed", walks[0][-1], by_hand[0][-1], how="descent"),
        agree(f"x_{args.steps}, never zeroed", walks[1][-1], by_hand[1][-1], how="descent"),
        agree("largest relative gap", gap, 0.0, how="walks", against="target"),
    ]
    return 0 if all(ok) else 1


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
