"""The judge of --expr and --mine, in a process of its own: your_function.py starts it once, asks, and stops it at a
deadline, which a thread could not do (sympy's big-integer steps hold the GIL). Here are the rules of calculus by
sympy, where the derivative exists (in mpmath's 60 digits), and your derivative judged at points and as a formula.
Run as `python judge.py`, it answers pickled requests on stdin until stdin closes.
"""

import os
import pickle
import random
import sys

import mpmath
import sympy

from expressions import (EXACT_DIGITS, cut, FUNCTIONS, TooFar, apply, arithmetic, at_point, build, kink_steps,
                         parse_expression, plain, precise, steps, unparse, uses)  # fmt: skip

DIGITS = 60  # the precision of the questions rounding must not decide; a difference must show again at twice it
MEMORY = 768 * 2**20  # this process's limit, where the OS allows one: with the lesson's own, within 1 GB


class cbrt(sympy.Function):  # noqa: N801 (sympy writes the class's name: cbrt(x))
    """The real cube root, as the language reads cbrt: sympy's cbrt(u) is u**(1/3), complex for u < 0."""

    is_real = True

    @classmethod
    def eval(cls, u):
        return sympy.real_root(u, 3) if u.is_Number else None

    def fdiff(self, argindex=1):
        return 1 / (3 * cbrt(self.args[0]) ** 2)

    def _eval_evalf(self, prec):
        u = self.args[0]._eval_evalf(prec)
        return None if u is None else sympy.real_root(u, 3)._eval_evalf(prec)


def formula(tree, symbols):
    """The tree as a sympy formula in symbols ({variable: sympy Symbol}); its numbers exact."""

    def operate(name, *parts):
        if name == "cbrt":
            return cbrt(*parts)
        return apply(sympy, name, *parts) if name in FUNCTIONS else exact_power(*parts) if name == "**" else arithmetic(name, *parts)

    return build(tree, symbols, lambda text: {"e": sympy.E, "pi": sympy.pi}.get(text) or sympy.Rational(text), operate)


def exact_power(base, exponent):
    """base**exponent in sympy, which computes a number to a number exactly: ValueError where that would be more
    than EXACT_DIGITS digits, as for a constant when parsed; sympy finds such a part where x cancels:
    (x - x + 1.5)**(x - x + 10**8). 0**u is 0 where u > 0 and undefined elsewhere, which sympy does not know."""
    if base.is_Rational and exponent.is_Rational and abs(base) not in (0, 1):
        digits = (abs(base.p).bit_length() + base.q.bit_length()) * abs(exponent) * 0.30103
        if digits > EXACT_DIGITS:
            what = f"{float(base):.8g} ** " + (str(exponent) if exponent.is_Integer else f"{float(exponent):.8g}")
            raise ValueError(f"the rules would compute {what} exactly: more than {EXACT_DIGITS:,} digits")
    if base == 0 and not exponent.is_Number:
        return sympy.Piecewise((0, exponent > 0), (sympy.nan, True))
    return base**exponent


def exact(value):
    """A float or mpmath number as sympy's exact rational."""
    value = mpmath.mpf(value)
    man, exp = value.man_exp  # of |value|
    return (-1 if value < 0 else 1) * (sympy.Rational(man * 2**exp) if exp >= 0 else sympy.Rational(man, 2**-exp))


def value_at(expression, symbols, values, digits=DIGITS):
    """A sympy formula at values, to digits digits: sympy's evalf raises its own precision (to 5 times digits)
    while cancellation eats digits, and where it can only bound the value, 0 where that is exact; None where it is
    not a finite real number, TooFar where the digits were not reached (1 - tanh(x)**2 at x = 10**4)."""
    subs = {symbols[n]: exact(v) for n, v in values.items()}
    try:
        value = expression.evalf(digits, subs=subs, maxn=5 * digits)
    except (ArithmeticError, ValueError, TypeError):  # 1/0 on the way
        return None
    if not (value.is_Number and value.is_extended_real and value.is_finite):
        return None
    if value.is_Float and value._prec < 3 * digits:  # sympy could only bound it: 0 exactly, or beyond its reach
        if expression.xreplace(subs) == 0:  # 5 - x at x = 5
            return mpmath.mpf(0)
        raise TooFar(f"{digits} digits of {text_of(expression)[:40]}")
    with mpmath.workdps(digits):
        return mpmath.mpf(sympy.Float(value, digits)._mpf_)


def defined(tree, values):
    """Whether the tree is a finite real number at values, in 60 digits (beyond what it reaches: no)."""
    try:
        return precise(tree, values) is not None
    except TooFar:
        return False


