"""Your own function (--expr) and your own derivative (--mine), for examples 1 and 2. --expr: the derivative
three ways, by autograd, by the rules of calculus (sympy, as by hand) and measured (the central difference).
--mine: your derivative judged in general: by sympy, and apart from it at points from -1000 to 1000, in 60 digits.
"""

import functools
import math
import random
import threading

import torch

from expressions import at_point, formula, parse_expression, plain, precise, steps, unparse, with_autograd
from lesson_tools import agree, leaf, real_number

DIGITS = 60  # mpmath's working precision for the questions rounding must not decide
SIMPLIFY_SECONDS = 3.0  # sympy's simplification is given this long, then the numeric comparison decides


class NoDerivative(ArithmeticError):
    """The expression has no finite derivative at the point: the message says why."""


# Where a derivative exists: a finite value, and one slope from both sides
def why_undefined(tree, values):
    """Why the tree has no finite real value at values, naming the innermost step that has none."""
    for step in steps(tree):
        try:
            plain(step, values)
        except ValueError as error:
            parts = [plain(part, values) for part in step[1:] if isinstance(part, tuple)]
            if step[0] == "/" and parts[1] == 0:
                return f"{unparse(step)} divides by 0"
            if step[0] in ("log", "sqrt") and parts[0] <= 0:
                return f"{unparse(step)} needs a positive argument, and {unparse(step[1])} is {parts[0]:g}"
            return str(error).rsplit(" at ", 1)[0]  # the point is said once, before the reason
    return None


def slopes(tree, values, name):
    """The one-sided slopes of the tree along name at values: (y(x) - y(x - h))/h and (y(x + h) - y(x))/h in 60
    digits, at h and at h/1e10, which must agree; each None where the tree is not defined on that side, and
    infinite where the slope grows without bound."""
    import mpmath

    mpmath.mp.dps = DIGITS
    point = {n: mpmath.mpf(v) for n, v in values.items()}
    here, found = precise(tree, point), []
    for side in (-1, 1):
        quotients = []
        for h in (mpmath.mpf(2) ** -70, mpmath.mpf(2) ** -103):
            h *= max(1, abs(point[name]))
            there = precise(tree, {**point, name: point[name] + side * h})
            quotients.append(None if there is None or here is None else (there - here) / (side * h))
        found.append(None if None in quotients else mpmath.inf if differ(*quotients) else quotients[1])
    return found


def no_derivative(tree, values, output="y"):
    """Why the tree has no finite derivative at values; None where it has one along every variable."""
    import mpmath

    reason = why_undefined(tree, values)
    if reason:
        return reason
    for name in values:
        left, right = slopes(tree, values, name)
        along = f" along {name}" if len(values) > 1 else ""
        if left is None and right is None:  # a point alone, or exp, sin, ... of more than 1e6: see precise()
            return f"{output} is defined{along} on neither side, or beyond what 60 digits reach there: no derivative"
        if left is None or right is None:
            return f"{output} is defined{along} only on its {'right' if left is None else 'left'}: no derivative"
        if not (mpmath.isfinite(left) and mpmath.isfinite(right)):
            return f"{output}'s slope{along} grows without bound: no finite derivative"
        if differ(left, right):
            return (
                f"{output} has a corner{along}: its slope is {float(left):g} on the left, {float(right):g} on the right"
            )
    return None


def kink_steps(tree, values, evaluate=plain):
    """Each step at a point where it has no derivative of its own: abs or sqrt of 0, 0 to a power (but to a
    whole one of at least 1); with the values of its parts there, by evaluate (plain floats, or precise)."""
    for step in (step for step in steps(tree) if step[0] in ("abs", "sqrt", "**")):
        at = [evaluate(part, values) for part in step[1:]]
        smooth = step[0] == "**" and not uses(step[2]) and at[1] >= 1 and float(at[1]).is_integer()
        if at[0] == 0 and not smooth:
            yield step, at


