"""Example 4, disabling gradients: inside torch.no_grad(), operations are not recorded.

Autograd records a differentiable operation when grad mode (autograd's recording switch, on by default) is on
and one of its inputs requires grad; the result then requires grad too and has a grad_fn, the node that
records it. torch.no_grad() turns grad mode off for its block, so nothing is recorded there and no memory is
spent on a graph: what evaluation and inference want.

    y = x * 2      outside no_grad:  y.requires_grad = True,  y.grad_fn = MulBackward0
    z = x * 3      inside no_grad:   z.requires_grad = False, z.grad_fn = None

Going further: the mode a block restores, what no_grad leaves alone, other ways, no_grad in training, freezing.

Run it:  python 04_disabling_gradients.py [--x 2.0] [--device cpu]
"""

import torch

from lesson_tools import agree, at_inputs, exit_with, leaf, name, options, raised, read_grad, real_number, run_lesson
from lesson_tools import sgd_step


def the_plan():
    """The lesson plan's code for this example, as the plan writes it."""
    x = torch.tensor([2.0], requires_grad=True)
    y = x * 2
    print(y.requires_grad)
    with torch.no_grad():
        z = x * 3
    print(z.requires_grad)


# The hand check, at any x: a differentiable operation's result requires grad when grad mode is on (inference mode
# turns it off too), an input requires grad, and the result can have a gradient: floating-point or complex, not the
# bool of x > 1 nor the integer of x.argmax().
def tracked(grad_mode, input_requires_grad, can_have_gradient=True):
    """By hand: whether autograd records an operation, so that its result requires grad."""
    return grad_mode and input_requires_grad and can_have_gradient


def disabling_gradients(x=2.0, device="cpu"):
    """Return (y, z): y = x*2 recorded by autograd, z = x*3 computed under torch.no_grad() and not recorded."""
    x = leaf(x, device)
    y = x * 2
    with torch.no_grad():  # grad mode off: no graph is built for what happens here
        z = x * 3
    return y, z


def show_hand_check(args):
    """By hand: recorded when grad mode (autograd's recording switch) is on and an input requires grad"""
    outside = torch.is_grad_enabled()
    with torch.no_grad():
        inside = torch.is_grad_enabled()
    y, z = disabling_gradients(args.x, args.device)
    at = leaf(args.x).item()  # the float32 value autograd worked with
    y_by_hand, z_by_hand = tracked(outside, True), tracked(inside, True)  # x requires grad, as leaf() makes it
    print(f"  the same steps {at_inputs(args)}, on {args.device}:")
    print(f"  y = x * 2 = {y.item():g}   outside no_grad: requires_grad={y.requires_grad}, grad_fn={name(y.grad_fn)}")
    print(f"  z = x * 3 = {z.item():g}   inside no_grad:  requires_grad={z.requires_grad}, grad_fn={name(z.grad_fn)}")
    rule = f"x.requires_grad True -> {y_by_hand}; z: grad mode {inside} and x.requires_grad True -> {z_by_hand}"
    print(f"  by hand, y: grad mode {outside} and {rule}")
    print(f"  z.backward() {raised(z.backward)}")  # a result not tracked has no graph to go back through
    return [
        agree("y = 2*x", y.item(), 2 * at, how="forward"),
        agree("z = 3*x", z.item(), 3 * at, how="forward"),
        agree("y.requires_grad", y.requires_grad, y_by_hand),
        agree("z.requires_grad", z.requires_grad, z_by_hand),
        agree("z.grad_fn", name(z.grad_fn), "None"),
    ]


# Leaving the block restores the mode before it: on again after a block entered with grad mode on, still off after
# a no_grad inside another. no_grad stops recording, nothing else: a tensor made in it with requires_grad=True is a
# new leaf (no operation made it) and requires grad.
def grad_mode_around_no_grad(inside_no_grad=False):
    """(grad mode before, inside, after) a torch.no_grad() block; inside_no_grad: the block inside another."""
    if inside_no_grad:
        with torch.no_grad():
            return grad_mode_around_no_grad()
    before = torch.is_grad_enabled()
    with torch.no_grad():
        inside = torch.is_grad_enabled()
    return before, inside, torch.is_grad_enabled()


