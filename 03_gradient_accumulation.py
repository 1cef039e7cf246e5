"""Example 3, gradient accumulation: backward() adds to .grad; it does not overwrite it.

With y = x**2 + 3*x + 1 from example 1 and dy/dx = 2*x + 3 (7 at x = 2), a 1st y.backward() leaves x.grad = 7, a
2nd without zeroing 2 * 7 = 14, and after x.grad.zero_() a 3rd 7 again. This is why a training loop calls
optimizer.zero_grad() before each loss.backward(). Going further: why gradients add (a batch in pieces), two ways to
reset, and the gradient put to work in descent.

Run it:  python 03_gradient_accumulation.py [--x 2.0] [--lr 0.1] [--steps 5] [--device cpu]
"""

import inspect
import math
import warnings

import torch

from lesson_tools import agree, at_inputs, checked, derivative, exit_with, leaf, num, options, polynomial
from lesson_tools import plan_lines, positive, real_number, run_lesson, show_plan, shown, usable_device, whole_number
from lesson_tools import row, within_rounding


def the_plan():
    """The lesson plan's code, as the plan writes it: the second y.backward() raises (the first freed the graph)."""
    x = torch.tensor([2.0], requires_grad=True)
    y = x**2 + 3*x + 1  # fmt: skip
    y.backward()
    print(x.grad)
    y.backward()
    print(x.grad)
    x.grad.zero_()
    y.backward()
    print(x.grad)


def the_plan_retained():
    """The plan's code with its smallest change: retain_graph=True where another call follows (as the tutorial does)."""
    x = torch.tensor([2.0], requires_grad=True)
    y = x**2 + 3*x + 1  # fmt: skip
    y.backward(retain_graph=True)
    print(x.grad)
    y.backward(retain_graph=True)
    print(x.grad)
    x.grad.zero_()
    y.backward()
    print(x.grad)


def show_the_change():
    """The smallest change that makes the plan's code run, and what it then prints."""
    plan, changed = plan_lines(the_plan), plan_lines(the_plan_retained)
    lines = [i for i, (old, new) in enumerate(zip(plan, changed, strict=True)) if old != new]
    print("  the smallest change that makes it run keeps the graph's saved tensors (the forward pass's values that")
    print("  backward() needs) for the next call: retain_graph=True where another y.backward() follows")
    show_plan(the_plan_retained, [f"{changed[lines[0]]}   # the first {len(lines)} of {plan.count(plan[lines[0]])}"])
    print("  (create_graph=True keeps them too, but records backward() itself: x.grad gets a grad_fn, and PyTorch")
    print("  warns of a reference cycle; a training loop builds y anew before each backward() instead)")


def gradient_accumulation(x=2.0, device="cpu"):
    """Return x.grad after each of three y.backward() calls: the 1st, a 2nd without zeroing, a 3rd after zero_()."""
    x = leaf(x, device)
    y = polynomial(x)
    y.backward(retain_graph=True)  # keep the graph's saved tensors: y.backward() runs again below
    first = x.grad.item()
    y.backward(retain_graph=True)  # no zeroing in between, so this dy/dx is added to the last
    second = x.grad.item()
    x.grad.zero_()  # zeros, in place: optimizer.zero_grad(set_to_none=False) does it to each parameter's .grad
    y.backward()  # the last call may free the graph
    return [first, second, x.grad.item()]


def plan_as_written(x=2.0, device="cpu"):
    """The plan's y.backward() twice on one graph, at any x: the second call raises RuntimeError."""
    y = polynomial(leaf(x, device))
    y.backward()  # frees the tensors saved for the backward pass
    y.backward()  # needs them: raises


def show_hand_check(args):
    """By hand: x.grad is 1, then 2, then 1 times dy/dx = 2x + 3"""
    first, second, third = gradient_accumulation(args.x, args.device)
    at = leaf(args.x).item()  # the float32 value autograd worked with
    slope = derivative(at)
    print(f"  the same steps {at_inputs(args)}, on {args.device}: dy/dx = 2*{num(at)} + 3 = {slope:g}")
    print(f"  x.grad after the 1st y.backward(): {first:g}; a 2nd, no zeroing: {second:g}; zero_(), a 3rd: {third:g}")
    return [
        agree("1st: dy/dx", first, slope),
        agree("2nd: dy/dx + dy/dx", second, slope + slope),
        agree("3rd: 0 + dy/dx", third, 0 + slope),
    ]


