"""The expression language of --expr and --mine: numbers, the script's variables (x; a and b in example 2),
+ - * / **, parentheses and a few functions. The text is read by the small parser below, never run as Python,
into one tree: ("x",) for a variable, ("number", its text), ("-", a), (operator, a, b) or (function, a). The
tree is then built as the lesson needs: torch operations for autograd, a sympy formula for the rules of
calculus, plain floats for the central difference, mpmath's 60-digit numbers where rounding must not decide.
"""

import math
import operator
import re

import torch

LONGEST, DEEPEST, LARGEST_EXPONENT = 200, 30, 1024
FUNCTIONS = ("sin", "cos", "tan", "exp", "log", "sqrt", "tanh", "sigmoid", "abs")


def apply(module, function, u):
    """function applied to u from module (torch, math, sympy or mpmath), which name each alike, but for abs
    (Python's serves all) and sigmoid (1/(1 + exp(-u)); in floats, a form that does not overflow)."""
    if module is not torch and function in ("abs", "sigmoid"):
        if function == "abs":
            return abs(u)
        return math.exp(min(u, 0)) / (1 + math.exp(-abs(u))) if module is math else 1 / (1 + module.exp(-u))
    return getattr(module, function)(u)


TOKEN = re.compile(r"\s*(?:(\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)|([A-Za-z_]\w*)|(\*\*|[-+*/(),]))")
OPERATIONS = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv, "**": operator.pow}
FOLLOW = "{1!r} at character {2} cannot follow what comes before it"  # 2x, at the top or inside a ( )
NOT_IN_LANGUAGE = {".": "an attribute (.)", "'": "a string", '"': "a string", "[": "a [", "{": "a {", "=": "an ="}


def expression(text, variables=("x",)):
    """text if it is an expression of the language (an argparse type); otherwise ValueError naming why."""
    parse_expression(text, variables)
    return text


def language(variables=("x",)):
    """What an expression may hold, for help texts and errors."""
    return f"numbers, {' and '.join(variables)}, + - * / **, parentheses and {', '.join(FUNCTIONS)}"


def parse_expression(text, variables=("x",)):
    """The tree of an expression in variables, with Python's precedence (-x**2 is -(x**2), 2**-x is
    2**(-x)). It is only parsed, never run as Python; ValueError names what is not in the language."""
    if not isinstance(text, str):
        raise TypeError(f"expr must be a str, got {text!r}")
    if len(text) > LONGEST:
        raise ValueError(f"the expression is {len(text)} characters long, more than {LONGEST}")
    tokens, end = [], len(text.rstrip())  # (kind: 1 number, 2 name, 3 operator; its text; where it starts)
    while (tokens[-1][3] if tokens else 0) < end:
        start = tokens[-1][3] if tokens else 0
        match = TOKEN.match(text, start)
        if match is None:  # a name the language lacks says more than the character after it: __import__('os')
            unknown_names(tokens, variables)
            where = len(text) - len(text[start:].lstrip())
            what = NOT_IN_LANGUAGE.get(text[where], repr(text[where]))
            raise ValueError(f"{what} at character {where + 1} is not part of the language: {language(variables)}")
        tokens.append((match.lastindex, match[match.lastindex], match.start(match.lastindex) + 1, match.end()))
    if not tokens:
        raise ValueError("the expression is empty")
    unknown_names(tokens, variables)
    tree, rest = parse_sum(tokens, 0)
    if rest:
        raise ValueError(FOLLOW.format(*rest[0]))
    constant_value(tree)
    return tree


def unknown_names(tokens, variables):
    """ValueError for the first name that is neither a variable nor a function of the language."""
    for i, (kind, token, _, _) in enumerate(tokens):
        if kind == 2 and token not in variables and token not in FUNCTIONS:
            called = i + 1 < len(tokens) and tokens[i + 1][1] == "("
            what = "function" if called else "name"
            raise ValueError(f"unknown {what} {token!r}: the language has {language(variables)}")


