"""Your own function (--expr) and your own derivative (--mine), for examples 1 and 2. --expr: the derivative
three ways, by autograd, by the rules of calculus (sympy, as by hand) and measured (the central difference).
--mine: your derivative judged in general, by sympy and at points, in judge.py's process (started once)."""

import atexit
import math
import pickle
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

import torch

from expressions import apply, at_point, cut, kink_steps, parse_expression, plain, unparse, uses, with_autograd
from lesson_tools import Check, agree, heading, leaf, real_number, summary

SECONDS = 8.0  # what all of a check's asks of judge.py may take, its start included: a check ends within 10 s
SIMPLIFY_SECONDS = 2.0  # and each reply after the first, as sympy reduces yours - dy/dx further (0: no more replies)
WORKER = {}  # judge.py's process and the queue of its replies


class NoDerivative(ArithmeticError):
    """The expression has no finite derivative at the point: the message says why."""


# judge.py's process: asked, and stopped at a deadline on every OS, as a thread could not be
def ask(name, *arguments, until=None):
    """judge.py's ANSWERS[name](*arguments): its replies that came by until (time.monotonic()'s; SECONDS from now),
    each after the first within SIMPLIFY_SECONDS; past that, its process is stopped. ValueError: a refusal, no reply."""
    if "process" not in WORKER or WORKER["process"].poll() is not None:  # none yet, or it has ended
        start()
    pickle.dump((name, arguments), WORKER["process"].stdin)
    WORKER["process"].stdin.flush()
    replies, wait, until = [], math.inf, until or time.monotonic() + SECONDS
    while (left := min(wait, until - time.monotonic())) > 0:
        try:
            kind, reply = WORKER["replies"].get(timeout=left)
        except queue.Empty:
            break
        if kind != "reply":  # done; refused; or ended: out of memory
            stop() if kind == "ended" else None
            if kind == "done":
                return replies
            raise ValueError(reply or "the rules of calculus stopped: they need more than this lesson allows")
        replies, wait = [*replies, reply], SIMPLIFY_SECONDS
    stop()
    if not replies:
        raise ValueError(f"the rules of calculus did not finish in {SECONDS:g} s")
    return replies


def start():
    """Start judge.py in a process of its own, and a thread that reads its replies as they come."""
    stop()
    process = subprocess.Popen([sys.executable, str(Path(__file__).with_name("judge.py"))], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)  # fmt: skip
    WORKER.update(process=process, replies=queue.Queue())
    threading.Thread(target=read, args=(process.stdout, WORKER["replies"]), daemon=True).start()


def read(channel, replies):
    """Put each reply judge.py sends into replies, then ("ended", None) at its end (stopped, or out of memory)."""
    try:
        while True:
            replies.put(pickle.load(channel))
    except Exception:
        replies.put(("ended", None))


@atexit.register
def stop():
    """Stop judge.py's process, if one runs."""
    if process := WORKER.pop("process", None):
        process.kill()
        process.wait()
        process.stdin.close(), process.stdout.close()


# Three ways to the derivative
def kinks(tree, values):
    """(step, autograd's local slopes there) for each kink step, in an expression that has a derivative as a whole:
    what autograd took there, for each part of the step that depends on a variable."""
    for step, at in kink_steps(tree, values):
        inputs = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in at]
        local = torch.autograd.grad(torch.pow(*inputs) if step[0] == "**" else apply(torch, step[0], *inputs), inputs)
        yield unparse(step), [g for part, g in zip(step[1:], local, strict=True) if uses(part)]


def central_difference_of(tree, values, name):
    """(slope, h): (y(x + h) - y(x - h)) / (2*h) along name, in plain floats; h, float64's cube-root epsilon times
    max(1, |x|), a rule of thumb, made 10 times smaller while x - h or x + h falls outside where y is defined."""
    h = 6.0554544523933395e-06 * max(1.0, abs(values[name]))
    for _ in range(12):
        try:
            above, below = (plain(tree, {**values, name: values[name] + s * h}) for s in (1, -1))
            return (above - below) / (2 * h), h
        except ValueError:
            h /= 10
    return math.nan, h


def three_ways(expr, point, device="cpu", output="y", until=None):
    """expr's value at point ({variable: value}, as float32 holds it) and each derivative three ways: {"value": y,
    name: {"autograd", "symbolic", "numeric", "formula"}}; NoDerivative where there is none. A way that fails
    where the derivative exists is nan (a formula 0/0 there, autograd's 0*inf at a kink)."""
    tree, leaves = parse_expression(expr, tuple(point)), {n: leaf(v, device, n) for n, v in point.items()}
    at = {n: t.item() for n, t in leaves.items()}  # the float32 values autograd works with; the others too
    rules = ask("rules", expr, at, output, until=until)[0]
    if rules["reason"]:
        raise NoDerivative(f"at {at_point(at)}, {rules['reason']}")
    (y := with_autograd(tree, leaves)).backward()
    found = {"value": y.item()}
    for n, t in leaves.items():
        autograd = t.grad.item() if t.grad is not None else 0.0  # None: y does not use n
        found[n] = dict(zip(("symbolic", "formula"), rules[n], strict=True), autograd=autograd)
        found[n]["numeric"] = central_difference_of(tree, at, n)[0]
    ways = [(output, found["value"])] + [(f"autograd's d{output}/d{n}", found[n]["autograd"]) for n in point]
    overflow = [way for way, v in ways if math.isinf(v) or (way == output and math.isnan(v))]  # nan: 0*inf at a kink
    if overflow:
        verb = "is not a finite number" if len(overflow) == 1 else "are not finite numbers"
        largest = f"in float32, which holds at most {torch.finfo(torch.float32).max:.3g}"
        raise NoDerivative(f"at {at_point(at)}, {' and '.join(overflow)} {verb} {largest}")
    return found


