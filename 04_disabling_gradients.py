"""Example 4, disabling gradients: inside torch.no_grad(), operations are not recorded.

Autograd records a differentiable operation (x * 2, x.sin(); not zeros_like(x), which reads only x's
shape) when grad mode is on (and inference mode off) and one of its inputs requires grad; the result
then requires grad too (if it is of a type that can have a gradient, floating-point or complex, not
the bool of x > 1 nor the integer of x.argmax()) and keeps a grad_fn pointing back into the graph.
torch.no_grad() turns grad mode off for its block, so nothing is recorded there: the result has
requires_grad=False and no grad_fn, and no memory is spent on a graph. That is what evaluation and
inference want. Leaving the block restores the mode that held before it: on again after a block
entered with grad mode on, still off after a no_grad inside another no_grad.

    y = x * 2      outside no_grad:  y.requires_grad = True,  y.grad_fn = MulBackward0
    z = x * 3      inside no_grad:   z.requires_grad = False, z.grad_fn = None

no_grad stops the recording of operations, nothing else: a tensor made inside it with
requires_grad=True, such as torch.zeros(3, requires_grad=True), still requires grad (a new leaf;
no operation made it).

Other ways to get a result autograd does not track, and one to track again:

    x.detach() * 3                         x's data without its history; it shares x's storage, so an
                                           in-place change to one shows in the other
    torch.inference_mode()                 like no_grad, and faster; what it makes is an inference tensor,
                                           which PyTorch's docs say not to use in a recorded computation
                                           later (clone() it first). It raises where autograd must save one:
                                           w * t saves t for w's gradient; w + t, which saves nothing, runs
    torch.set_grad_enabled(False)          grad mode as a switch: set_grad_enabled(is_training)
    @torch.no_grad() on a function         the whole function runs with grad mode off
    torch.enable_grad() inside no_grad     turns grad mode back on for its own block, and restores the
                                           mode before it after it

None of them changes x.requires_grad: it stays True. None of them is model.eval() either, which
switches layers such as Dropout and BatchNorm to their evaluation behaviour and leaves tracking as it
is: evaluating a model wants both. And a result that was not tracked has no graph to go back
through: z.backward() raises "element 0 of tensors does not require grad and does not have a grad_fn".

no_grad is also how a training loop changes its parameters. After y = x * 2; y.backward(), the
update x -= lr * x.grad runs under no_grad: it is no part of any loss, and x stays a leaf. Outside
no_grad the same line raises "a leaf Variable that requires grad is being used in an in-place
operation", and x = x - lr * x.grad runs but makes a new x, made by an operation: no longer a leaf, so
its .grad stays None after the next backward(). A parameter that should not train (fine-tuning a
model, say) is frozen with w.requires_grad_(False) before the forward pass: no gradient reaches it,
w.grad stays None and the update leaves it alone, while the others train.

Run it:  python 04_disabling_gradients.py [--x 2.0] [--device cpu]
"""

import argparse
import math
import sys
import warnings

import torch


def tracked(grad_mode, input_requires_grad, can_have_gradient=True):
    """By hand: whether autograd records a differentiable operation, so that its result requires grad.
    grad_mode is torch.is_grad_enabled(), which is False in inference mode too; can_have_gradient, whether
    the result is floating-point or complex."""
    return grad_mode and input_requires_grad and can_have_gradient


def leaf(x, device):
    """x as a one-element leaf that requires grad."""
    return torch.tensor([real_number("x", x)], device=usable_device(device), requires_grad=True)


def disabling_gradients(x=2.0, device="cpu"):
    """Return (y, z): y = x*2 recorded by autograd, z = x*3 computed under torch.no_grad() and not recorded."""
    x = leaf(x, device)
    y = x * 2
    with torch.no_grad():  # grad mode off: no graph is built for what happens here
        z = x * 3
    return y, z


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
    """(grad mode inside no_grad, requires_grad of a tensor made there with requires_grad=True, and outside
    it of x > 1 and of x.argmax(): results that cannot have a gradient)."""
    x = leaf(x, device)
    with torch.no_grad():
        made = torch.zeros(1, device=x.device, requires_grad=True)  # a new leaf: no operation to record
        mode = torch.is_grad_enabled()
    return mode, made.requires_grad, (x > 1).requires_grad, x.argmax().requires_grad