# Why gradients add: a sum's gradient is the sum of the gradients, so a batch too large for memory is trained in pieces,
# one backward() each, no zeroing between. With torch.nn's default mean, each of n equal pieces' losses is divided by n.
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
    """Why gradients add: a batch's gradient, in pieces"""
    x, device = args.x, args.device
    at, n, total, half = leaf(x).item(), len(BATCH), sum(BATCH), len(BATCH) // PIECES
    summed, mean = (batch_slope(at, BATCH, reduction) for reduction in REDUCTIONS)
    own = [batch_slope(at, part, "sum") for part in (BATCH[:half], BATCH[half:])]  # each half's own dL/dx, by hand
    first_half, halves, whole = batch_in_halves(x, "sum", device=device)
    mean_first, mean_halves, mean_whole = batch_in_halves(x, "mean", device=device)
    _, scaled_halves, _ = batch_in_halves(x, "mean", scaled=True, device=device)
    default = inspect.signature(torch.nn.functional.mse_loss).parameters["reduction"].default
    print(f"  L = sum over the batch s = {shown(list(BATCH))} of (x - s)**2; by hand, dL/dx = 2*(n*x - sum(s))")
    print(f"  backward() on the 1st half:                x.grad = {first_half:g}")
    print(f"  then on the 2nd half, no zeroing:          x.grad = {halves:g}, its own {halves - first_half:g} added")
    print(f"  backward() on the whole batch at once:     x.grad = {whole:g}")
    hand = [f"2*({len(p)}*{num(at)} - {sum(p):g}) = {v:g}" for p, v in ((BATCH[:half], own[0]), (BATCH[half:], own[1]))]
    print(f"  by hand: halves {hand[0]} and {hand[1]}, whole 2*({n}*{num(at)} - {total:g}) = {summed:g}")
    print(f"  torch.nn's losses default to reduction={default!r}, the mean over the batch: dL/dx = 2*(n*x - sum(s))/n")
    print(f"  on the whole batch at once:                x.grad = {mean_whole:g}")
    print(f"  each half's mean, no zeroing:              x.grad = {mean_first:g}, then {mean_halves:g}", end=" ")
    print(f"(its own {mean_halves - mean_first:g} added): {PIECES} times the whole batch's")
    print(f"  each half's mean / {PIECES} ({PIECES} pieces), no zeroing: x.grad = {scaled_halves:g}, the whole batch's")
    print(f"  by hand: 2*({n}*{num(at)} - {total:g})/{n} = {mean:g}")
    return [
        agree("summed, 1st half: dL/dx", first_half, own[0]),
        agree("summed, halves: dL/dx", halves, summed),
        agree("summed, whole: dL/dx", whole, summed),
        agree("mean, whole: dL/dx", mean_whole, mean),
        agree(f"mean, halves: {PIECES} * dL/dx", mean_halves, PIECES * mean),
        agree(f"mean, halves / {PIECES}: dL/dx", scaled_halves, mean),
    ]


# Two ways to reset: x.grad.zero_() writes zeros into the same tensor, and the next backward() adds into it in place (a
# dense .grad, no graph recorded: create_graph=True makes a new one); x.grad = None drops it, zero_grad()'s default.
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
    """Two ways to reset x.grad: zero_() and = None"""
    slope = derivative(leaf(args.x).item())
    zeroed, after_zeroed, reused, dropped, after_none = two_resets(args.x, args.device)
    in_place = adds_in_place(args.x, create_graph=True, device=args.device)
    default = inspect.signature(torch.optim.Optimizer.zero_grad).parameters["set_to_none"].default
    print(f"  x.grad.zero_(): x.grad = {zeroed:g}, then y.backward(): {after_zeroed:g}, into the same tensor: {reused}")
    print(f"  x.grad = None:  x.grad is None: {dropped}, then y.backward(): {after_none:g}, in a new tensor")
    print(f"  backward() adds into the tensor x.grad holds; with create_graph=True, into the same tensor: {in_place}")
    print(f"  optimizer.zero_grad() resets each parameter's .grad, by default (set_to_none={default}) to None")
    return [
        agree("after zero_()", zeroed, 0.0),
        agree("zero_(), then dy/dx", after_zeroed, slope),
        agree("same tensor reused", reused, True, against="expected"),
        agree("create_graph: same tensor", in_place, False, against="expected"),
        agree("= None, then dy/dx", after_none, slope),
    ]


# The gradient put to work: gradient descent, x -= lr * x.grad under no_grad, x.grad.zero_(), y rebuilt each step. By
# hand, a step takes x to x - lr*(2*x + 3): x_k = -1.5 + (x_0 + 1.5)*(1 - 2*lr)**k walks to the minimum -1.5 for lr < 1,
# swings between two points at 1, runs away beyond. Never zeroed, each step uses the sum of all gradients so far: for
# lr < 2, x swings for ever within swing_bound; beyond, it runs away, out of float64's range, and is compared up to it.
MINIMUM = -3 / 2  # where dy/dx = 2*x + 3 is 0