def derivatives(expr="x**2 + 3*x + 1", x=2.0, device="cpu"):
    """dy/dx of the expression y at x (as float32 holds it) three ways: {"value": y, "autograd", "symbolic": the
    rules' (sympy's) evaluated, "numeric": the central difference, "formula": the rules' as text}, or NoDerivative."""
    found = three_ways(expr, {"x": real_number("x", x)}, device)
    return {"value": found["value"], **found["x"]}


def judge(expr, mine, point, name, until=None):
    """Whether mine (text) is the derivative of expr along name at point, in general: judge.py's fullest evidence in
    time, and "right": False where yours differs at a point, None (undecided) at fewer than 20 points or while sympy's
    difference is neither 0 nor checked at DENSE points more, else True."""
    verdict = ask("judgement", expr, mine, point, name, until=until)[-1]
    settled = verdict["difference"] == "0" or verdict["dense"]
    return verdict | {"right": False if verdict["wrong"] else None if verdict["points"] < 20 or not settled else True}


# What --expr and --mine print (examples 1 and 2)
def your_own(parser, args, lesson_y, mine, point, output="y", example="Example 1"):
    """The run with --expr, or with --mine ({variable: your text or None}; 02: --mine-a, --mine-b): its exit status,
    or None where neither is given; a refusal by the rules, or --answer alone, is one line and exit status 2."""
    given = {n: text for n, text in mine.items() if text is not None}
    if args.answer and not given:
        yours = " and ".join(f"d{output}/d{n}" for n in mine)
        options = " or ".join(f"--mine-{n}" for n in mine) if len(mine) > 1 else "--mine"  # 01's is --mine
        parser.error(f"--answer shows the rules' {yours} beside yours: give {options} too")
    try:  # the rules may refuse a part too long to compute exactly, bad input as when parsed
        if given:
            return show_judgement(args.expr or lesson_y, given, point, args.device, output, example, args.answer)
        if args.expr is not None:
            return show_three_ways(args.expr, point, args.device, output, example)
    except ValueError as error:
        parser.error(str(error))


def show_three_ways(expr, point, device, output="y", example="Example 1"):
    """The run with --expr: how it read y; the derivative by autograd, by the rules and measured, side by side, and
    their checks; the summary. Returns the exit status: 0 where they agree, 1 where they do not or there is none."""
    tree, at = parse_expression(expr, tuple(point)), {n: leaf(v, name=n).item() for n, v in point.items()}
    title = f"{example}, your own function on {device}: {output} = {cut(expr, 150)}\n" + reading(expr, point, output)
    try:
        found = three_ways(expr, point, device, output)  # first: a refusal by the rules is one line, exit 2
    except NoDerivative as reason:
        return print(f"{title}\n\nSummary: no check ran: {reason}, nothing to compare") or 1
    print(title)
    where = "; ".join(f"{n} = {v:g} (float32 {at[n]:.10g})" for n, v in point.items())
    heading(1, f"Its derivative three ways, at {where}")
    print(f"  {output} = {found['value']:.8g} (the forward pass), and all three ways work here")
    grads = ", ".join(f"{n}.grad = {found[n]['autograd']:.8g}" for n in point)
    print(f"  by autograd:  {output}.backward() leaves {grads}")
    for n, text in ((n, found[n]["formula"]) for n in point):  # the rules' can swell far beyond y: its start
        print(f"  by the rules: d{output}/d{n} = {cut(text, 168)}")
        if len(text) > 168:
            print(f"                ({len(text)} characters in all, from {len(expr)} in {output}: the formula swells)")
        print(f"                = {found[n]['symbolic']:.8g} at {at_point(at)}   (sympy: 30 digits, then rounded)")
        slope, h = central_difference_of(tree, at, n)
        print(f"  measured:     ({output}({n} + h) - {output}({n} - h)) / (2*h), h = {h:.3g}: {slope:.8g}   (floats)")
    for step, local in kinks(tree, at):
        taken = ", ".join(f"{g:g}" for g in local)
        print(f"  at a kink:    {step} has no derivative of its own here; autograd took {taken} for its slope")
    checks = [agree(output, found["value"], plain(tree, at), how="forward", against="floats")]
    for n, (how, way) in ((n, way) for n in point for way in (("autograd", "autograd"), ("measured", "numeric"))):
        checks.append(agree(f"d{output}/d{n}", found[n][way], found[n]["symbolic"], how=how, against="rules"))
    print(f"\n{summary(checks)}")
    return 0 if all(checks) else 1