def shown(value, digits=8):
    """A number for the screen: as :g writes it, beyond float64 too (1.2e+434), never inf; where its exponent
    alone would be a line, as a power of 10 (10^(4.343e+999))."""
    if value is None or not value or 1e-300 < abs(value) < 1e300:
        return value if value is None else f"{float(value):.{digits}g}"
    power = mpmath.log10(abs(value))
    sign = "-" * (value < 0)
    return mpmath.nstr(value, digits).replace(".0e", "e") if abs(power) < 1e8 else f"{sign}10^({mpmath.nstr(power, 4)})"


# Where a derivative exists: a finite value, and one slope from both sides
def why_undefined(tree, values):
    """Why the tree has no finite real value at values, naming the innermost step that has none."""
    for step in steps(tree):
        try:
            plain(step, values)
        except ValueError as error:
            parts = [plain(part, values) for part in step[1:] if isinstance(part, tuple)]
            what = cut(unparse(step), 60)
            if step[0] == "/" and parts[1] == 0:
                return f"{what} divides by 0"
            if step[0] in ("log", "sqrt") and parts[0] <= 0:
                return f"{what} needs a positive argument, and {cut(unparse(step[1]), 40)} is {parts[0]:g}"
            if step[0] == "**" and parts[0] < 0:  # (-8)**(1/3)
                return f"{what} is not real: a negative number to a power that is not whole is not, in Python or PyTorch (cbrt is the real cube root)"
            return str(error).rsplit(" at ", 1)[0]  # the point is said once, before the reason
    return None


def slopes(tree, values, name):
    """The one-sided slopes of the tree along name at values, each (slope, its error), from (y(x) - y(x - h))/h
    and (y(x + h) - y(x))/h in 60 digits at h and at h/2**33: None where the tree is not defined on that side,
    (inf, 0) where the slope grows (the smaller h's twice the larger's). The error: what the smaller h leaves
    (the difference of the two, shrunk as h), with what rounding leaves (y's size over h, at 60 digits)."""
    here, found = precise(tree, values), []
    with mpmath.workdps(DIGITS):
        point = {n: mpmath.mpf(v) for n, v in values.items()}
        for side in (-1, 1):
            quotients, scale = [], mpmath.mpf(2) ** -70 * max(1, abs(point[name]))
            for h in (scale, scale * 2**-33):
                there = precise(tree, {**point, name: point[name] + side * h})
                quotients.append(None if there is None or here is None else (there - here) / (side * h))
            wide, narrow = quotients
            if None in quotients:
                found.append(None)
            elif abs(narrow) > 2 * abs(wide):
                found.append((mpmath.inf, 0))
            else:
                found.append((narrow, abs(wide - narrow) * 1e-8 + mpmath.mpf(10) ** (5 - DIGITS) * abs(here) / h))
    return found


def corner(left, right):
    """Whether the one-sided slopes (slope, error) differ by more than their errors and 1e-20 of their size."""
    return abs(left[0] - right[0]) > max(left[1] + right[1], 1e-20 * max(abs(left[0]), abs(right[0])))


def no_derivative(tree, values, output="y"):
    """Why the tree has no finite derivative at values; None where it has one along every variable: where it is
    defined on both sides, and at a kink step (abs(0), sqrt(0), ...) has one slope from both. TooFar where y is
    defined but beyond what the lesson computes there."""
    reason = why_undefined(tree, values)
    if reason:
        return reason
    for name in values:
        left, right = slopes(tree, values, name)
        along = f" along {name}" if len(values) > 1 else ""
        if left is None and right is None:  # a point alone
            return f"{output} is defined{along} at this point alone, on neither side: no derivative"
        if left is None or right is None:
            return f"{output} is defined{along} only on its {'right' if left is None else 'left'}: no derivative"
        if not any(kink_steps(tree, values, precise)):  # a smooth step at each: the rules' derivative is its slope
            continue
        if not (mpmath.isfinite(left[0]) and mpmath.isfinite(right[0])):
            return f"{output}'s slope{along} grows without bound: no finite derivative"
        if corner(left, right):
            slope = f"{shown(left[0], 6)} on the left, {shown(right[0], 6)} on the right"
            return f"{output} has a corner{along}: its slope is {slope}"
    return None


