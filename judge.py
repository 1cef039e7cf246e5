"""The judge of --expr and --mine: the rules of calculus (sympy), where y has a derivative (mpmath, 60 digits), and
your derivative judged at points and as a formula. your_function.py runs it as `python judge.py`, a process that
answers pickled requests on stdin, and stops it at a deadline, as it could not stop a thread holding the GIL."""

import contextlib
import functools
import os
import pickle
import random
import sys
from itertools import pairwise

import mpmath
import sympy

import expressions
from expressions import TooFar, cut, kink_steps, operation, parse_expression, plain, precise, steps, unparse, uses

DIGITS = 60  # the precision of the questions rounding must not decide; a difference must show again at twice it
EXACT_DIGITS = 10_000  # an exact number sympy would compute to more digits (1.5**10**8) is refused: a long wait
MEMORY = 768 * 2**20  # this process's limit where the OS sets one: with the lesson's own, within 1 GB
UNDEFINED = (sympy.zoo, sympy.nan, sympy.oo, -sympy.oo)
rewritten = functools.lru_cache(maxsize=8)(  # sign(u) as u/abs(u), cbrt(u) as u/abs(u)**(2/3): evalf's own, and sympy
    lambda e: e.replace(sympy.sign, lambda u: u / abs(u)).replace(cbrt, lambda u: u * abs(u) ** sympy.Rational(-2, 3))
)  # cancels more in them (abs(x)*sign(x) is x, cbrt(x)**3 is x); sign and cbrt evalf substitutes into, slowly


class cbrt(sympy.Function):  # noqa: N801 (sympy writes a function by its class's name: cbrt(x))
    """The real cube root, as the language reads cbrt: sympy's cbrt(u) is u**(1/3), complex for u < 0."""

    @classmethod
    def eval(cls, u):  # a number's: exact where it can be (cbrt(-8) is -2), quick for a Float
        return sympy.sign(u) * abs(u) ** sympy.Rational(1, 3) if u.is_Number else None

    def fdiff(self, argindex=1):
        return 1 / (3 * cbrt(self.args[0]) ** 2)

    def _eval_evalf(self, prec):
        return cbrt.eval(self.args[0]._eval_evalf(prec) or self.args[0])


def formula(tree, symbols):
    """The tree as a sympy formula in symbols ({variable: sympy Symbol}), exact; tan(pi/2), undefined, refused."""

    def operate(name, *parts, special={"cbrt": cbrt, "**": exact_power}):  # noqa: B006 (read only)
        if (value := special[name](*parts) if name in special else operation(sympy, name, *parts)) not in UNDEFINED:
            return value
        raise ValueError(f"{cut(unparse((name, *(('number', str(p)) for p in parts))), 80)} is not a real number")

    return expressions.build(
        tree, symbols, lambda text: {"e": sympy.E, "pi": sympy.pi}.get(text) or sympy.Rational(text), operate
    )


def exact_power(base, exponent):
    """base**exponent, exact for numbers: ValueError where that is over EXACT_DIGITS digits, (1 + 1e-1000)**1000 or
    (x - x + 1.5)**(x - x + 10**8); 0**u is 0 where u > 0, 1 where u = 0 (as in floats and torch), else undefined."""
    digits = (abs(base.p).bit_length() + base.q.bit_length()) * 0.30103 if base.is_Rational else 0
    if exponent.is_Rational and abs(base) not in (0, 1) and digits * abs(exponent) > EXACT_DIGITS:
        what = f"{float(base):.8g}" if digits < 16 else f"an exact number of {digits:,.0f} digits"
        power = exponent if exponent.is_Integer else f"{float(exponent):.8g}"
        raise ValueError(f"the rules would compute {what} ** {power} exactly: more than {EXACT_DIGITS:,} digits")
    if base == 0 and not exponent.is_Number:
        return sympy.Piecewise((0, exponent > 0), (1, sympy.Eq(exponent, 0)), (sympy.nan, True))
    return base**exponent