def kinks(tree, values):
    """[(step, autograd's local slopes there)] for each kink step, in an expression that has a derivative as a
    whole: what autograd took there, for each part of the step that depends on a variable."""
    found = []
    for step, at in kink_steps(tree, values):
        inputs = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in at]
        local = torch.autograd.grad((torch.pow if step[0] == "**" else getattr(torch, step[0]))(*inputs), inputs)
        found.append((unparse(step), [g for part, g in zip(step[1:], local, strict=True) if uses(part)]))
    return found


def uses(tree):
    """Whether the tree depends on a variable."""
    return any(len(part) == 1 for part in steps(tree))


# Three ways to the derivative
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


def rules_at(rules, symbols, values, digits=30):
    """The rules' formula at values, put in as Floats of digits digits (quick, where evalf(subs=) is not); None
    where that is not a finite real number."""
    import mpmath
    import sympy

    value = rules.xreplace({symbols[n]: sympy.Float(v, digits) for n, v in values.items()})
    value = value if value.is_Number else value.evalf(digits)  # what is left, as log(2): a number too
    finite = value.is_number and value.is_real and value.is_finite
    return mpmath.mpf(sympy.Float(value, digits)) if finite else None


def three_ways(expr, point, device="cpu", output="y"):
    """expr's value at point ({variable: value}, as float32 holds it) and each derivative three ways: {"value": y,
    name: {"autograd", "symbolic", "numeric", "formula"}}; NoDerivative where there is none. A way that fails
    where the derivative exists is nan (a formula 0/0 there, autograd's 0*inf at a kink)."""
    import sympy  # for the rules only: torch depends on it, but the lesson's default run needs none of it

    tree = parse_expression(expr, tuple(point))
    leaves = {n: leaf(v, device, n) for n, v in point.items()}
    at = {n: t.item() for n, t in leaves.items()}  # the float32 values autograd works with; the others too
    if reason := no_derivative(tree, at, output):
        raise NoDerivative(f"at {at_point(at)}, {reason}")
    symbols = {n: sympy.Symbol(n, real=True) for n in point}
    exact, y = formula(tree, symbols), with_autograd(tree, leaves)
    y.backward()
    found = {"value": y.item()}
    for n, t in leaves.items():
        rules = sympy.diff(exact, symbols[n])
        symbolic, autograd = rules_at(rules, symbols, at), t.grad.item() if t.grad is not None else 0.0  # None: unused
        found[n] = {"autograd": autograd, "symbolic": math.nan if symbolic is None else float(symbolic)}
        found[n] |= {"numeric": central_difference_of(tree, at, n)[0], "formula": text_of(rules)}
    ways = [(output, found["value"])] + [(f"autograd's d{output}/d{n}", found[n]["autograd"]) for n in point]
    overflow = [way for way, v in ways if math.isinf(v) or (way == output and math.isnan(v))]  # nan: 0*inf at a kink
    if overflow:
        verb = "is not a finite number" if len(overflow) == 1 else "are not finite numbers"
        largest = f"in float32, which holds at most {torch.finfo(torch.float32).max:.3g}"
        raise NoDerivative(f"at {at_point(at)}, {' and '.join(overflow)} {verb} {largest}")
    return found


def text_of(rules):
    try:
        return str(rules)
    except ValueError:  # a number of more digits than Python writes out (x*1e-300*...*1e-300): in floating point
        return str(rules.evalf(15))


def derivatives(expr="x**2 + 3*x + 1", x=2.0, device="cpu"):
    """dy/dx of the expression y at x (as float32 holds it) three ways: {"value": y, "autograd", "symbolic": the
    rules' (sympy's) evaluated, "numeric": the central difference, "formula": the rules' as text}, or NoDerivative."""
    found = three_ways(expr, {"x": real_number("x", x)}, device)
    return {"value": found["value"], **found["x"]}


