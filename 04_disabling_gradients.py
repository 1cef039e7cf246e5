"""Example 4, disabling gradients: inside torch.no_grad(), operations are not recorded.

Autograd records an operation when grad mode is on and one of its inputs requires grad; the
result then requires grad too and keeps a grad_fn pointing back into the graph. torch.no_grad()
turns grad mode off for its block, so nothing is recorded there: the result has
requires_grad=False and no grad_fn, and no memory is spent on a graph. That is what evaluation
and inference want. Leaving the block turns grad mode back on.

    y = x * 2      outside no_grad:  y.requires_grad = True,  y.grad_fn = MulBackward0
    z = x * 3      inside no_grad:   z.requires_grad = False, z.grad_fn = None

Other ways to get a result autograd does not track, and one to track again:

    x.detach() * 3                         a view of x's data that does not require grad
    torch.inference_mode()                 like no_grad and faster; its results stay out of autograd later
    torch.set_grad_enabled(False)          grad mode as a switch: set_grad_enabled(is_training)
    @torch.no_grad() on a function         the whole function runs with grad mode off
    torch.enable_grad() inside no_grad     turns grad mode back on for its own block, and off after it

None of them changes x: x.requires_grad stays True. And a result that was not tracked has no
graph to go back through: z.backward() raises "element 0 of tensors does not require grad and
does not have a grad_fn".

Run it:  python 04_disabling_gradients.py [--x 2.0] [--device cpu]
"""

import argparse
import math
import sys
import warnings

import torch


def disabling_gradients(x=2.0, device="cpu"):
    """Return (y, z): y = x*2 recorded by autograd, z = x*3 computed under torch.no_grad() and not recorded."""
    x = torch.tensor([real_number("x", x)], device=usable_device(device), requires_grad=True)
    y = x * 2
    with torch.no_grad():  # grad mode off: no graph is built for what happens here
        z = x * 3
    return y, z


@torch.no_grad()
def triple_untracked(t):
    """Return t * 3 and the grad mode it ran in: torch.no_grad() as a decorator covers the whole call."""
    return t * 3, torch.is_grad_enabled()


def other_ways(x=2.0, device="cpu"):
    """Return {way: (x * 3 computed that way, grad mode then, whether its input required grad then)}."""
    x = torch.tensor([real_number("x", x)], device=usable_device(device), requires_grad=True)
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


def main(argv=None):
    args = options(__doc__, x=2.0).parse_args(argv)
    grad_mode_outside = torch.is_grad_enabled()
    with torch.no_grad():
        grad_mode_inside = torch.is_grad_enabled()
    y, z = disabling_gradients(args.x, args.device)
    v = torch.tensor(args.x, dtype=torch.float32).item()  # the float32 value autograd worked with
    x_requires_grad = True  # as disabling_gradients makes x
    y_by_hand, z_by_hand = grad_mode_outside and x_requires_grad, grad_mode_inside and x_requires_grad
    print(f"Example 4, disabling gradients on {args.device}")
    print(f"x = {v:g}   (a leaf, requires_grad={x_requires_grad})")
    print(f"y = x * 2 = {y.item():g}   outside no_grad: requires_grad={y.requires_grad}, grad_fn={name(y.grad_fn)}")
    print(f"z = x * 3 = {z.item():g}   inside no_grad:  requires_grad={z.requires_grad}, grad_fn={name(z.grad_fn)}")
    print(f"grad mode after the with block: {torch.is_grad_enabled()}")
    print("by hand: a result requires grad when grad mode is on and an input requires grad")
    print(f"  y: grad mode {grad_mode_outside} and x.requires_grad {x_requires_grad} -> {y_by_hand}")
    print(f"  z: grad mode {grad_mode_inside} and x.requires_grad {x_requires_grad} -> {z_by_hand}")
    results = other_ways(args.x, args.device)
    print("other ways, each computing x * 3 (tracked, by hand, when grad mode is on and its input requires grad):")
    for way, (result, grad_mode, input_requires_grad) in results.items():
        print(
            f"  {way:<26} grad mode {grad_mode!s:<5}  input requires grad {input_requires_grad!s:<5}"
            f"  -> requires_grad={result.requires_grad}, grad_fn={name(result.grad_fn)}"
        )
    try:
        z.backward()
        print("z.backward() ran")
    except RuntimeError as error:
        print(f"z.backward() raises RuntimeError: {error}")
    print("checks:")
    ok = [
        agree("y = 2*x", y.item(), 2 * v),
        agree("z = 3*x", z.item(), 3 * v),
        agree("y.requires_grad", y.requires_grad, y_by_hand),
        agree("z.requires_grad", z.requires_grad, z_by_hand),
        agree("z.grad_fn", name(z.grad_fn), "None"),
        agree("grad mode after", torch.is_grad_enabled(), grad_mode_outside),
    ]
    ok += [
        agree(way, result.requires_grad, mode and input_requires)
        for way, (result, mode, input_requires) in results.items()
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


def agree(label, value, by_hand, how="autograd"):
    """Print a value (computed how: autograd, forward, ...) beside the hand-derived one; True when they agree,
    to float32 precision."""
    if isinstance(by_hand, float):
        ok = math.isclose(value, by_hand, rel_tol=1e-5, abs_tol=1e-5)
    else:
        ok = value == by_hand
    shown = [f"{v:g}" if isinstance(v, float) else str(v) for v in (value, by_hand)]
    print(f"  {label:<26} {how:>8} {shown[0]:<12} by hand {shown[1]:<12} {'agree' if ok else 'DIFFER'}")
    return ok


if __name__ == "__main__":
    sys.exit(main())