# Other ways


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
    with torch.set_grad_enabled(False):
        results["set_grad_enabled(False)"] = (x * 3, torch.is_grad_enabled(), x.requires_grad)
    results["@torch.no_grad() function"] = (*triple_untracked(x), x.requires_grad)
    with torch.no_grad():
        with torch.enable_grad():  # grad mode on again, inside no_grad
            results["enable_grad() in no_grad"] = (x * 3, torch.is_grad_enabled(), x.requires_grad)
        results["back in no_grad()"] = (x * 3, torch.is_grad_enabled(), x.requires_grad)
    return results


def detach_shares_storage(x=2.0, device="cpu"):
    """(x after x.detach().add_(1), whether x still requires grad): the detached tensor is x's own storage."""
    x = leaf(x, device)
    x.detach().add_(1)  # in place, on the storage x and its detached view share
    return x.item(), x.requires_grad


def inference_tensor_saved(x=2.0, device="cpu"):
    """t = x * 2 made under inference_mode, then w * t with w requiring grad: raises RuntimeError, since
    autograd would have to save t (to compute w's gradient) and never saves an inference tensor."""
    w = leaf(x, device)
    with torch.inference_mode():
        t = torch.tensor([x], device=w.device) * 2
    return w * t


def inference_tensor_added(x=2.0, device="cpu"):
    """(w + t, whether t is an inference tensor) with t made under inference_mode: w + t is recorded, since
    addition saves nothing for backward."""
    w = leaf(x, device)
    with torch.inference_mode():
        t = torch.tensor([x], device=w.device) * 2
    return w + t, t.is_inference()


# The update step of training: under no_grad. Each step below runs with grad mode on, as training does,
# whatever mode its caller is in: @torch.enable_grad() turns it on for the call.

LR = 0.1  # the learning rate of the update steps


@torch.enable_grad()
def update_under_no_grad(x=2.0, lr=0.1, device="cpu"):
    """y = x * 2; y.backward(); x -= lr * x.grad under no_grad. Returns (x after, x.is_leaf, x.requires_grad)."""
    lr = real_number("lr", lr)
    x = leaf(x, device)
    (x * 2).backward()
    with torch.no_grad():  # the update is not part of any loss: nothing to record
        x -= lr * x.grad
    return x.item(), x.is_leaf, x.requires_grad


@torch.enable_grad()
def update_in_place_recorded(x=2.0, lr=0.1, device="cpu"):
    """The same update with grad mode on: raises RuntimeError, since autograd would have to record an
    in-place change to a leaf that requires grad."""
    lr = real_number("lr", lr)
    x = leaf(x, device)
    (x * 2).backward()
    x -= lr * x.grad


@torch.enable_grad()
def update_by_assignment(x=2.0, lr=0.1, device="cpu"):
    """x = x - lr * x.grad with grad mode on, then y = x * 2 and y.backward() again. Returns (the new x's
    value, its is_leaf, its .grad as read, the warning reading it gave, the .grad of the leaf behind it)."""
    lr = real_number("lr", lr)
    first = leaf(x, device)
    (first * 2).backward()
    x = first - lr * first.grad  # recorded: the new x is made by an operation
    (x * 2).backward()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        grad = x.grad
    return x.item(), x.is_leaf, grad, str(caught[0].message) if caught else None, first.grad.item()