def value_at(expression, symbols, values, digits=DIGITS, exact=True):
    """A sympy formula at values, to digits digits (evalf raises its precision to 5 times as cancellation eats digits;
    not exact, twice, then 0); None where not a finite real number (1/(x - 3) at 3 too); TooFar where not reached."""
    subs = {symbols[n]: sympy.Float(v or 0.0, precision=1024) for n, v in values.items()}  # a float or mpf, exactly
    try:  # Floats, not Rationals, which sign(tan(x) + sec(x)) would judge in 2 digits (wrong at x = -2221604.09)
        value = rewritten(expression).evalf(digits, subs=subs, maxn=(5 if exact else 2) * digits, strict=True)
        if not value.is_finite:  # rewritten's sign(0) is 0/0
            raise ZeroDivisionError
    except (sympy.core.evalf.PrecisionExhausted, ZeroDivisionError):  # exactly 0 (5 - x at 5), a pole, or neither
        value = expression.xreplace({s: sympy.Rational(v) for s, v in subs.items()}) if exact else sympy.Integer(0)
        value = value if value == 0 or value in UNDEFINED else value.evalf(digits, maxn=5 * digits)
        if value.is_Float and value._prec < 3 * digits:  # only bounded
            raise TooFar(f"{digits} digits of {cut(str(expression), 40)}") from None
    except (ArithmeticError, ValueError, TypeError):  # 1/0 on the way
        return None
    if not (value.is_Number and value.is_extended_real and value.is_finite):
        return None
    with mpmath.workdps(digits):
        return mpmath.mpf(sympy.Float(value, digits)._mpf_)


def reached(function, *arguments, far=None):
    """function(*arguments), or far where that raises TooFar."""
    try:
        return function(*arguments)
    except TooFar:
        return far


def defined(tree, values):
    """Whether the tree is a finite real number at values, in 60 digits (not where that is beyond reach)."""
    return reached(precise, tree, values) is not None


def shown(value, digits=8):
    """A number for the screen, as :g writes it, beyond float64 too (1.2e+434), never inf; where its exponent
    alone would be a line, as a power of 10 (10^(4.343e+999))."""
    if value is None or not value or 1e-300 < abs(value) < 1e300:
        return value if value is None else f"{float(value):.{digits}g}"
    power, sign = mpmath.log10(abs(value)), "-" * (value < 0)
    return mpmath.nstr(value, digits).replace(".0e", "e") if abs(power) < 1e8 else f"{sign}10^({mpmath.nstr(power, 4)})"


# Where a derivative exists: a finite value, and one slope from both sides
def why_undefined(tree, values):
    """Why the tree has no finite real value at values, naming the innermost step that has none."""
    for step in steps(tree):
        try:
            plain(step, values)
        except ValueError as error:
            parts, what = [plain(part, values) for part in step[1:] if isinstance(part, tuple)], cut(unparse(step), 40)
            if step[0] == "/" and parts[1] == 0:
                return f"{what} divides by 0"
            if step[0] in ("log", "sqrt") and parts[0] <= 0:
                return f"{what} needs a positive argument, and {cut(unparse(step[1]), 30)} is {parts[0]:g}"
            if step[0] == "**" and parts[0] < 0:  # (-8)**(1/3): Python's and PyTorch's **, not the real cube root
                return f"{what} is not real, as in Python and PyTorch (cbrt is the real cube root)"
            return str(error).rsplit(" at ", 1)[0]  # the point is said once, before the reason (all within 120)
    return None


def slopes(tree, values, name):
    """The one-sided slopes of the tree along name at values, (y(x) - y(x - h))/h, (y(x + h) - y(x))/h in 120 digits at
    h, h/2**33, h/2**66 taken to h = 0 by Aitken's rule (exact for L + c*h**p: x*cbrt(x)'s h**(1/3) tends to 0): (slope,
    error: its last change), None where undefined, (inf, 0) where it grows."""
    here, found, digits = precise(tree, values, 2 * DIGITS), [], 2 * DIGITS
    with mpmath.workdps(digits):
        at = {n: mpmath.mpf(v) for n, v in values.items()}
        hs = [mpmath.mpf(2) ** (-70 - 33 * i) * max(1, abs(at[name])) for i in range(3)]
        for side, there in ((s, [precise(tree, {**at, name: at[name] + s * h}, digits) for h in hs]) for s in (-1, 1)):
            if here is None or None in there:
                found.append(None)
                continue
            s1, s2, s3 = ((value - here) / (side * h) for value, h in zip(there, hs, strict=True))
            slope = s3 - (s3 - s2) ** 2 / (s1 - 2 * s2 + s3) if s1 - 2 * s2 + s3 else s3  # Aitken's
            found.append((mpmath.inf, 0) if abs(s3) > 2 * abs(s2) else (slope, abs(s3 - s2)))  # rounding's within it
    return found