def parse_sum(tokens, depth, operators=("+", "-")):
    """A sum of products (or, with operators * and /, a product of powers), read left to right."""
    below = parse_unary if operators == ("*", "/") else lambda t, d: parse_sum(t, d, ("*", "/"))
    tree, tokens = below(tokens, depth)
    while tokens and tokens[0][1] in operators:
        right, rest = below(tokens[1:], depth)
        tree, tokens = (tokens[0][1], tree, right), rest
    return tree, tokens


def parse_unary(tokens, depth):
    if tokens and tokens[0][1] in ("-", "+"):
        operand, rest = parse_unary(tokens[1:], depth)
        return (("-", operand) if tokens[0][1] == "-" else operand), rest
    base, tokens = parse_atom(tokens, depth)
    if tokens and tokens[0][1] == "**":  # right to left, and tighter than a minus before it
        exponent, tokens = parse_unary(tokens[1:], depth)
        return ("**", base, exponent), tokens
    return base, tokens


def parse_atom(tokens, depth):
    if not tokens:
        raise ValueError("the expression ends too soon")
    (kind, token, where, _), rest = tokens[0], tokens[1:]
    if kind == 1:  # 1e-999999999 would be a long wait for its exact value: its exponent is checked
        if abs(int(token.lower().partition("e")[2] or 0)) > LARGEST_EXPONENT:
            raise ValueError(f"{token} is written with an exponent beyond {LARGEST_EXPONENT}")
        return ("number", token), rest
    if kind == 3 and token != "(":
        raise ValueError(f"{token!r} at character {where} stands where a number, a variable or a function should")
    called = token == "(" or (bool(rest) and rest[0][1] == "(")
    if token not in FUNCTIONS and token != "(":  # a variable
        if called:
            raise ValueError(f"{token} is not a function")
        return (token,), rest
    if not called:
        raise ValueError(f"{token} needs its argument in parentheses, as {token}(x)")
    if depth >= DEEPEST:
        raise ValueError(f"parentheses are nested deeper than {DEEPEST}")
    arguments, rest, opened = [], rest if token == "(" else rest[1:], "a (" if token == "(" else f"{token}("
    while not arguments or rest[0][1] == ",":  # arguments separated by commas, counted to name a wrong count
        argument, rest = parse_sum(rest[1:] if arguments else rest, depth + 1)
        arguments.append(argument)
        if not rest or rest[0][1] not in (",", ")"):
            raise ValueError(FOLLOW.format(*rest[0]) if rest else f"{opened} at character {where} is not closed by )")
    if token == "(" and len(arguments) != 1:
        raise ValueError(f"a , at character {where} is not part of the language outside a function's ( )")
    if len(arguments) != 1:
        raise ValueError(f"{token} takes one argument, got {len(arguments)}")
    return (arguments[0] if token == "(" else (token, arguments[0])), rest[1:]


def constant_value(tree):
    """The value of a part without a variable (None for one with): ValueError where it is not a finite number,
    or its exponent is too large to compute exactly (9**9**9**9), as the rules of calculus would."""
    values = [constant_value(part) for part in tree[1:] if isinstance(part, tuple)]
    if len(tree) == 1 or None in values:
        return None
    if tree[0] == "**" and abs(values[1]) > LARGEST_EXPONENT:
        raise ValueError(f"{unparse(tree)} is too large to compute exactly: its exponent is beyond {LARGEST_EXPONENT}")
    try:
        return plain(tree, {})
    except ValueError:
        raise ValueError(f"{unparse(tree)} is not a finite number") from None


def unparse(tree):
    """The tree written back as text, each operation in parentheses."""
    if len(tree) == 1 or tree[0] == "number":
        return tree[-1]
    if tree[0] in FUNCTIONS:
        return f"{tree[0]}({unparse(tree[1])})"
    return f"(-{unparse(tree[1])})" if len(tree) == 2 else f"({unparse(tree[1])} {tree[0]} {unparse(tree[2])})"