def reading(text, point, output=""):
    """The line that says how the text was read, in the language's explicit form (3x^2 as 3*x**2)."""
    return f"read as {output + ' = ' * bool(output)}{cut(unparse(parse_expression(text, tuple(point))), 180)}"


def show_judgement(expr, mine, point, device, output="y", example="Example 1", answer=False):
    """The run with --mine: for each of your derivatives ({variable: text}), a section: how it was read, its value
    at the point, and one verdict in general with the evidence; the summary. The exit status: 0 where each is
    right, 1 where one is not."""
    at, until = {n: leaf(v, name=n).item() for n, v in point.items()}, time.monotonic() + SECONDS  # as autograd
    verdicts = {n: judge(expr, text, at, n, until) for n, text in mine.items()}  # first: a refusal is one line, exit 2
    try:
        found, there = three_ways(expr, point, device, output, until), ""  # before any print: a refusal is one line
    except NoDerivative as reason:
        found, there = None, f"\n{reason}; nothing to compare there, the check in general follows"
    print(f"{example}, your derivative checked: {output} = {cut(expr, 150)}\n" + reading(expr, point, output) + there)
    for number, (n, verdict) in enumerate(verdicts.items(), 1):
        label, chance = f"d{output}/d{n}", f" (though right at {at_point(at)})" * bool(found and verdict["right_at"])
        rules = f", autograd's {found[n]['autograd']:.8g}, the rules' {found[n]['symbolic']:.8g}" if found else ""
        heading(number, f"Yours: {label} = {cut(mine[n], 170)}")
        print(f"  {reading(mine[n], point)}\n  at {at_point(at)}: yours {verdict['at'] or 'not defined'}{rules}")
        shown_in_general(verdict, label)
        print(f"  {said(verdict, label, chance, answer)}")
        if answer:
            print(f"  the rules' {label} = {cut(verdict['rules'], 170)}")
    print(f"\n{summary([Check(f'your d{output}/d{n}', v['right'] is True) for n, v in verdicts.items()])}")
    return 0 if all(verdict["right"] for verdict in verdicts.values()) else 1


def shown_in_general(verdict, label):
    """Print what the check in general found: where it compared, where yours differs, sympy's difference."""
    points, edges, wrong = verdict["points"], sorted({f"{n} = {e:.6g}" for n, e in verdict["edges"]}), verdict["wrong"]
    where = ", ".join(f"{n} from {least:g} to {most:g}" for n, (least, most) in verdict["span"].items())
    where += ("; just inside the edge at " + ", ".join(edges[:3]) + " ..." * (len(edges) > 3)) * bool(edges)
    print(f"  in general, at {points} points where {label} is defined ({where}), in 60 digits:" if points else
          f"  in general: no point where {label} is defined and 60 digits reach: undecided")  # fmt: skip
    if verdict["dense"]:
        print(f"  and at {verdict['dense']} more, 1e-4 to 1e12 each side: sympy's difference is not 0 as printed")
    if wrong:
        p, theirs, derivative, gap = wrong[0]
        what = "is not defined" if theirs is None else f"is {theirs}" + f" ({gap} apart)" * (theirs == derivative)
        print(f"  yours differs at {len(wrong)} of them: at {at_point(p)}, yours {what} where {label} is {derivative}")
    elif points:
        print(f"  yours agrees with {label} at every one (no difference shows in 60 digits and again in 120)")
    late = f"  sympy did not finish reducing yours - {label} in time: the comparison at points decides"
    print(late if verdict["difference"] is None else f"  by sympy: yours - {label} = {cut(verdict['difference'], 170)}")


def said(verdict, label, chance, answer):
    """The one verdict: right, wrong (where yours alone is undefined, where), or undecided, and why."""
    wrong, holes, points = verdict["wrong"], verdict["holes"], verdict["points"]
    if verdict["right"]:
        hole = f"; at {at_point(holes[0][0])} it is not defined, and yours is {holes[0][1]}" if holes else ""
        return f"right: yours is {label}" + ", as far as the points show" * (verdict["difference"] != "0") + hole
    if verdict["right"] is None:
        why = f"{points} points, fewer than 20" if points else "no point to compare at"
        return "undecided: " + (why if points < 20 else "sympy did not finish, and the points alone do not decide")
    if all(case[1] is None for case in wrong):
        where = at_point(wrong[0][0]) + (" only" if len(wrong) == 1 else f" and {len(wrong) - 1} more of the points")
        return f"wrong at {where}: yours is not defined there, where {label} is {wrong[0][2]}; elsewhere it is {label}"
    return f"wrong{chance}: yours is not {label}" + "; --answer shows it" * (not answer)