def what_no_grad_leaves_alone(x=2.0, device="cpu"):
    """(grad mode inside no_grad, requires_grad of a tensor made there with requires_grad=True; outside it, of
    x > 1 and of x.argmax(), which cannot have a gradient)."""
    x = leaf(x, device)
    with torch.no_grad():
        made = torch.zeros(1, device=x.device, requires_grad=True)  # a new leaf: no operation to record
        mode = torch.is_grad_enabled()
    return mode, made.requires_grad, (x > 1).requires_grad, x.argmax().requires_grad


def show_what_no_grad_leaves_alone(args):
    """What no_grad restores, and what it leaves alone"""
    modes = {nested: grad_mode_around_no_grad(nested) for nested in (False, True)}
    print("  grad mode before, inside and after a no_grad block: the mode before it comes back")
    for nested, (before, inside, after) in modes.items():
        where = "inside another no_grad:" if nested else "in grad mode, as usual:"
        print(f"  {where:<28} {before} -> {inside} -> {after}")
    mode, made, compared, argmax = what_no_grad_leaves_alone(args.x, args.device)
    print(f"  torch.zeros(1, requires_grad=True) inside no_grad (grad mode {mode}): requires_grad={made}, a new leaf,")
    print("  made by us, not by an operation")
    print(f"  outside it, (x > 1).requires_grad={compared}, x.argmax().requires_grad={argmax}: no gradient for those")
    return [
        *[agree(f"mode after no_grad{', nested' * n}", m[2], m[0], how="torch") for n, m in modes.items()],
        agree("requires_grad, made in no_grad", made, True, against="expected"),
        agree("requires_grad, x > 1, argmax", [compared, argmax], [tracked(True, True, False)] * 2),
    ]


# Other ways to a result autograd does not track, and one to track again. None changes x.requires_grad, and none is
# model.eval(), which switches layers such as Dropout and BatchNorm to their evaluation behaviour and leaves tracking
# as it is: evaluating a model wants both. inference_mode is like no_grad, and faster; it makes inference tensors,
# which PyTorch's docs say not to use in a recorded computation later (clone() one first). It raises where autograd
# must save one: w * t saves t for w's gradient; w + t saves nothing.
@torch.no_grad()
def triple_untracked(t):
    """Return t * 3 and the grad mode it ran in: torch.no_grad() as a decorator covers the whole call."""
    return t * 3, torch.is_grad_enabled()


def other_ways(x=2.0, device="cpu"):
    """Return {way: (x * 3 computed that way, grad mode then, whether its input required grad then)}."""
    x = leaf(x, device)
    detached = x.detach()  # x's data, outside the graph
    results = {"x.detach() * 3": (detached * 3, torch.is_grad_enabled(), detached.requires_grad)}
    with torch.inference_mode():
        results["inference_mode()"] = (x * 3, torch.is_grad_enabled(), x.requires_grad)
    with torch.set_grad_enabled(False):  # grad mode as a switch: set_grad_enabled(is_training)
        results["set_grad_enabled(False)"] = (x * 3, torch.is_grad_enabled(), x.requires_grad)
    results["@torch.no_grad() function"] = (*triple_untracked(x), x.requires_grad)
    with torch.no_grad():
        with torch.enable_grad():  # grad mode on again, inside no_grad, for its own block
            results["enable_grad() in no_grad"] = (x * 3, torch.is_grad_enabled(), x.requires_grad)
        results["back in no_grad()"] = (x * 3, torch.is_grad_enabled(), x.requires_grad)
    return results


def detach_shares_storage(x=2.0, device="cpu"):
    """(x after x.detach().add_(1), whether x still requires grad): the detached tensor is x's own storage."""
    x = leaf(x, device)
    x.detach().add_(1)  # in place, on the storage x and its detached view share
    return x.item(), x.requires_grad


def inference_tensor(x, device):
    """(w, t): w = x as a leaf that requires grad, t = x * 2 made under inference_mode, an inference tensor."""
    w = leaf(x, device)
    with torch.inference_mode():
        return w, torch.tensor([x], device=w.device) * 2


def inference_tensor_saved(x=2.0, device="cpu"):
    """w * t: raises RuntimeError, since it would save t for w's gradient, and an inference tensor is never saved."""
    w, t = inference_tensor(x, device)
    return w * t


def inference_tensor_added(x=2.0, device="cpu"):
    """(w + t, whether t is an inference tensor): w + t is recorded, since addition saves nothing for backward."""
    w, t = inference_tensor(x, device)
    return w + t, t.is_inference()