@torch.enable_grad()
def frozen_parameter(x=2.0, lr=0.1, device="cpu"):
    """A model prediction = w * data + b (w = x, b = 0.5, data = 3), loss = (prediction - 1)**2, with w
    frozen by w.requires_grad_(False) before the forward pass; then one update of every parameter that has a
    gradient. Returns {name: (its .grad before the update, its value before, its value after)}."""
    lr = real_number("lr", lr)
    w, b = leaf(x, device), torch.tensor([0.5], device=usable_device(device), requires_grad=True)
    w.requires_grad_(False)  # frozen: autograd records nothing that would reach w
    before = {"w": w.item(), "b": b.item()}
    ((w * DATA + b - TARGET) ** 2).backward()
    grads = {"w": w.grad, "b": b.grad}
    with torch.no_grad():
        for p in (w, b):
            if p.grad is not None:  # as optimizers do: a parameter without a gradient is left alone
                p -= lr * p.grad
    return {n: (None if grads[n] is None else grads[n].item(), before[n], p.item()) for n, p in (("w", w), ("b", b))}


DATA, TARGET = 3.0, 1.0  # the frozen-parameter model's one example


def main(argv=None):
    args = options(__doc__, x=2.0).parse_args(argv)
    grad_mode_outside = torch.is_grad_enabled()
    with torch.no_grad():
        grad_mode_inside = torch.is_grad_enabled()
    y, z = disabling_gradients(args.x, args.device)
    at = leaf(args.x, "cpu").item()  # the float32 value autograd worked with
    x_requires_grad = True  # as leaf() makes x
    y_by_hand, z_by_hand = tracked(grad_mode_outside, x_requires_grad), tracked(grad_mode_inside, x_requires_grad)
    print(f"Example 4, disabling gradients on {args.device}")
    print(f"x = {at:g}   (a leaf, requires_grad={x_requires_grad})")
    print(f"y = x * 2 = {y.item():g}   outside no_grad: requires_grad={y.requires_grad}, grad_fn={name(y.grad_fn)}")
    print(f"z = x * 3 = {z.item():g}   inside no_grad:  requires_grad={z.requires_grad}, grad_fn={name(z.grad_fn)}")
    print("by hand: the result of an operation such as x * 2 requires grad when grad mode is on and an input")
    print("requires grad (and the result is floating-point or complex; grad mode is off in inference mode too)")
    print(f"  y: grad mode {grad_mode_outside} and x.requires_grad {x_requires_grad} -> {y_by_hand}")
    print(f"  z: grad mode {grad_mode_inside} and x.requires_grad {x_requires_grad} -> {z_by_hand}")

    # Leaving the block restores the mode before it
    print("grad mode before, inside and after a no_grad block: the mode before it comes back")
    modes = {nested: grad_mode_around_no_grad(nested) for nested in (False, True)}
    for nested, (before, inside, after) in modes.items():
        where = "inside another no_grad" if nested else "in grad mode, as usual"
        print(f"  {where + ':':<28} {before} -> {inside} -> {after}")

    # What no_grad leaves alone
    mode, made, compared, argmax = what_no_grad_leaves_alone(args.x, args.device)
    print(f"torch.zeros(1, requires_grad=True) inside no_grad (grad mode {mode}): requires_grad={made}, a new leaf")
    print(f"outside it, (x > 1).requires_grad={compared} and x.argmax().requires_grad={argmax}: no gradient for those")

    # Other ways
    results = other_ways(args.x, args.device)
    print("other ways, each computing x * 3 (tracked, by hand, when grad mode is on and its input requires grad):")
    for way, (result, grad_mode, input_requires_grad) in results.items():
        print(
            f"  {way:<26} grad mode {grad_mode!s:<5}  input requires grad {input_requires_grad!s:<5}"
            f"  -> requires_grad={result.requires_grad}, grad_fn={name(result.grad_fn)}"
        )
    shared, still_requires = detach_shares_storage(args.x, args.device)
    print(f"x.detach() shares x's storage: after x.detach().add_(1), x = {shared:g} (requires_grad={still_requires})")
    added, inference = inference_tensor_added(args.x, args.device)
    print(f"t = x * 2 made in inference_mode (an inference tensor: {inference}) is not to be used in a recorded")
    print("  computation, the docs say. PyTorch raises where autograd must save it:")
    print(f"  w + t saves nothing and runs (requires_grad={added.requires_grad}),")
    try:
        inference_tensor_saved(args.x, args.device)
        print("  and w * t, which saves t, ran too")
    except RuntimeError as error:
        print(f"  while w * t must save t for w's gradient, and raises RuntimeError: {str(error).split('. ')[0]}.")
    try:
        z.backward()
        print("z.backward() ran")
    except RuntimeError as error:
        print(f"z.backward() raises RuntimeError: {error}")

    # The update step
    lr = LR
    stepped, still_leaf, still_requires = update_under_no_grad(args.x, lr, args.device)
    print(f"the update step of training, after y = x * 2; y.backward() (dy/dx = 2), lr = {lr:g}:")
    print(f"  under no_grad, x -= lr * x.grad: x = {stepped:g}, is_leaf={still_leaf}, requires_grad={still_requires}")
    try:
        update_in_place_recorded(args.x, lr, args.device)
        print("  outside no_grad, x -= lr * x.grad ran")
    except RuntimeError as error:
        print(f"  outside no_grad, x -= lr * x.grad raises RuntimeError: {error}")
    assigned, new_is_leaf, new_grad, new_warning, behind = update_by_assignment(args.x, lr, args.device)
    print(f"  outside no_grad, x = x - lr * x.grad runs (x = {assigned:g}), but the new x is_leaf={new_is_leaf}:")
    print(f"  after the next backward(), x.grad = {new_grad} (reading it warns: {str(new_warning).split('. ')[0]}.)")
    print(f"  the gradient went on to the old leaf behind it: its .grad is now 2 + 2 = {behind:g}")
    frozen = frozen_parameter(args.x, lr, args.device)
    w_grad, w_before, w_after = frozen["w"]
    b_grad, b_before, b_after = frozen["b"]
    b_grad_by_hand = 2 * (w_before * DATA + b_before - TARGET)
    b_by_hand = b_before - lr * b_grad_by_hand
    print(f"frozen: loss = (w * {DATA:g} + b - {TARGET:g})**2 with w.requires_grad_(False) before the forward pass")
    print(f"  w.grad = {w_grad}, w stays {w_after:g}; b.grad = {b_grad:g}, b goes {b_before:g} -> {b_after:g}")
    print(
        f"  by hand: dloss/db = 2*(w*{DATA:g} + b - {TARGET:g}) = {b_grad_by_hand:g}, b - lr*dloss/db = {b_by_hand:g}"
    )

    print("checks:")
    ok = [
        agree("y = 2*x", y.item(), 2 * at, how="forward"),
        agree("z = 3*x", z.item(), 3 * at, how="forward"),
        agree("y.requires_grad", y.requires_grad, y_by_hand),
        agree("z.requires_grad", z.requires_grad, z_by_hand),
        agree("z.grad_fn", name(z.grad_fn), "None"),
        *[agree(f"mode after no_grad{', nested' * n}", m[2], m[0], how="torch") for n, m in modes.items()],
        agree("made in no_grad", made, True),
        agree("x > 1, x.argmax()", [compared, argmax], [tracked(True, True, False)] * 2),
        *[agree(way, r.requires_grad, tracked(mode, requires)) for way, (r, mode, requires) in results.items()],
        agree("x after detach().add_(1)", shared, at + 1, how="torch"),
        agree("w + inference t", added.requires_grad, tracked(grad_mode_outside, True)),
        agree("x -= lr * x.grad", stepped, at - lr * 2, how="torch"),  # dy/dx of y = x * 2 is 2
        agree("x = x - lr * x.grad", assigned, at - lr * 2, how="torch"),
        agree("x = x - lr * x.grad: leaf?", new_is_leaf, not tracked(True, True)),  # made by a recorded operation
        agree("[new x.grad, old leaf's]", [new_grad, behind], [None, 2.0 + 2.0]),  # dy/dx = 2, twice
        agree("[frozen w.grad, w after]", [w_grad, w_after], [None, w_before]),
        agree("b.grad = dloss/db", b_grad, b_grad_by_hand),
        agree("b after the update", b_after, b_by_hand, how="torch"),
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