def descent_dtype(device):  # float64 (float32 on MPS, which has none): float32 would drift in 1000 steps
    return torch.float32 if usable_device(device).type == "mps" else torch.float64


def descend(x=2.0, lr=0.1, steps=5, zero=True, device="cpu"):
    """Return [x_0, ..., x_steps] from gradient descent on y, zeroing x.grad after each step unless zero=False."""
    lr, steps, device = positive("lr", lr), whole_number("steps", steps), usable_device(device)
    x = torch.tensor([real_number("x", x)], dtype=descent_dtype(device), device=device, requires_grad=True)
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


def swing_bound(x, lr):
    """By hand, never zeroed, 0 < lr < 2: u = x - MINIMUM steps as u_(k+1) = (2 - 2*lr)*u_k - u_(k-1), so u_k =
    A*cos(k*t) + B*sin(k*t), cos(t) = 1 - lr, and |u_k| <= sqrt(A**2 + B**2) = |u_0|*sqrt(2/(2 - lr))."""
    return abs(x - MINIMUM) * math.sqrt(2 / (2 - lr))


def show_descent(args):
    """The gradient at work: gradient descent, with and without zeroing"""
    x, lr, steps, device, dtype = args.x, args.lr, args.steps, args.device, descent_dtype(args.device)
    at = torch.tensor(x, dtype=dtype).item()  # where the descent starts, in its dtype
    walks = [descend(x, lr, steps, zero, device) for zero in (True, False)]
    by_hand = [descent_by_hand(at, lr, steps, zero) for zero in (True, False)]
    n = min(next((k for k, v in enumerate(w) if not math.isfinite(v)), len(w)) for w in walks + by_hand)
    print(f"  from x = {at:g}, learning rate lr = {lr:g}: x -= lr * x.grad under no_grad, y rebuilt from x each step")
    print(f"  {'step':>4}  {'zero_() each step':>18}  {'by hand':>12}  {'never zeroed':>14}  {'by hand':>12}")
    for k, cells in enumerate(zip(walks[0], by_hand[0], walks[1], by_hand[1], strict=True)):
        if k <= n:  # after the step where a walk left its float's range, no numbers: not shown
            print(f"  {k:>4}  " + "  ".join(f"{v:>{w}.6g}" for v, w in zip(cells, (18, 12, 14, 12), strict=True)))
    print(f"  by hand, zeroed: x_k = {MINIMUM:g} + (x_0 - ({MINIMUM:g}))*(1 - 2*lr)**k; never zeroed: each step")
    print("  takes lr times the sum of all the gradients so far")
    if n < steps + 1:
        print(f"  at step {n} a walk leaves {str(dtype)[6:]}'s range, no number from there: compared up to {n - 1}")
    pairs = [(a, h) for walk, hand in zip(walks, by_hand, strict=True) for a, h in zip(walk[:n], hand[:n], strict=True)]
    gap = max(abs(a - h) for a, h in pairs) / max(1.0, *(abs(h) for _, h in pairs))  # rounding grows with x's size
    checks = [
        agree(f"x_{n - 1}, zeroed", walks[0][n - 1], by_hand[0][n - 1], how="descent"),
        agree(f"x_{n - 1}, never zeroed", walks[1][n - 1], by_hand[1][n - 1], how="descent"),
        within_rounding("walks vs by hand", gap, dtype, how="descent"),
    ]
    if lr >= 2:
        print(f"  never zeroed, lr >= 2: x runs away (unless it starts at {MINIMUM:g}), with no bound to check")
        return checks
    bound, farthest = swing_bound(at, lr), max(abs(v - MINIMUM) for v in walks[1][:n])
    print(f"  never zeroed, lr < 2: x never settles (unless it starts at {MINIMUM:g}), and by hand never goes")
    print(f"  farther from it than |x_0 - ({MINIMUM:g})|*sqrt(2/(2 - lr)) = {bound:.6g}; this walk, {farthest:.6g}")
    return [*checks, row("never zeroed: farthest", "descent", f"{farthest:.6g}", "at most", f"{bound:.6g}",
                         farthest <= bound * (1 + 1e-12))]  # fmt: skip


def main(argv=None):
    parser = options(__doc__, x=2.0)
    parser.add_argument("--lr", type=checked(positive, "lr"), default=0.1, help="the learning rate, > 0")
    parser.add_argument("--steps", type=checked(whole_number, "steps"), default=5, help="steps of descent, 1 to 1000")
    args = parser.parse_args(argv)
    title, further = "Example 3, gradient accumulation", [show_batch, show_resets, show_descent]
    return run_lesson(title, the_plan, args, [show_hand_check], further, "the 2nd y.backward()", show_the_change)


if __name__ == "__main__":
    exit_with(main)
