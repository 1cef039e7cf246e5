"""Example 5 (optional), grad_fn: every tensor made by a recorded operation points back to it.

y = x**2 + 3*x + 1 is built by autograd as a graph of backward nodes. y.grad_fn is the node of
the last operation (the final "+ 1", an AddBackward0); its next_functions lead to the nodes of the
earlier operations, down to AccumulateGrad, which adds the result into x.grad. A leaf such as x,
made by the user rather than by an operation, has grad_fn None.

    y = ((x**2) + (3*x)) + 1
    AddBackward0 -> AddBackward0 -> PowBackward0 -> AccumulateGrad (x)
                                 -> MulBackward0 -> AccumulateGrad (x)

Run it:  python 05_optional_grad_fn.py [--x 2.0] [--device cpu]
"""

import argparse
import math
import sys

import torch


def polynomial(x):
    """The lesson's y as a function of x, for any tensor x."""
    return x**2 + 3 * x + 1


def grad_fn_demo(x=2.0, device="cpu"):
    """Return (x, y) with y = x**2 + 3*x + 1 and no backward() yet: y.grad_fn is the node that made y."""
    x = torch.tensor([real_number("x", x)], device=usable_device(device), requires_grad=True)
    return x, polynomial(x)


def main(argv=None):
    args = parse_options(__doc__, argv, x=2.0)
    x, y = grad_fn_demo(args.x, args.device)
    v = x.item()
    print(f"Example 5, grad_fn on {args.device}: y = x**2 + 3*x + 1")
    print(f"x = {v:g}   x.grad_fn = {name(x.grad_fn)}   (a leaf: made by us, not by an operation)")
    print(f"y = {y.item():g}   y.grad_fn = {name(y.grad_fn)}   (the last operation, + 1)")
    print("y.grad_fn.next_functions, the nodes of the operations before it:")
    for node, _ in y.grad_fn.next_functions:
        print(f"  {name(node)}" if node else "  None   (the constant 1: no gradient flows to it)")
    print("by hand: the outermost operation of ((x**2) + (3*x)) + 1 is an addition")
    print("checks:")
    ok = [
        agree("y", y.item(), v**2 + 3 * v + 1),
        agree("x.grad_fn", name(x.grad_fn), "None"),
        agree("y.grad_fn", name(y.grad_fn), "AddBackward0"),
    ]
    return 0 if all(ok) else 1


def name(node):
    """A grad_fn's class name (AddBackward0), or None: stable across versions, unlike its repr."""
    return type(node).__name__ if node is not None else "None"


# Plumbing, the same in each script of the lesson: check inputs, read options, compare results.


def real_number(name, value):
    """value as a float if it is an int or float that float32 holds; otherwise TypeError/ValueError."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be an int or float, got {value!r}")
    if not abs(value) <= torch.finfo(torch.float32).max:  # False for nan too
        raise ValueError(f"{name} must be a finite number within float32 range, got {value!r}")
    return float(value)


def usable_device(device):
    """device as a torch.device if this machine has it; otherwise TypeError/ValueError naming it."""
    if not isinstance(device, (str, torch.device)):
        raise TypeError(f"device must be a str or torch.device, got {device!r}")
    here = ["cpu"]
    accelerator = torch.accelerator.current_accelerator(check_available=True)
    if accelerator is not None:
        here += [f"{accelerator.type}:{i}" for i in range(torch.accelerator.device_count())]
    try:
        wanted = torch.device(device)
    except RuntimeError:  # not a device name torch knows
        wanted = None
    # Check before use: cuda on a CPU-only build, or cuda:7 on one GPU, fails with pages of text.
    if wanted is None or (wanted.type != "cpu" and f"{wanted.type}:{wanted.index or 0}" not in here):
        raise ValueError(f"device {str(device)!r} is not available; this machine has {', '.join(here)}")
    return wanted


class OneLineErrors(argparse.ArgumentParser):
    def error(self, message):  # one line and exit status 2, without argparse's usage block
        self.exit(2, f"{self.prog}: error: {message}\n")


def parse_options(doc, argv, **inputs):
    """Options --NAME for each lesson input (defaults as given) and --device; a bad value exits 2."""

    def checked(check, *name):  # an argparse type: the lesson's own check, its error as argparse's
        def parse(text):
            try:
                return check(*name, float(text)) if name else check(text)
            except (TypeError, ValueError) as error:
                raise argparse.ArgumentTypeError(str(error)) from None

        return parse

    parser = OneLineErrors(description=doc.split("\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    for name, default in inputs.items():
        parser.add_argument(
            f"--{name}",
            type=checked(real_number, name),
            default=default,
            help=f"value of {name}; a negative one as --{name}=-1e5",
        )
    parser.add_argument("--device", type=checked(usable_device), default="cpu", help="cpu, cuda, cuda:1, mps, ...")
    return parser.parse_args(argv)


def num(v):
    """v as written in a substituted formula: 2 stays 2, -1.5 becomes (-1.5)."""
    return f"({v:g})" if v < 0 else f"{v:g}"


def agree(label, autograd, by_hand):
    """Print autograd's value beside the hand-derived one; True when they agree (to float32 precision)."""
    if isinstance(by_hand, float):
        ok = math.isclose(autograd, by_hand, rel_tol=1e-5, abs_tol=1e-5)
    else:
        ok = autograd == by_hand
    shown = [f"{v:g}" if isinstance(v, float) else str(v) for v in (autograd, by_hand)]
    print(f"  {label:<20} autograd {shown[0]:<12} by hand {shown[1]:<12} {'agree' if ok else 'DIFFER'}")
    return ok


if __name__ == "__main__":
    sys.exit(main())