def show_other_ways(args):
    """Other ways to a result autograd does not track"""
    results = other_ways(args.x, args.device)
    print("  each computes x * 3; by hand its result requires grad when grad mode is on and its input requires grad:")
    for way, (result, mode, requires) in results.items():
        made = f"requires_grad={result.requires_grad}, grad_fn={name(result.grad_fn)}"
        print(f"  {way:<26} grad mode {mode!s:<5}  input requires grad {requires!s:<5}  -> {made}")
    shared, still_requires = detach_shares_storage(args.x, args.device)
    print(f"  x.detach() shares x's storage (the memory of its numbers): after x.detach().add_(1), x = {shared:g}")
    added, inference = inference_tensor_added(args.x, args.device)
    print(f"  t = x * 2 made in inference_mode (a faster no_grad) is an inference tensor: {inference}. The docs say")
    print("  not to use one in a recorded computation; PyTorch raises where autograd must save it for backward().")
    print(f"  With w a leaf that requires grad, w + t saves nothing and runs (requires_grad={added.requires_grad}),")
    saved = raised(inference_tensor_saved, args.x, args.device).split(". ")[0]  # its first sentence
    print(f"  while w * t must save t for w's gradient, and {saved}.")
    return [
        *[agree(way, r.requires_grad, tracked(mode, requires)) for way, (r, mode, requires) in results.items()],
        agree("x after detach().add_(1)", shared, leaf(args.x).item() + 1, how="torch"),
        agree("requires_grad, w + t", added.requires_grad, tracked(torch.is_grad_enabled(), True)),
    ]


# no_grad in training: x -= lr * x.grad under no_grad is no part of any loss, and x stays a leaf. Outside no_grad it
# raises, and x = x - lr * x.grad makes a new x by an operation: no leaf, .grad None after the next backward().
LR = 0.1  # the learning rate of the update steps


@torch.enable_grad()
def update_under_no_grad(x=2.0, lr=0.1, device="cpu"):
    """y = x * 2; y.backward(); x -= lr * x.grad under no_grad. Returns (x after, x.is_leaf, x.requires_grad)."""
    lr, x = real_number("lr", lr), leaf(x, device)
    (x * 2).backward()
    with torch.no_grad():  # the update is not part of any loss: nothing to record
        x -= lr * x.grad
    return x.item(), x.is_leaf, x.requires_grad


@torch.enable_grad()
def update_in_place_recorded(x=2.0, lr=0.1, device="cpu"):
    """The same update with grad mode on: raises RuntimeError, an in-place change to a leaf that requires grad."""
    lr, x = real_number("lr", lr), leaf(x, device)
    (x * 2).backward()
    x -= lr * x.grad


@torch.enable_grad()
def update_by_assignment(x=2.0, lr=0.1, device="cpu"):
    """x = x - lr * x.grad recorded, then (x * 2).backward(): (x, x.is_leaf, x.grad, its warning, the old leaf's)."""
    lr, first = real_number("lr", lr), leaf(x, device)
    (first * 2).backward()
    x = first - lr * first.grad  # recorded: the new x is made by an operation
    (x * 2).backward()
    return x.item(), x.is_leaf, *read_grad(x), first.grad.item()


def show_update(args, lr=LR):
    """no_grad in training: the update step"""
    x, device, at = args.x, args.device, leaf(args.x).item()
    stepped, still_leaf, still_requires = update_under_no_grad(x, lr, device)
    print(f"  after y = x * 2; y.backward() (dy/dx = 2), a step with learning rate lr = {lr:g}:")
    print(f"  under no_grad, x -= lr * x.grad: x = {stepped:g}, is_leaf={still_leaf}, requires_grad={still_requires}")
    print(f"  outside no_grad, x -= lr * x.grad {raised(update_in_place_recorded, x, lr, device)}")
    assigned, new_is_leaf, new_grad, warning, behind = update_by_assignment(x, lr, device)
    print(f"  outside no_grad, x = x - lr * x.grad runs (x = {assigned:g}), but the new x is_leaf={new_is_leaf}:")
    print(f"  after the next backward(), x.grad = {new_grad} (reading it warns: {str(warning).split('. ')[0]}.)")
    print(f"  the gradient went on to the old leaf behind it: its .grad is now 2 + 2 = {behind:g}")
    return [
        agree("x -= lr * x.grad", stepped, at - lr * 2, how="torch"),  # dy/dx of y = x * 2 is 2
        agree("x = x - lr * x.grad", assigned, at - lr * 2, how="torch"),
        agree("x = x - lr * x.grad: leaf?", new_is_leaf, not tracked(True, True)),  # made by a recorded operation
        agree("[new x.grad, old leaf's]", [new_grad, behind], [None, 2.0 + 2.0]),  # dy/dx = 2, twice
    ]