def rules(expr, point, output="y"):
    """--expr's rules: {"reason" there is no derivative at point, or None; each variable: (the rules' derivative
    there, as a float, nan where it is not a finite number; its formula as text)}."""
    tree = parse_expression(expr, tuple(point))
    try:
        reason = no_derivative(tree, point, output)
    except TooFar as far:
        raise ValueError(f"at {at_point(point)}, {output} is beyond what the lesson computes: {far} is too large")
    symbols = {n: sympy.Symbol(n, real=True) for n in point}
    exact_y, found = formula(tree, symbols), {"reason": reason}
    for n in point:
        derivative = sympy.diff(exact_y, symbols[n])
        value = reached(value_at, derivative, symbols, point, 30) if not reason else None
        found[n] = (float("nan") if value is None else float(value), text_of(derivative))
    yield found


def text_of(expression):
    try:
        return str(expression)
    except ValueError:  # a number of more digits than Python writes out (x*1e-300*...*1e-300): in floating point
        return str(expression.evalf(15))


# Your own derivative, judged in general: at points where the derivative is defined, from -1000 to 1000, and by sympy
NICE = (0.0, 0.5, 1.0, 2.0, 10.0, 1000.0)  # and their negatives: where a wrong answer is shown, if it is wrong there
GRID = sorted({s * v for v in NICE for s in (1, -1)} | {
    random.Random(3 + i).choice((-1, 1)) * round(10 ** random.Random(i).uniform(-3, 3), 6) for i in range(24)
})  # fmt: skip
DENSE = 300  # where sympy's difference is not 0 as printed: this many more points, from 1e-4 to 1e12 each side


def lines(point):
    """The lines the points lie along, (a point, the variable that varies): through point along each variable,
    and for two variables through a second point too."""
    second = {n: random.Random(7 + i).choice(GRID) for i, n in enumerate(point)}
    bases = [point, second] if len(point) > 1 else [point]
    return [({n: mpmath.mpf(x) for n, x in base.items()}, varied) for base in bases for varied in point]


def sample_points(tree, rules, symbols, line, values, fill=True):
    """([(point, the rules' derivative there)] where y has a derivative along line, (base, variable): at values,
    and with fill, just inside each edge of the domain, and between those where fewer than 20; the edges,
    [(variable, where)]). Points are {variable: mpmath number}; at a kink step (abs(0)) the one-sided slopes decide."""
    base, varied = line

    def derivative(v):  # the rules' derivative where y is defined, else None; TooFar where 60 digits do not reach
        point = {**base, varied: v}
        return value_at(rules, symbols, point) if defined(tree, point) else None

    def usable(v):  # and where y has one slope there
        d = reached(derivative, v)
        return d if d is not None and smooth(tree, {**base, varied: v}, varied) else None

    found, edges = {}, []
    for v in map(mpmath.mpf, sorted(set(values) | {float(base[varied])})):
        try:
            found[v] = derivative(v)
        except TooFar:  # left out: neither a point nor an edge
            pass
    with mpmath.workdps(DIGITS):
        for a, b in zip(list(found), list(found)[1:]) if fill else ():
            if (found[a] is None) != (found[b] is None):  # an edge between a and b: bisect to it, then step inside
                good, bad = (a, b) if found[b] is None else (b, a)
                for _ in range(56):  # to 1e-15 of it: the step inside is 1e-12
                    middle = (good + bad) / 2
                    good, bad = (middle, bad) if reached(derivative, middle) is not None else (good, middle)
                edges.append((varied, float(bad)))
                found[good + mpmath.sign(good - bad) * mpmath.mpf(1e-12) * max(1, abs(good))] = True
        along, closed = sorted(v for v in found if found[v] is not None and usable(v) is not None), set()
        while fill and 1 < len(along) < 20 and len(closed) < 40:  # a narrow domain: fill the largest gap in it
            gap = max((i for i in range(len(along) - 1) if i not in closed), key=lambda i: along[i + 1] - along[i])
            middle = (along[gap] + along[gap + 1]) / 2
            if usable(middle) is None:  # a gap between two pieces of it, or a kink
                closed.add(gap)
            else:
                along.insert(gap + 1, middle)
                closed = {i + (i > gap) for i in closed}
    return [({**base, varied: v}, usable(v)) for v in along], edges


def reached(function, *arguments):
    """function(*arguments), or None where that raises TooFar."""
    try:
        return function(*arguments)
    except TooFar:
        return None


def smooth(tree, point, name):
    """Whether the tree has one slope along name at point, where a step of it has a kink (abs(0), sqrt(0))."""
    try:
        return not any(kink_steps(tree, point, precise)) or not corner(*slopes(tree, point, name))
    except (TooFar, TypeError):  # TypeError: a side where it is not defined
        return False