def steps(tree):
    """Every part of the tree, the innermost first, the whole last."""
    for part in tree[1:]:
        if isinstance(part, tuple):
            yield from steps(part)
    yield tree


def build(tree, values, number, function, power=operator.pow):
    """The tree computed with values ({variable: its value}): each number made by number(its text), each
    function applied as function(name, u), each ** as power(base, exponent)."""
    if len(tree) == 1:
        return values[tree[0]]
    if tree[0] == "number":
        return number(tree[1])
    parts = [build(part, values, number, function, power) for part in tree[1:]]
    if tree[0] in FUNCTIONS:
        return function(tree[0], parts[0])
    if tree[0] == "**":
        return power(*parts)
    return -parts[0] if len(parts) == 1 else OPERATIONS[tree[0]](*parts)


def at_point(values):
    return ", ".join(f"{n} = {v:g}" for n, v in values.items())


def plain(tree, values):
    """The tree in plain floats at values; ValueError where that is not a finite real number."""
    try:
        value = build(tree, values, float, lambda name, u: apply(math, name, u))
    except (ArithmeticError, ValueError, TypeError):  # 1/0, log(0), exp(1000), a complex number met by sin
        value = math.nan
    if isinstance(value, complex) or not math.isfinite(value):  # (-8)**(1/3) is complex in Python
        raise ValueError(f"{unparse(tree)} has no finite real value in float64 at {at_point(values)}")
    return value


def precise(tree, values):
    """The tree in mpmath's numbers at values, to mpmath's working precision; None where that is not a finite
    real number. The caller sets the precision (mpmath.mp.dps) and passes values as mpmath numbers. mpmath's
    numbers do not overflow, so a part that would take too long is refused: exp, sin, ... of more than 1e6 (the
    one beyond any use here, the other needing as many digits of pi), a power beyond exp(1e6)."""
    import mpmath  # sympy's, which torch depends on: imported for an expression only

    def function(name, u):
        if name not in ("log", "sqrt", "abs") and abs(u) > 1e6:
            raise OverflowError
        return apply(mpmath, name, u)

    def power(base, exponent):
        if base != 0 and abs(exponent * mpmath.log(abs(base))) > 1e6:
            raise OverflowError
        return base**exponent

    try:
        value = build(tree, values, mpmath.mpf, function, power)
    except (ArithmeticError, ValueError, TypeError):
        return None
    return value if isinstance(value, mpmath.mpf) and mpmath.isfinite(value) else None


def exact_power(base, exponent):
    """base**exponent in sympy, which computes a number to a number exactly: ValueError where that would take
    long, as for a constant when parsed; sympy finds such a part where x cancels: (x - x + 1.5)**(x - x + 10**8).
    0**u is 0 where u > 0 and has no derivative elsewhere, which sympy's 0**u does not know by itself."""
    import sympy

    if base.is_Number and exponent.is_Number and abs(base) not in (0, 1) and abs(exponent) > LARGEST_EXPONENT:
        too_large = f"its exponent is beyond {LARGEST_EXPONENT}"  # as the parser says of a constant
        raise ValueError(f"the rules would compute {float(base):.8g} ** {exponent} exactly: {too_large}")
    if base == 0 and not exponent.is_Number:
        return sympy.Piecewise((0, exponent > 0), (sympy.nan, True))
    return base**exponent


def formula(tree, symbols):
    """The tree as a sympy formula in symbols ({variable: sympy Symbol})."""
    import sympy

    return build(tree, symbols, sympy.Rational, lambda f, u: apply(sympy, f, u), exact_power)


def with_autograd(tree, leaves):
    """The tree as torch operations on leaves ({variable: tensor}, or one tensor for x), recorded by
    autograd; a part without a variable in plain floats."""
    leaves = leaves if isinstance(leaves, dict) else {"x": leaves}
    y = build(tree, leaves, float, lambda f, u: apply(torch if isinstance(u, torch.Tensor) else math, f, u))
    return y if isinstance(y, torch.Tensor) else sum(t * 0 for t in leaves.values()) + y  # a constant: slope 0