def corner(left, right):
    """Whether the one-sided slopes (slope, error) differ by more than their errors and 1e-20 of their size, or grow."""
    (a, a_error), (b, b_error) = left, right
    return not mpmath.isfinite(a + b) or abs(a - b) > max(a_error + b_error, 1e-20 * max(abs(a), abs(b)))


def no_derivative(tree, values, output="y"):
    """Why the tree has no finite derivative at values, or None: it has one where it is defined on both sides and,
    at a kink step (abs(0), sqrt(0), ...), has one slope from both. TooFar where y is beyond reach there."""
    for name in values if not (reason := why_undefined(tree, values)) else ():
        left, right = slopes(tree, values, name)
        along = f" along {name}" if len(values) > 1 else ""
        if left is None and right is None:
            return f"{output} is defined{along} at this point alone, on neither side: no derivative"
        if left is None or right is None:
            return f"{output} is defined{along} only on its {'right' if left is None else 'left'}: no derivative"
        if not any(kink_steps(tree, values, precise)):  # each step smooth here: the rules' derivative is its slope
            continue
        if not (mpmath.isfinite(left[0]) and mpmath.isfinite(right[0])):
            return f"{output}'s slope{along} grows without bound: no finite derivative"
        if corner(left, right):
            slope = f"{shown(left[0], 6)} on the left, {shown(right[0], 6)} on the right"
            return f"{output} has a corner{along}: its slope is {slope}"
    return reason


def rules(expr, point, output="y"):
    """--expr's rules: {"reason" there is no derivative at point, or None; each variable: (the rules' derivative
    there, a float, nan where it is not a finite number; its formula as text)}."""
    tree, symbols = parse_expression(expr, tuple(point)), {n: sympy.Symbol(n, real=True) for n in point}
    try:
        reason = no_derivative(tree, point, output)
    except TooFar as far:
        reason = f"{output} is beyond what the lesson computes: {far} is too large"
        raise ValueError(f"at {expressions.at_point(point)}, {reason}") from None
    exact_y, found = formula(tree, symbols), {"reason": reason}
    for n in point:
        derivative = sympy.diff(exact_y, symbols[n])
        value = None if reason else reached(value_at, derivative, symbols, point, 30)
        found[n] = (float("nan") if value is None else float(value), str(derivative))
    yield found


# Your own derivative, judged in general: at points where the derivative is defined, from -1000 to 1000, and by sympy
NICE = (0.0, 0.5, 1.0, 2.0, 10.0, 1000.0)  # and their negatives: where a wrong answer is shown, if it is wrong there
GRID = sorted({s * v for v in NICE for s in (1, -1)} | {
    random.Random(3 + i).choice((-1, 1)) * round(10 ** random.Random(i).uniform(-3, 3), 6) for i in range(24)
})  # fmt: skip
DENSE = 300  # where sympy's difference is not 0 as printed: this many more points, from 1e-4 to 1e12 each side
FAR = [s * 10.0**k for k in (4, 8, 16, 32, 64, 128, 256) for s in (1, -1)]  # where yours alone is not defined far out