def compare(theirs, yours, rules, symbols, point, derivative):
    """[point, yours, the derivative, yours - it] where yours differs from the derivative at point, else None.
    Differs: not defined there, or a difference of more than 1e-55 of their size that shows in 60 digits and
    again in 120 (rounding's shrinks). Where sympy cannot reach 60 digits of yours, no difference is seen."""
    if not defined(theirs, point):
        return [point, None, derivative, None]
    for digits in (DIGITS, 2 * DIGITS):
        mine = reached(value_at, yours, symbols, point, digits)
        derivative = derivative if digits == DIGITS else reached(value_at, rules, symbols, point, digits)
        if mine is None or derivative is None:
            return None
        with mpmath.workdps(digits + 10):
            gap = mine - derivative
            if abs(gap) <= mpmath.mpf(10) ** (5 - DIGITS) * max(abs(mine), abs(derivative)):
                return None
    return [point, mine, derivative, gap]


def divisors(tree):
    """The parts of tree that leave it undefined where they are 0: what a step divides by (1/u, u**-2), the cos
    of tan and sec, the sin of cot and csc, the argument of coth and csch."""
    for step in steps(tree):
        if step[0] == "/" or (step[0] == "**" and not uses(step[2]) and precise(step[2], {}) < 0):
            yield step[2] if step[0] == "/" else step[1]
        elif step[0] in ("tan", "sec", "cot", "csc", "coth", "csch"):
            yield ("cos" if step[0] in ("tan", "sec") else "sin", step[1]) if step[0][-1] != "h" else step[1]


def zeros(tree, line, values):
    """Where a divisor of tree is 0 along line, (base, variable): at one of values, or where it changes sign
    between two, bisected to 60 digits (and not a pole: 1/x changes sign too). At most 8 of each."""
    base, varied = line
    found = []
    for part in divisors(tree):
        at = lambda v, part=part: precise(part, {**base, varied: v}) if defined(part, {**base, varied: v}) else None  # noqa: E731
        signs = [(v, at(v)) for v in map(mpmath.mpf, sorted(values))]
        here = [v for v, g in signs if g == 0]
        with mpmath.workdps(DIGITS):
            for (a, g_a), (b, g_b) in zip(signs, signs[1:]):
                if g_a and g_b and (g_a < 0) != (g_b < 0) and len(here) < 8:
                    ends = abs(g_a) + abs(g_b)
                    for _ in range(200):
                        middle = (a + b) / 2
                        g = at(middle)
                        if g is None or g == 0:
                            break
                        a, g_a, b, g_b = (middle, g, b, g_b) if (g < 0) == (g_a < 0) else (a, g_a, middle, g)
                    if g is not None and (g == 0 or abs(g_a) + abs(g_b) < 1e-30 * ends):
                        here.append(middle)
        found += here
    return found


def judgement(expr, mine, point, name):
    """--mine's judge of mine (text) as the derivative of expr along name: yields its verdict as it grows, first
    from the points, then with sympy's difference reduced, then more reduced. The verdict: {"right": True, False
    or None (undecided), "points", "span" {variable: (least, most)}, "edges", "wrong": [[point, yours, the
    derivative, yours - it]] (None where yours is not defined), "holes": [[point, yours]] where y alone is not
    defined, "at": yours at point, "difference": sympy's yours - the derivative, "dense", "rules"}."""
    tree, theirs = parse_expression(expr, tuple(point)), parse_expression(mine, tuple(point))
    symbols = {n: sympy.Symbol(n, real=True) for n in point}
    yours, rules = formula(theirs, symbols), sympy.diff(formula(tree, symbols), symbols[name])
    verdict = at_points(tree, theirs, yours, rules, symbols, point)
    at = reached(value_at, yours, symbols, point) if defined(theirs, point) else None
    derivative = reached(value_at, rules, symbols, point) if defined(tree, point) else None
    right_at = derivative is not None and not compare(theirs, yours, rules, symbols, point, derivative)
    verdict |= {"at": shown(at), "right_at": right_at, "difference": None, "dense": 0, "rules": text_of(rules)}
    yield decided(verdict)
    difference = sympy.cancel(yours - rules)
    if difference != 0 and sympy.cancel(difference.rewrite(sympy.exp)) == 0:  # tanh, sec ... as exp: 0
        difference = sympy.Integer(0)
    verdict["difference"] = text_of(difference)
    if difference != 0 and not verdict["wrong"]:  # not 0 as printed: at a few hundred points more
        dense = at_points(tree, theirs, yours, rules, symbols, point, fill=False)
        verdict |= {"wrong": dense["wrong"], "dense": dense["points"]}
    yield decided(verdict)
    powers = [p.exp for p in difference.atoms(sympy.Pow) if p.exp.is_Number] + [0]
    if difference != 0 and not (verdict["wrong"] and max(map(abs, powers)) > 100):  # (x**100000 + 1): not factor()
        # factored for reading where yours is wrong, or by simplify(), which may find 0 where cancel() did not
        verdict["difference"] = text_of(sympy.factor(difference) if verdict["wrong"] else sympy.simplify(yours - rules))
        yield decided(verdict)


