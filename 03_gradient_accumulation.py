"""Example 3, gradient accumulation: backward() adds to .grad; it does not overwrite it.

With y = x**2 + 3*x + 1 from example 1 and dy/dx = 2*x + 3 (7 at x = 2), three calls show it:

    1st y.backward()                      x.grad = dy/dx       = 7
    2nd y.backward(), without zeroing     x.grad = 2 * dy/dx   = 14
    x.grad.zero_(), then 3rd backward()   x.grad = dy/dx       = 7

This is why a training loop calls optimizer.zero_grad() before each loss.backward().
Then: why gradients add (a batch in pieces), two ways to reset, and the gradient put to work in descent.

Run it:  python 03_gradient_accumulation.py [--x 2.0] [--lr 0.1] [--steps 5] [--device cpu]
"""

import inspect
import math
import sys
import warnings

import torch

from lesson_tools import agree, as_float32, checked, derivative, leaf, num, options, polynomial, positive, real_number
from lesson_tools import run_lesson, shown, usable_device, whole_number


def the_plan(retain_graph=False):
    """The lesson plan's code, as the plan writes it: it fails at the second y.backward(), as the first frees what the
    graph saved. The one change that runs it: retain_graph=True on calls another follows (as the tutorial does)."""
    x = torch.tensor([2.0], requires_grad=True)
    y = x**2 + 3*x + 1  # fmt: skip
    y.backward(retain_graph=retain_graph)
    print(x.grad)
    y.backward(retain_graph=retain_graph)
    print(x.grad)
    x.grad.zero_()
    y.backward()
    print(x.grad)


def show_the_plan():
    try:
        the_plan()
        print("this torch ran it as written: a second backward() needs no retain_graph=True here")
    except RuntimeError as error:
        print(f"RuntimeError: {str(error).split(' (')[0]}")
        print("The one change that makes it run, retain_graph=True on the first two calls, prints")
        the_plan(retain_graph=True)


# The hand check, at any x: 1 * dy/dx, 2 * dy/dx, then 0 + dy/dx
def gradient_accumulation(x=2.0, device="cpu"):
    """Return x.grad after each of three y.backward() calls: the 1st, a 2nd without zeroing, a 3rd after zero_()."""
    x = leaf(x, device)
    y = polynomial(x)
    seen = []
    y.backward(retain_graph=True)  # keep the graph's saved tensors: y.backward() runs again below
    seen.append(x.grad.item())
    y.backward(retain_graph=True)  # no zeroing in between, so this dy/dx is added to the last
    seen.append(x.grad.item())
    x.grad.zero_()  # zeros, in place: optimizer.zero_grad(set_to_none=False) does it to each parameter's .grad
    y.backward()  # the last call may free the graph
    seen.append(x.grad.item())
    return seen


def plan_as_written(x=2.0, device="cpu"):
    """The plan's y.backward() twice on one graph, at any x: the second call raises RuntimeError."""
    x = leaf(x, device)
    y = polynomial(x)
    y.backward()  # frees the tensors saved for the backward pass
    y.backward()  # needs them: raises


def show_hand_check(args):
    first, second, third = gradient_accumulation(args.x, args.device)
    at = leaf(args.x).item()  # the float32 value autograd worked with
    slope = derivative(at)
    print(f"the same by hand, on {args.device}, at {as_float32('x', args.x)}: dy/dx = 2*{num(at)} + 3 = {slope:g}")
    print(f"  x.grad after the 1st y.backward(): {first:g}; a 2nd, no zeroing: {second:g}; zero_(), a 3rd: {third:g}")
    return [
        agree("1st: dy/dx", first, slope),
        agree("2nd: dy/dx + dy/dx", second, slope + slope),
        agree("3rd: 0 + dy/dx", third, 0 + slope),
    ]


# Why gradients add: a sum's gradient is the sum of the gradients. A loss summed over a batch gets the same
# x.grad from one backward() on the whole batch as from one per half, with no zeroing in between: a batch
# too large for memory is trained in pieces so. torch.nn's losses average by default (reduction='mean'):
# then each piece's loss must be weighed by its size over the batch's (divided by 2, for two halves).
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


def show_batch(args):
    x, device = args.x, args.device
    at, n, total = leaf(x).item(), len(BATCH), sum(BATCH)
    summed, mean = (batch_slope(at, BATCH, reduction) for reduction in REDUCTIONS)
    first_half, halves, whole = batch_in_halves(x, "sum", device=device)
    _, mean_halves, mean_whole = batch_in_halves(x, "mean", device=device)
    _, scaled_halves, _ = batch_in_halves(x, "mean", scaled=True, device=device)
    default = inspect.signature(torch.nn.functional.mse_loss).parameters["reduction"].default
    print(f"why it adds: L = sum of (x - s)**2 over the batch s = {shown(list(BATCH))}, dL/dx = 2*(n*x - sum(s))")
    print(f"  backward() on the 1st half, then on the 2nd, no zeroing:   x.grad = {first_half:g}, then {halves:g}")
    print(f"  backward() on the whole batch at once:                      x.grad = {whole:g}")
    print(f"  by hand: 2*({n}*{num(at)} - {total:g}) = {summed:g}")
    print(f"that is for a summed loss; torch.nn's losses default to reduction={default!r}, the mean:")
    print(f"  L = mean of (x - s)**2, dL/dx = 2*(n*x - sum(s))/n; on the whole batch:  x.grad = {mean_whole:g}")
    print(f"  each half's mean, one after the other, no zeroing:          x.grad = {mean_halves:g}, {PIECES} times it")
    print(f"  each half's mean divided by {PIECES}, the number of pieces:        x.grad = {scaled_halves:g}")
    print(f"  by hand: 2*({n}*{num(at)} - {total:g})/{n} = {mean:g}")
    return [
        agree("summed, halves: dL/dx", halves, summed),
        agree("summed, whole: dL/dx", whole, summed),
        agree("mean, whole: dL/dx", mean_whole, mean),
        agree(f"mean, halves: {PIECES} * dL/dx", mean_halves, PIECES * mean),
        agree(f"mean, halves / {PIECES}: dL/dx", scaled_halves, mean),
    ]