def judgement(expr, mine, point, name):
    """The evidence on mine (text) as the derivative of expr along name, yielded as it grows (points; sympy's
    difference, not 0: DENSE points; wrong: factored): {"points", "span", "edges", "wrong": [[point, yours (None:
    undefined), dy, yours - dy]], "holes": [[point, yours]] where y alone is undefined, "at", "right_at", ...}."""
    tree, theirs = parse_expression(expr, tuple(point)), parse_expression(mine, tuple(point))
    symbols = {n: sympy.Symbol(n, real=True) for n in point}
    yours, rules = formula(theirs, symbols), sympy.diff(formula(tree, symbols), symbols[name])
    verdict = at_points(tree, theirs, yours, rules, symbols, point)
    at = reached(value_at, yours, symbols, point) if defined(theirs, point) else None
    derivative = reached(value_at, rules, symbols, point) if defined(tree, point) else None
    right_at = derivative is not None and not compare(theirs, yours, rules, symbols, point, derivative)
    verdict |= {"at": shown(at), "right_at": right_at, "difference": None, "dense": 0, "rules": str(rules)}
    yield verdict
    difference = sympy.cancel(yours - rules)  # where not 0 as printed, nor apart at a point: rewritten, then with
    apart = any(case[1] is not None for case in verdict["wrong"]) or len(rewritten(difference).atoms(sympy.Abs)) > 4
    reduced = difference if difference == 0 or apart else sympy.cancel(rewritten(difference))  # tanh, sec ... as exp's
    difference = 0 if reduced == 0 or not apart and sympy.cancel(reduced.rewrite(sympy.exp)) == 0 else difference
    if difference != 0 and not verdict["wrong"]:  # not 0 as printed: at a few hundred points more
        dense = at_points(tree, theirs, yours, rules, symbols, point, difference)
        right_at = right_at and point not in [case[0] for case in dense["wrong"]]  # 2x(1 + 1e-100) at x = 2
        verdict |= {"wrong": dense["wrong"], "dense": dense["points"], "right_at": right_at}
    yield verdict | {"difference": str(difference)}
    powers = [abs(p.exp) for p in sympy.sympify(difference).atoms(sympy.Pow) if p.exp.is_Number]
    if verdict["wrong"] and difference != 0 and max(powers, default=0) <= 100:  # factored to read; not x**100000
        yield verdict | {"difference": str(sympy.factor(difference))}


def at_points(tree, theirs, yours, rules, symbols, point, difference=None):
    """What the points find (see judgement): along each line through point (and a second point, for two variables), at
    GRID's values, inside each edge, at each divisor's zero; given sympy's difference, at DENSE's and between kinks."""
    found, span, fill = {"points": 0, "edges": [], "wrong": [], "holes": []}, {}, difference is None
    each = DENSE // len(point) // 2
    values = GRID if fill else [s * 10 ** (16 * i / each - 4) for i in range(each) for s in (1, -1)]
    for base in [point, {n: random.Random(7 + i).choice(GRID) for i, n in enumerate(point)}][: len(point)]:
        for line in (({n: mpmath.mpf(v) for n, v in base.items()}, varied) for varied in point):
            between = [] if fill else zeros(("+", tree, theirs), line, kinks=True)  # a tent between abs's kinks
            points, edges = sample_points(tree, rules, symbols, line, values + between, fill)
            found["wrong"] += [c for p, d in points if (c := compare(theirs, yours, rules, symbols, p, d, difference))]
            found["points"], found["edges"] = found["points"] + len(points), found["edges"] + edges
            for n, v in ((n, v) for p, _ in points for n, v in p.items()):
                span[n] = (min(span.get(n, (v, v))[0], v), max(span.get(n, (v, v))[1], v))
            holes(tree, theirs, rules, symbols, line, found) if fill else None
    shown_case = lambda c: [{n: float(v) for n, v in c[0].items()}, *map(shown, c[1:])]  # noqa: E731
    cases = {str(case[0]): case for case in map(shown_case, found["wrong"])}.values()
    nice = lambda c: (any(abs(v) not in NICE for v in c[0].values()), max(map(abs, c[0].values())))  # noqa: E731
    return found | {"wrong": sorted(cases, key=nice), "span": {n: tuple(map(float, s)) for n, s in span.items()}}