def decided(verdict):
    """verdict with "right": False where yours differs, None (undecided) at fewer than 20 points, or while sympy's
    difference is not known and not 0 until more points agree; else True."""
    settled = verdict["difference"] == "0" or verdict["dense"]
    right = False if verdict["wrong"] else None if verdict["points"] < 20 or not settled else True
    return {**verdict, "right": right}


def at_points(tree, theirs, yours, rules, symbols, point, fill=True):
    """What the points find: {"points", "span", "edges", "wrong", "holes"} (see judgement), along each line at
    GRID's values, its edges and zeros of divisors (with fill), or at DENSE's."""
    found = {"points": 0, "span": {}, "edges": [], "wrong": [], "holes": []}
    for line in lines(point):
        values = GRID if fill else [s * 10 ** (16 * i / (DENSE // len(point) // 2) - 4) for i in range(DENSE // len(point) // 2) for s in (1, -1)]
        points, edges = sample_points(tree, rules, symbols, line, values, fill)
        found["wrong"] += [case for p, d in points if (case := compare(theirs, yours, rules, symbols, p, d))]
        found["points"], found["edges"] = found["points"] + len(points), found["edges"] + edges
        for p, _ in points:
            for n, v in p.items():
                least, most = found["span"].get(n, (v, v))
                found["span"][n] = (min(least, v), max(most, v))
        if fill:
            holes(tree, theirs, rules, symbols, line, found)
    found["wrong"] = sorted({str(case[0]): case for case in map(shown_case, found["wrong"])}.values(), key=readable)
    found["span"] = {n: (float(least), float(most)) for n, (least, most) in found["span"].items()}
    return found


def holes(tree, theirs, rules, symbols, line, found):
    """Add to found's "wrong" each zero of a divisor of yours alone where the derivative is defined (yours is
    not), and to its "holes" each of y's alone where yours is defined (the derivative is not)."""
    base, varied = line
    y_zeros, your_zeros = zeros(tree, line, GRID), zeros(theirs, line, GRID)
    near = lambda v, others: any(abs(v - o) <= mpmath.mpf(10) ** (20 - DIGITS) * max(1, abs(v)) for o in others)  # noqa: E731
    for v in your_zeros:
        point = {**base, varied: v}
        if near(v, y_zeros) or not defined(tree, point) or not smooth(tree, point, varied):
            continue
        if (derivative := reached(value_at, rules, symbols, point)) is not None:
            found["wrong"].append([point, None, derivative, None])
    for v in y_zeros:
        point = {**base, varied: v}
        if not near(v, your_zeros) and defined(theirs, point):
            found["holes"].append(({n: float(x) for n, x in point.items()}, shown(precise(theirs, point))))


def shown_case(case):
    point, *values = case
    return [{n: float(v) for n, v in point.items()}, *(shown(v) for v in values)]


def readable(case):
    """Where a difference is easiest to read first: at the lesson's NICE values, then nearest 0."""
    return any(abs(v) not in NICE for v in case[0].values()), max(map(abs, case[0].values()))


ANSWERS = {"rules": rules, "judgement": judgement}


def serve():
    """Answer each request, pickled (name, arguments), on stdin until it closes: each reply pickled on stdout,
    ("reply", what ANSWERS[name] yields) as it comes, then ("done", None), or ("refused", one line)."""
    channel, sys.stdout = sys.stdout.buffer, open(os.devnull, "w")  # a print would break the channel
    try:
        import resource  # POSIX: a process that would outgrow MEMORY gets MemoryError instead

        resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))
    except (ImportError, ValueError, OSError):
        pass
    while True:
        try:
            name, arguments = pickle.load(sys.stdin.buffer)
        except EOFError:
            return
        try:
            for reply in ANSWERS[name](*arguments):
                pickle.dump(("reply", reply), channel)
                channel.flush()
            pickle.dump(("done", None), channel)
        except ValueError as refusal:
            pickle.dump(("refused", str(refusal)), channel)
        except (MemoryError, RecursionError):
            pickle.dump(("refused", f"the rules of calculus need more than this lesson allows ({MEMORY >> 20} MB)"), channel)
        except Exception as error:  # a failure of the judge's, said in one line rather than a traceback
            pickle.dump(("refused", f"the judge failed on this expression ({type(error).__name__}): please report it"), channel)
        channel.flush()


if __name__ == "__main__":
    serve()