# Your own derivative, judged in general: at points where the derivative is defined, from -1000 to 1000, and by sympy
NICE = (0.0, 0.5, 1.0, 2.0, 10.0, 1000.0)  # and their negatives: where a wrong answer is shown, if it is wrong there
GRID = sorted({s * v for v in NICE for s in (1, -1)} | {
    random.Random(3 + i).choice((-1, 1)) * round(10 ** random.Random(i).uniform(-3, 3), 6) for i in range(24)
})  # fmt: skip


def sample_points(tree, rules, symbols, point, name):
    """[(point, the rules' derivative there)] where the derivative along name is defined, along each variable
    through point (and a second point, for two variables): at GRID's values, just inside each edge, and between
    those where fewer than 20; and the edges, [(variable, where)]. Points are {variable: mpmath number}."""
    import mpmath

    mpmath.mp.dps = DIGITS
    second = {n: random.Random(7 + i).choice(GRID) for i, n in enumerate(point)}
    found, edges = [], []
    for base, varied in [(b, v) for b in ([point, second] if len(point) > 1 else [point]) for v in point]:
        base = {n: mpmath.mpf(x) for n, x in base.items()}

        def derivative(v, base=base, varied=varied):  # the rules' derivative where y is defined, else None
            values = {**base, varied: v}
            return rules_at(rules, symbols, values, DIGITS) if precise(tree, values) is not None else None

        line = {v: derivative(v) for v in map(mpmath.mpf, sorted(set(GRID) | {float(base[varied])}))}
        ends = list(line)
        for a, b in zip(ends, ends[1:], strict=False):
            if (line[a] is None) != (line[b] is None):  # an edge between a and b: bisect to it, then step inside
                good, bad = (a, b) if line[b] is None else (b, a)
                for _ in range(56):  # to 1e-15 of it: the step inside is 1e-12
                    middle = (good + bad) / 2
                    good, bad = (middle, bad) if derivative(middle) is not None else (good, middle)
                edges.append((varied, float(bad)))
                inside = good + mpmath.sign(good - bad) * mpmath.mpf(1e-12) * max(1, abs(good))
                line[inside] = derivative(inside)
        along = sorted(v for v, d in line.items() if d is not None)
        while 1 < len(along) < 20:  # a narrow domain: fill the largest gap
            gap = max(range(len(along) - 1), key=lambda i: along[i + 1] - along[i])
            along.insert(gap + 1, (along[gap] + along[gap + 1]) / 2)
        found += [({**base, varied: v}, line[v] if v in line else derivative(v)) for v in along]
    kept = [(p, d) for p, d in found if not any(kink_steps(tree, p, precise)) or not differ(*slopes(tree, p, name))]
    return kept, edges  # at a kink step (abs(0), say) the two one-sided slopes decide whether to keep the point


def differ(a, b, tolerance=1e-6, floor=1):
    """Whether a and b differ by more than tolerance times the larger of |a|, |b| and floor; True where one is
    None or not finite."""
    import mpmath

    return None in (a, b) or not mpmath.isfinite(a - b) or abs(a - b) > tolerance * max(floor, abs(a), abs(b))


def simplified(difference, wrong):
    """difference reduced by sympy within SIMPLIFY_SECONDS (else None; its daemon thread runs on unwaited): by
    cancel(), quick and enough for most; else factored for reading where yours is wrong, or by simplify(), which
    proves 0 where cancel() cannot (2**x against exp(x*log(2)))."""
    import sympy

    def reduce():
        reduced = sympy.cancel(difference)
        result.append(reduced if reduced == 0 else sympy.factor(reduced) if wrong else sympy.simplify(difference))

    result, worker = [], threading.Thread(target=reduce, daemon=True)
    worker.start()
    worker.join(SIMPLIFY_SECONDS)
    return result[0] if result else None