def sample_points(tree, rules, symbols, line, values, fill=True):
    """([(point, the rules' derivative)] where y has one along line, (base, variable), at values; with fill, inside
    each edge of y's domain too, and between them while under 20; [(variable, each edge)]). At a kink, slopes decide."""
    (base, varied), at = line, lambda v: {**line[0], line[1]: v}

    def derivative(v):  # the rules' derivative where y is defined, else None; TooFar where 60 digits do not reach
        return value_at(rules, symbols, at(v)) if defined(tree, at(v)) else None

    def usable(v, d=None):  # the rules' derivative where y has one slope there too
        d = reached(derivative, v) if d is None else d
        return d if d is not None and smooth(tree, {**base, varied: v}, varied) else None

    values, edges = map(mpmath.mpf, sorted({*values, float(base[varied])})), []
    found = {v: d for v in values if (d := reached(derivative, v, far=False)) is not False}  # far: not an edge
    for a, b in pairwise(list(found) if fill else ()):
        if (found[a] is None) != (found[b] is None):  # an edge of y's domain: bisect to 1e-15 of it, step inside
            inside, outside = (a, b) if found[b] is None else (b, a)
            good, bad = bisect(lambda v: defined(tree, {**base, varied: v}), inside, outside, 56)
            edges.append((varied, float(bad)))
            found[good + mpmath.sign(good - bad) * mpmath.mpf(1e-12) * max(1, abs(good))] = None
    kept = {v: usable(v, d) for v, d in found.items()}
    along, closed = sorted(v for v, d in kept.items() if d is not None), set()
    while fill and 1 < len(along) < 20 and len(closed) < 40:  # a narrow domain: fill the largest gap in it
        gap = max((i for i in range(len(along) - 1) if i not in closed), key=lambda i: along[i + 1] - along[i])
        with mpmath.workdps(DIGITS):
            middle = (along[gap] + along[gap + 1]) / 2
        kept[middle] = usable(middle)
        if kept[middle] is None:  # between two pieces of it, or a kink
            closed.add(gap)
        else:
            along.insert(gap + 1, middle)
            closed = {i + (i > gap) for i in closed}
    return [({**base, varied: v}, kept[v]) for v in along], edges


def bisect(holds, a, b, times):
    """(the last value found where holds, the first where not), halving times from a, where it holds, and b."""
    with mpmath.workdps(DIGITS):
        for _ in range(times):
            middle = (a + b) / 2
            a, b = (middle, b) if holds(middle) else (a, middle)
    return a, b


def smooth(tree, point, name, everywhere=False):
    """Whether the tree has one finite slope along name at point, looked at where a step of it has a kink, or always."""
    try:
        return not (everywhere or any(kink_steps(tree, point, precise))) or not corner(*slopes(tree, point, name))
    except (TooFar, TypeError):  # TypeError: a side where it is not defined
        return False


def compare(theirs, yours, rules, symbols, point, derivative, difference=None):
    """[point, yours, the derivative, yours - it] where yours is not defined at point, or differs by over 1e-55 of their
    size in 60 digits and again in 120 (rounding's shrinks), or sympy's difference alone by 1e-115 in 120; else None."""
    at = lambda formula, digits=DIGITS, exact=True: reached(value_at, formula, symbols, point, digits, exact)  # noqa: E731
    if not defined(theirs, point):
        return [point, None, derivative, None]
    if difference is not None:
        gap = at(difference, 2 * DIGITS, False)
        if gap is None or abs(gap) <= mpmath.mpf(10) ** (5 - 2 * DIGITS) * max(abs(derivative), abs(derivative + gap)):
            return None
        return [point, at(yours), derivative, gap]
    for digits in (DIGITS, 2 * DIGITS):
        mine, derivative = at(yours, digits), derivative if digits == DIGITS else at(rules, digits)
        if mine is None or derivative is None:
            return None
        with mpmath.workdps(digits + 10):
            if abs(gap := mine - derivative) <= mpmath.mpf(10) ** (5 - DIGITS) * max(abs(mine), abs(derivative)):
                return None
    return [point, mine, derivative, gap]