# Two ways to reset. x.grad.zero_() writes zeros into the same tensor, and the next backward() adds into it in
# place, as it adds into an ordinary dense .grad whenever it records no graph of its own (with create_graph=True, a new
# tensor). x.grad = None drops the tensor; the next backward() makes a new one. optimizer.zero_grad() does that by
# default since PyTorch 2.0: nothing to write, and None tells "no gradient yet" apart from a gradient of 0.
def two_resets(x=2.0, device="cpu"):
    """x.grad after zero_(), after the next backward(), and whether it is the same tensor; then after = None."""
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


def show_resets(args):
    slope = derivative(leaf(args.x).item())
    zeroed, after_zeroed, reused, dropped, after_none = two_resets(args.x, args.device)
    in_place = adds_in_place(args.x, create_graph=True, device=args.device)
    default = inspect.signature(torch.optim.Optimizer.zero_grad).parameters["set_to_none"].default
    print("two resets, each followed by y.backward():")
    print(f"  x.grad.zero_(): x.grad = {zeroed:g}, then {after_zeroed:g}, added into the same tensor: {reused}")
    print(f"  x.grad = None:  x.grad is None: {dropped}, then {after_none:g}, in a new tensor")
    print(f"  backward() adds a dense gradient in place; with create_graph=True, the same tensor: {in_place}")
    print(f"  optimizer.zero_grad() uses set_to_none={default} by default")
    return [
        agree("after zero_()", zeroed, 0.0),
        agree("zero_(), then dy/dx", after_zeroed, slope),
        agree("same tensor reused", reused, True),
        agree("create_graph: same tensor", in_place, False),
        agree("= None, then dy/dx", after_none, slope),
    ]


# The gradient put to work: gradient descent, x -= lr * x.grad under no_grad, then x.grad.zero_(), with y
# rebuilt from x each step as a training loop does. By hand, each step takes x to x - lr*(2*x + 3), so
#     x_k = -1.5 + (x_0 + 1.5) * (1 - 2*lr)**k
# x walks to the minimum -1.5, where dy/dx = 0, when 0 < lr < 1 (in one step at lr = 0.5); it swings between
# two points at lr = 1 and runs away beyond. Without the zeroing, each step uses the sum of all the gradients
# so far: x overshoots and, for 0 < lr < 2, swings around the minimum without settling; from lr = 2 it runs away.
MINIMUM = -3 / 2  # where dy/dx = 2*x + 3 is 0


def descend(x=2.0, lr=0.1, steps=5, zero=True, device="cpu"):
    """Return [x_0, ..., x_steps] from gradient descent on y, zeroing x.grad after each step unless zero=False. In
    float64 (float32 on MPS, which has none): a thousand steps that never settle would drift by float32's rounding."""
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


def show_descent(args):
    x, lr, steps, device = args.x, args.lr, args.steps, args.device
    at = leaf(x).item()
    walks = [descend(x, lr, steps, zero, device) for zero in (True, False)]
    by_hand = [descent_by_hand(at, lr, steps, zero) for zero in (True, False)]
    print(f"gradient descent on y from x = {at:g}, lr = {lr:g}: x -= lr * x.grad under no_grad, y rebuilt each step")
    print(f"  {'step':>4}  {'zero_() each step':>18}  {'by hand':>12}  {'never zeroed':>14}  {'by hand':>12}")
    for k, row in enumerate(zip(walks[0], by_hand[0], walks[1], by_hand[1], strict=True)):
        print(f"  {k:>4}  " + "  ".join(f"{v:>{w}.6g}" for v, w in zip(row, (18, 12, 14, 12), strict=True)))
    print(f"  by hand, zeroed: x_k = {MINIMUM:g} + (x_0 - ({MINIMUM:g}))*(1 - 2*lr)**k; never zeroed: each step")
    print("  takes lr times the sum of all the gradients so far")
    pairs = [(a, h) for walk, hand in zip(walks, by_hand, strict=True) for a, h in zip(walk, hand, strict=True)]
    gaps = [abs(a - h) / max(1.0, abs(h)) for a, h in pairs]
    gap = math.inf if any(map(math.isnan, gaps)) else max(gaps)  # nan where a walk overflowed: max() would skip it
    return [
        agree(f"x_{steps}, zeroed", walks[0][-1], by_hand[0][-1], how="descent"),
        agree(f"x_{steps}, never zeroed", walks[1][-1], by_hand[1][-1], how="descent"),
        agree("largest relative gap", gap, 0.0, how="walks", against="target"),
    ]


def main(argv=None):
    parser = options(__doc__, x=2.0)
    parser.add_argument("--lr", type=checked(positive, "lr"), default=0.1, help="the learning rate, > 0")
    parser.add_argument("--steps", type=checked(whole_number, "steps"), default=5, help="steps of descent, 1 to 1000")
    args = parser.parse_args(argv)
    sections = show_hand_check, show_batch, show_resets, show_descent
    return run_lesson("Example 3, gradient accumulation", show_the_plan, args, *sections)


if __name__ == "__main__":
    sys.exit(main())