@functools.lru_cache(maxsize=32)
def derivative_and_domain(expr, point, name):
    """(symbols, the rules' derivative of expr along name, sample_points, edges), once for every answer checked."""
    import sympy

    tree, point = parse_expression(expr, tuple(n for n, _ in point)), dict(point)
    symbols = {n: sympy.Symbol(n, real=True) for n in point}
    rules = sympy.diff(formula(tree, symbols), symbols[name])
    return symbols, rules, *sample_points(tree, rules, symbols, point, name)


def judge(expr, mine, point, name):
    """Whether mine (text) is the derivative of expr along name, in general: {"right", "points" where compared,
    "edges", "wrong": [[point, yours or None, the derivative, yours - it]] (the readable first), "difference":
    sympy's yours - the derivative, as text (None where it ran out of time), "rules"}. Right: yours equals it
    at every point to 20 digits, and sympy's difference is 0, or 0 at every point, or out of time."""
    theirs = parse_expression(mine, tuple(point))
    symbols, rules, points, edges = derivative_and_domain(expr, tuple(point.items()), name)
    readable = [({n: float(v) for n, v in p.items()}, precise(theirs, p), d) for p, d in points]
    wrong = [[p, y, d, y - d if y is not None else None] for p, y, d in readable if differ(y, d, 1e-20, 1e-30)]
    difference = simplified(formula(theirs, symbols) - rules, wrong)  # last: where it runs on, sympy is used no more
    if difference is not None and difference != 0 and not wrong:  # not reduced to 0: is it 0 at every point?
        gaps = [rules_at(difference, symbols, p, DIGITS) for p, _ in points]
        wrong = [[*case, gap] for case, gap in zip(readable, gaps, strict=True) if gap is None or abs(gap) > 1e-50]
    wrong = [[p, *(None if v is None else float(v) for v in values)] for p, *values in wrong]  # floats, to print
    wrong.sort(key=lambda w: (any(abs(v) not in NICE for v in w[0].values()), max(map(abs, w[0].values()))))
    found = {"right": bool(points) and not wrong, "points": [p for p, _, _ in readable], "edges": edges}
    return {
        **found,
        "wrong": wrong,
        "difference": None if difference is None else text_of(difference),
        "rules": text_of(rules),
    }


# What --expr and --mine print (examples 1 and 2)
def show_three_ways(expr, point, device, output="y", example="Example 1"):
    """The run with --expr: the derivative by autograd, by the rules and measured, side by side, then their
    checks. Returns the exit status: 0 where they agree, 1 where they do not or there is none to compare."""
    try:
        found = three_ways(expr, point, device, output)  # first: a refusal by the rules is one line, exit 2
    except NoDerivative as reason:
        print(f"{example}, your own function on {device}: {output} = {expr}\n{reason}; nothing to compare")
        return 1
    print(f"{example}, your own function on {device}: {output} = {expr}")
    tree, at = parse_expression(expr, tuple(point)), {n: leaf(v, name=n).item() for n, v in point.items()}
    where = "; ".join(f"{n} = {v:g}, in float32 {at[n]:.10g}" for n, v in point.items())
    print(f"{where}: all three ways work at it; {output} = {found['value']:.8g} (the forward pass)")
    grads = ", ".join(f"{n}.grad = {found[n]['autograd']:.8g}" for n in point)
    print(f"by autograd:  {output}.backward() leaves {grads}")
    for n in point:
        text = found[n]["formula"]  # the rules can make it swell far beyond the expression: show its start
        print(f"by the rules: d{output}/d{n} = {text if len(text) <= 200 else text[:150] + ' ...'}")
        if len(text) > 200:
            print(f"              ({len(text)} characters in all, from {len(expr)} in {output}: the formula swells)")
        print(f"              = {found[n]['symbolic']:.8g} at {at_point(at)}   (sympy: 30 digits, then rounded)")
        slope, h = central_difference_of(tree, at, n)
        print(f"measured:     ({output}({n} + h) - {output}({n} - h)) / (2*h), h = {h:.3g}: {slope:.8g}   (floats)")
    for step, local in kinks(tree, at):
        taken = ", ".join(f"{g:g}" for g in local)
        print(f"at a kink:    {step} has no derivative of its own here; autograd took {taken} for its slope")
    print("checks:")
    ok = [agree(output, found["value"], plain(tree, at), how="forward", against="floats")]
    for n in point:
        ok.append(agree(f"d{output}/d{n}", found[n]["autograd"], found[n]["symbolic"], against="rules"))
        ok.append(agree(f"d{output}/d{n}", found[n]["numeric"], found[n]["symbolic"], how="measured", against="rules"))
    return 0 if all(ok) else 1