def holes(tree, theirs, rules, symbols, line, found):
    """Add to found's "wrong" each zero of a divisor of yours alone, and each of FAR where yours alone is not defined,
    where y has a derivative; and to its "holes" each zero of y's alone where yours is defined."""
    (base, varied), y_zeros, your_zeros = line, zeros(tree, line), zeros(theirs, line)
    near = lambda v, others: any(abs(v - o) <= mpmath.mpf(10) ** (20 - DIGITS) * max(1, abs(v)) for o in others)  # noqa: E731
    far = [v for v in FAR if reached(precise, theirs, {**base, varied: v}, far=0) is None]
    for point in ({**base, varied: v} for v in [*(v for v in your_zeros if not near(v, y_zeros)), *far]):
        d = reached(value_at, rules, symbols, point) if smooth(tree, point, varied, everywhere=True) else None
        found["wrong"] += [[point, None, d, None]] * (d is not None)
    for point in ({**base, varied: v} for v in y_zeros if not near(v, your_zeros)):
        if defined(theirs, point):
            found["holes"].append(({n: float(x) for n, x in point.items()}, shown(precise(theirs, point))))


def zeros(tree, line, kinks=False):
    """Where a divisor of the tree (of 1/u, u**-2; tan's cos, coth's u ...) is 0 along line, at GRID's values or where
    it or a factor ((x - 3)**2's x - 3) changes sign (bisected), 4 nearest; with kinks, the middles between abs's 0s."""
    (base, varied), found, parts = line, [], {step[1]: kinks for step in steps(tree) if step[0] == "abs"}
    for step in steps(tree) if not kinks else ():  # each divisor once
        if step[0] == "/" or (step[0] == "**" and not uses(step[2]) and precise(step[2], {}) < 0):
            parts[step[2] if step[0] == "/" else step[1]] = True
        elif step[0] in ("tan", "sec", "cot", "csc", "coth", "csch"):
            parts[step[1] if step[0][-1] == "h" else ("cos" if step[0] in ("tan", "sec") else "sin", step[1])] = True
    for part in (parts := [part for part, chosen in parts.items() if chosen]):  # a factor's zero is its product's
        zero_keeping = part[0] in ("*", "/", "**", "abs", "sqrt", "cbrt") or part[0] == "-" and len(part) == 2
        parts += [p for p in part[1 : 2 + (part[0] == "*")] if p not in parts] * zero_keeping
        at = lambda v, part=part: reached(precise, part, {**base, varied: v})  # noqa: E731
        signs = [(v, at(v)) for v in map(mpmath.mpf, GRID)]
        here = [v for v, g in signs if g == 0]
        for (a, g_a), (b, g_b) in sorted(pairwise(signs), key=lambda ends: abs(ends[0][0] - base[varied])):
            if g_a and g_b and (g_a < 0) != (g_b < 0) and len(here) < 4:
                a, b = bisect(lambda v, g_a=g_a, at=at: (at(v) or 0) * g_a > 0, a, b, 150)
                here += [b] if abs(at(a) or 0) + abs(at(b) or 0) < 1e-30 * (abs(g_a) + abs(g_b)) else []
        found += here
    return [(a + b) / 2 for a, b in pairwise(sorted(found))] if kinks else found


ANSWERS = {"rules": rules, "judgement": judgement}


def serve():
    """Answer each request, pickled (name, arguments), on stdin until it closes: pickled on stdout, ("reply",
    each thing ANSWERS[name] yields) as it comes, then ("done", None); or ("refused", one line)."""
    channel, sys.stdout = sys.stdout.buffer, open(os.devnull, "w")  # a print would break the channel
    getattr(sys, "set_int_max_str_digits", lambda _: None)(0)  # exact numbers written whole: 3.10.7+ limits them
    with contextlib.suppress(ImportError, ValueError, OSError):  # POSIX: MemoryError beyond MEMORY; Windows: none
        resource = __import__("resource")
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))
    while True:
        try:
            name, arguments = pickle.load(sys.stdin.buffer)
        except EOFError:
            return
        try:
            for reply in ANSWERS[name](*arguments):
                pickle.dump(("reply", reply), channel)
                channel.flush()
            answer = ("done", None)
        except ValueError as refusal:
            answer = ("refused", str(refusal))
        except (MemoryError, RecursionError):
            answer = ("refused", f"the rules of calculus need more than the lesson allows, {MEMORY >> 20} MB")
        except Exception as error:  # a failure of the judge's: one line, not a traceback
            answer = ("refused", f"the judge failed on this expression: {type(error).__name__}; please say so")
        pickle.dump(answer, channel)
        channel.flush()


if __name__ == "__main__":
    serve()
