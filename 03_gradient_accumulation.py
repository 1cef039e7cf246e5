"""Example 3, gradient accumulation: backward() adds to .grad; it does not overwrite it.

Each backward() call adds the new gradient to whatever x.grad already holds. With
y = x**2 + 3*x + 1 and dy/dx = 2*x + 3 (7 at x = 2), three calls show it:

    1st y.backward()                      x.grad = dy/dx       = 7
    2nd y.backward(), without zeroing     x.grad = 2 * dy/dx   = 14
    x.grad.zero_(), then 3rd backward()   x.grad = dy/dx       = 7

This is why a training loop calls optimizer.zero_grad() before each loss.backward().

The plan calls y.backward() twice on the same y. That fails as written: the first call frees the
values the graph saved for the backward pass. retain_graph=True keeps them, as the official
tutorial does; a training loop instead rebuilds y from x before each call.

Run it:  python 03_gradient_accumulation.py [--x 2.0] [--device cpu]
"""

import argparse
import math
import sys

import torch


def polynomial(x):
    """The lesson's y as a function of x, for any tensor x."""
    return x**2 + 3 * x + 1


def gradient_accumulation(x=2.0, device="cpu"):
    """Return x.grad after each of three y.backward() calls: the 1st, a 2nd without zeroing, a 3rd after zero_()."""
    x = torch.tensor([real_number("x", x)], device=usable_device(device), requires_grad=True)
    y = polynomial(x)
    seen = []
    y.backward(retain_graph=True)  # keep the graph's saved tensors: y.backward() runs again below
    seen.append(x.grad.item())
    y.backward(retain_graph=True)  # no zeroing in between, so this dy/dx is added to the last
    seen.append(x.grad.item())
    x.grad.zero_()  # in place, what optimizer.zero_grad() does for every parameter
    y.backward()  # the last call may free the graph
    seen.append(x.grad.item())
    return seen


def plan_as_written(x=2.0, device="cpu"):
    """The plan's literal code, y.backward() twice on one graph: the second call raises RuntimeError."""
    x = torch.tensor([real_number("x", x)], device=usable_device(device), requires_grad=True)
    y = polynomial(x)
    y.backward()  # frees the tensors saved for the backward pass
    y.backward()  # needs them: raises


def main(argv=None):
    args = parse_options(__doc__, argv, x=2.0)
    first, second, third = gradient_accumulation(args.x, args.device)
    v = torch.tensor(args.x, dtype=torch.float32).item()  # the float32 value autograd worked with
    slope = 2 * v + 3
    print(f"Example 3, gradient accumulation on {args.device}: y = x**2 + 3*x + 1")
    print(f"x = {v:g}, so dy/dx = 2*x + 3 = 2*{num(v)} + 3 = {slope:g}")
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
    print("checks:")
    ok = [
        agree("1st: dy/dx", first, slope),
        agree("2nd: dy/dx + dy/dx", second, slope + slope),
        agree("3rd: 0 + dy/dx", third, 0 + slope),
    ]
    return 0 if all(ok) else 1


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