def show_judgement(expr, mine, point, device, output="y", example="Example 1", answer=False):
    """The run with --mine: each of your derivatives ({variable: text}) judged right or wrong in general,
    with the evidence. Returns the exit status: 0 where every one is right, 1 where one is wrong."""
    at = {n: leaf(v, name=n).item() for n, v in point.items()}  # as autograd sees them
    verdicts = {n: judge(expr, text, at, n) for n, text in mine.items()}  # first: a refusal is one line, exit 2
    print(f"{example}, your derivative checked: {output} = {expr}")
    try:
        found = three_ways(expr, point, device, output)
    except NoDerivative as reason:
        found = print(f"{reason}; nothing to compare there, the check in general follows")
    for n, verdict in verdicts.items():
        label, yours = f"d{output}/d{n}", precise(parse_expression(mine[n], tuple(point)), at)
        print(f"yours: {label} = {mine[n]}")
        if found:
            there = "not defined" if yours is None else f"{float(yours):.8g}"
            print(f"  at {at_point(at)}: yours {there}, autograd's {found[n]['autograd']:.8g}, ", end="")
            print(f"the rules' {found[n]['symbolic']:.8g}")
        shown_in_general(verdict, label)
        if verdict["right"]:
            print(f"  right: yours is {label}" + ", as far as the points show" * (verdict["difference"] != "0"))
        elif verdict["points"]:
            chance = f" (though right at {at_point(at)})" * bool(found and not differ(yours, found[n]["symbolic"]))
            print(f"  wrong{chance}: yours is not {label}" + ("" if answer else "; --answer shows it"))
        if answer:
            print(f"  the rules' {label} = {verdict['rules']}")
    return 0 if all(verdict["right"] for verdict in verdicts.values()) else 1


def shown_in_general(verdict, label):
    """Print what the check in general found: where it compared, where yours differs, sympy's difference."""
    points, edges, wrong = verdict["points"], verdict["edges"], verdict["wrong"]
    if not points:
        print(f"  in general: no point where {label} is defined and {DIGITS} digits reach: undecided")
    else:
        where = ", ".join(f"{n} from {min(p[n] for p in points):g} to {max(p[n] for p in points):g}" for n in points[0])
        where += ("; just inside the edge at " + ", ".join(f"{n} = {e:.6g}" for n, e in edges)) * bool(edges)
        print(f"  in general, at {len(points)} points where {label} is defined ({where}), in {DIGITS} digits:")
    if wrong:
        p, theirs, derivative, gap = wrong[0]
        what = "is not defined" if theirs is None else f"is {theirs:.8g}"
        if theirs is not None and f"{theirs:.8g}" == f"{derivative:.8g}":  # a difference too small to show
            what += f" ({gap:.3g} apart)"
        print(f"  yours differs at {len(wrong)} of them: at {at_point(p)}, yours {what}", end=" ")
        print(f"where {label} is {derivative:.8g}")
    elif points:
        print(f"  yours agrees with {label} to 20 digits at every one")
    if verdict["difference"] is None:
        print(f"  sympy did not finish simplifying in {SIMPLIFY_SECONDS:g} s: the comparison at points decides")
    else:
        print(f"  by sympy: yours - {label} = {verdict['difference']}")