# A parameter that should not train is frozen with w.requires_grad_(False): before any backward(), w.grad stays None;
# after zero_grad(set_to_none=False), w.grad is zeros, and weight decay (or momentum) still moves w: set w.grad = None.

DATA, TARGET, WEIGHT_DECAY = 3.0, 1.0, 0.1  # the frozen-parameter model's one example, and the decay


@torch.enable_grad()
def frozen_parameter(x=2.0, lr=0.1, device="cpu", weight_decay=0.0, stale=False, to_none=False):
    """loss = (w * DATA + b - TARGET)**2 (w = x, b = 0.5), w frozen before a backward() and one sgd_step of both;
    stale: frozen after a step and zero_grad(set_to_none=False); to_none: w.grad = None too. {n: (grad, old, new)}"""
    lr, w, b = real_number("lr", lr), leaf(x, device), leaf(0.5, device, "b")
    if stale:
        ((w * DATA + b - TARGET) ** 2).backward()
        sgd_step((w, b), lr, weight_decay)
        w.grad.zero_(), b.grad.zero_()  # what optimizer.zero_grad(set_to_none=False) does
    w.requires_grad_(False)  # frozen: autograd records nothing that would reach w
    if to_none:
        w.grad = None
    before = {"w": w.item(), "b": b.item()}
    ((w * DATA + b - TARGET) ** 2).backward()
    grads = {"w": w.grad, "b": b.grad}
    sgd_step((w, b), lr, weight_decay)
    return {n: (None if grads[n] is None else grads[n].item(), before[n], p.item()) for n, p in (("w", w), ("b", b))}


def show_frozen(args, lr=LR, decay=WEIGHT_DECAY):
    """A frozen parameter, and when it still moves"""
    x, device = args.x, args.device
    (w_grad, w_before, w_after), (b_grad, b_before, b_after) = frozen_parameter(x, lr, device).values()
    b_grad_by_hand = 2 * (w_before * DATA + b_before - TARGET)
    b_by_hand = b_before - lr * b_grad_by_hand
    print(f"  loss = (w * {DATA:g} + b - {TARGET:g})**2, w frozen by w.requires_grad_(False) before the forward pass")
    print(f"  w.grad = {w_grad}, w stays {w_after:g}; b.grad = {b_grad:g}, b goes {b_before:g} -> {b_after:g}")
    print(f"  by hand: dloss/db = 2*(w*{DATA:g} + b - {TARGET:g}) = {b_grad_by_hand:g}, b - lr*(it) = {b_by_hand:g}")
    stale_grad, stale_before, stale_after = frozen_parameter(x, lr, device, decay, stale=True)["w"]
    _, kept, kept_after = frozen_parameter(x, lr, device, decay, stale=True, to_none=True)["w"]
    late, moved = f"{leaf(x).item():g} -> {stale_before:g}", f"{stale_before:g} -> {stale_after:g}"
    print(f"  w trained a step of SGD with weight decay {decay:g} ({late}), frozen after zero_grad(set_to_none=False),")
    print(f"  which zeros .grad: w.grad = {stale_grad:g}, not None; SGD adds decay*w to it, so a step moves w: {moved}")
    print(f"  with w.grad = None after freezing (or w left out of the optimizer), w stays: {kept:g} -> {kept_after:g}")
    return [
        agree("[frozen w.grad, w after]", [w_grad, w_after], [None, w_before]),
        agree("b.grad = dloss/db", b_grad, b_grad_by_hand),
        agree("b after the update", b_after, b_by_hand, how="torch"),
        agree("frozen late: w after", stale_after, stale_before - lr * decay * stale_before, how="torch"),
        agree("w.grad = None: w after", kept_after, kept, how="torch"),
    ]


def main(argv=None):
    args = options(__doc__, x=2.0).parse_args(argv)
    further = [show_what_no_grad_leaves_alone, show_other_ways, show_update, show_frozen]
    return run_lesson("Example 4, disabling gradients", the_plan, args, [show_hand_check], further)


if __name__ == "__main__":
    exit_with(main)
