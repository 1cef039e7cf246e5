"""The expression language of --expr and --mine: numbers, the script's variables (x; a and b in example 2), e, pi,
+ - * / ** (or ^), parentheses and the functions of a first calculus course, in a textbook's notation too (2x,
3sin(x), x e^x, ln). The small parser below reads the text, never run as Python, into one tree: ("x",), ("number",
its text), ("-", a), (operator, a, b) or (function, a); built as torch operations, plain floats, mpmath's numbers,
or (judge.py) a sympy formula."""

import math
import operator
import re

LONGEST, DEEPEST, LARGEST_EXPONENT = 200, 30, 1024
FUNCTIONS = ("sin", "cos", "tan", "sec", "csc", "cot", "sinh", "cosh", "tanh", "sech", "csch", "coth",
             "asin", "acos", "atan", "exp", "log", "sqrt", "cbrt", "sigmoid", "abs")  # fmt: skip
CONSTANTS = ("e", "pi")
# The notation of a first course, each beside what the language reads it as: one table, no second parser
NOTATION = {"^": "**", "ln": "log", "arcsin": "asin", "arccos": "acos", "arctan": "atan"}
RECIPROCALS = {"sec": "cos", "csc": "sin", "cot": "tan", "sech": "cosh", "csch": "sinh", "coth": "tanh"}
REACH = "1e1000"  # mpmath computes exp, sin, ... of a number up to this size; beyond it, TooFar
GROWING = ("sin", "cos", "tan", "sec", "csc", "cot", "sinh", "cosh", "tanh", "sech", "csch", "coth", "exp", "sigmoid")


class TooFar(Exception):
    """A value beyond what the lesson computes: exp, sin, ... of a number beyond 1e1000 (exp(exp(x)) at x = 10)."""


def apply(module, function, u):
    """function applied to u in module (torch, math, sympy or mpmath), which name each alike but abs, sigmoid (in
    floats, a form that does not overflow), cbrt (the real cube root) and, in torch and math, sec csc cot ... coth."""
    kind = module.__name__
    if function == "abs" and kind != "torch":
        return abs(u)
    if function == "sigmoid" and kind != "torch":
        return math.exp(min(u, 0)) / (1 + math.exp(-abs(u))) if kind == "math" else 1 / (1 + module.exp(-u))
    if function == "cbrt":
        cube_root = module.cbrt(abs(u)) if kind == "mpmath" else abs(u) ** (1 / 3)
        return math.copysign(cube_root, u) if kind == "math" else module.sign(u) * cube_root
    if function in RECIPROCALS and kind in ("torch", "math"):
        return 1 / apply(module, RECIPROCALS[function], u)
    return getattr(module, function)(u)


def operation(module, name, *parts):
    """A step of a tree on its parts' values in module: a function by apply, or + - * / ** and the minus."""
    if name in FUNCTIONS:
        return apply(module, name, *parts)
    return -parts[0] if len(parts) == 1 else OPERATIONS[name](*parts)


TOKEN = re.compile(
    r"\s*(?:(\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)|([A-Za-z_]\w*)|(\*\*|[-+*/^(),]))", re.ASCII
)  # ASCII: a digit of another script (٣, ３) is not a number of the language
OPERATIONS = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv, "**": operator.pow}
FOLLOW = "{1!r} at character {2} cannot follow what comes before it"  # x 2, at the top or inside a ( )
NOT_IN_LANGUAGE = {".": "an attribute (.)", "'": "a string", '"': "a string", "[": "a [", "{": "a {", "=": "an ="}


def expression(text, variables=("x",)):
    """text if it is an expression of the language (an argparse type); otherwise ValueError naming why."""
    return parse_expression(text, variables) and text


def language(variables=("x",)):
    """What an expression may hold, for help texts."""
    names = " ".join(name + " (ln)" * (name == "log") for name in FUNCTIONS)
    return f"numbers, {' and '.join(variables)}, e, pi, + - * / ** (or ^), 2x for 2*x (1/2x: (1/2)*x), ( ) and {names}"


def parse_expression(text, variables=("x",)):
    """The tree of an expression in variables, never run as Python; ValueError names what is not in the language.
    Python's precedence, a textbook's beside it: ^ is **, 2x^2 is 2*x**2, 1/2x is (1/2)*x, e^-x is exp(-x)."""
    if not isinstance(text, str):
        raise TypeError(f"expr must be a str, got {text!r}")
    if len(text) > LONGEST:
        raise ValueError(f"the expression is {len(text)} characters long, more than {LONGEST}")
    tokens, start, end = [], 0, len(text.rstrip())  # (kind: 1 number, 2 name, 3 operator; its text; where; end)
    while start < end:
        match = TOKEN.match(text, start)
        if match is None:  # a name the language lacks says more than the character after it: __import__('os')
            unknown_names(tokens, variables, text)
            where = len(text) - len(text[start:].lstrip())
            what = NOT_IN_LANGUAGE.get(text[where], repr(text[where]))
            raise ValueError(f"{what} at character {where + 1} is not part of the language (--help lists what is)")
        kind, start, at = match.lastindex, match.end(), match.start(match.lastindex)
        names = list(match[kind]) if kind == 2 and set(match[kind]) <= set(variables) else [match[kind]]  # ab: a*b
        tokens += [(kind, NOTATION.get(name, name), at + i + 1, at + i + len(name)) for i, name in enumerate(names)]
    if not tokens:
        raise ValueError("the expression is empty")
    unknown_names(tokens, variables, text)
    tokens.append((0, "", end + 1, end))  # the end, which no rule takes
    tree, i = parse_sum(tokens, 0, 0)
    if tokens[i][0]:
        raise ValueError(FOLLOW.format(*tokens[i]))
    for part in (step for step in steps(tree) if not uses(step)):  # 1/0, log(-1); exp(1000) is a number here
        try:
            if precise(part, {}) is None:
                raise ValueError(f"{cut(unparse(part), 80)} is not a finite real number")
        except TooFar:
            raise ValueError(f"{cut(unparse(part), 80)} is beyond what the lesson computes, {REACH} and more") from None
    return tree


def unknown_names(tokens, variables, text):
    """ValueError for the first name that is not a variable, constant or function of the language, with the text as
    the learner may have meant it where the name joins two of those: x sin(x) for xsin(x), sin(x) for sinx."""
    known, alone = (*variables, *CONSTANTS, *FUNCTIONS, *NOTATION), (*variables, *CONSTANTS)
    for kind, token, where, end in tokens:
        if kind == 2 and token not in known:
            called = text[end:].lstrip().startswith("(")
            said = f"unknown {'function' if called else 'name'} {token[:20]!r}"
            head = next((w for w in alone if token.startswith(w) and token[len(w) :] in known), None)
            function = next((f for f in known if token.startswith(f) and token[len(f) :] in alone), "")
            if not head and (called or function in ("", *alone)):
                raise ValueError(
                    f"{said}: the language has {', '.join(variables)}, e, pi and the functions --help lists"
                )
            meant = [head + joint + token[len(head) :] for joint in (" ", "*")] if head else [
                f"{function}({token[len(function) :]})"]  # fmt: skip
            raise ValueError(
                f"{said}: write " + " or ".join(cut(text[: where - 1] + m + text[end:], 60) for m in meant)
            )


def parse_sum(tokens, i, depth, operators=("+", "-")):
    """(The tree of a sum of products, or with operators * and /, of a product of powers, from tokens[i]; the index
    after it). A product may be implied: a name or ( after a number, a name or ); a number after ): 2x, (x + 1)2."""
    product = operators == ("*", "/")
    below = (lambda j: parse_unary(tokens, j, depth)) if product else lambda j: parse_sum(tokens, j, depth, ("*", "/"))
    tree, i = below(i)
    while tokens[i][1] in operators or product and implied(tokens[i - 1][:2], *tokens[i][:2]):
        explicit = tokens[i][1] in operators
        right, j = below(i + explicit)
        tree, i = (tokens[i][1] if explicit else "*", tree, right), j
    return tree, i


def implied(before, kind, token):
    return (before[0] in (1, 2) or before[1] == ")") and (kind == 2 or token == "(" or kind == 1 and before[1] == ")")


def parse_unary(tokens, i, depth):
    if tokens[i][1] in ("-", "+"):
        operand, j = parse_unary(tokens, i + 1, depth)
        return (("-", operand) if tokens[i][1] == "-" else operand), j
    base, i = parse_atom(tokens, i, depth)
    if tokens[i][1] == "**":  # right to left, and tighter than a minus before it
        exponent, i = parse_unary(tokens, i + 1, depth)
        return (("exp", exponent) if base == ("number", "e") else ("**", base, exponent)), i
    return base, i


def parse_atom(tokens, i, depth):
    kind, token, where, _ = tokens[i]
    if kind == 1:  # 1e-999999999 would be a long wait for its exact value: its exponent is checked
        if abs(int(token.lower().partition("e")[2] or 0)) > LARGEST_EXPONENT:
            raise ValueError(f"{token} is written with an exponent beyond {LARGEST_EXPONENT}")
        return ("number", token), i + 1
    if kind == 0:
        raise ValueError("the expression ends too soon")
    if kind == 3 and token != "(":
        raise ValueError(f"{token!r} at character {where} stands where a number, a variable or a function should")
    if token not in FUNCTIONS and token != "(":  # a variable or a constant
        return (("number", token) if token in CONSTANTS else (token,)), i + 1
    if token != "(" and tokens[i + 1][1] != "(":
        after = tokens[i + 1][1] if tokens[i + 1][0] in (1, 2) else "..."
        raise ValueError(f"{token} needs its argument in parentheses: write {token}({after})")
    if depth >= DEEPEST:
        raise ValueError(f"parentheses are nested deeper than {DEEPEST}")
    arguments, i, opened = [], i + 1 if token == "(" else i + 2, "a (" if token == "(" else f"{token}("
    while not arguments or tokens[i][1] == ",":  # arguments separated by commas, counted to name a wrong count
        argument, i = parse_sum(tokens, i + bool(arguments), depth + 1)
        arguments.append(argument)
        if tokens[i][1] not in (",", ")"):
            unclosed = f"{opened} at character {where} is not closed by )"
            raise ValueError(FOLLOW.format(*tokens[i]) if tokens[i][0] else unclosed)
    if token == "(" and len(arguments) != 1:
        raise ValueError(f"a , at character {where} is not part of the language outside a function's ( )")
    if len(arguments) != 1:
        raise ValueError(f"{token} takes one argument, got {len(arguments)}")
    return (arguments[0] if token == "(" else (token, arguments[0])), i + 1


def unparse(tree):
    """The tree in the language's explicit form, as it was read: parentheses where Python's precedence needs them,
    and around a quotient multiplied or divided, as a reader would ((1/2)*x)."""
    return written(tree)[0]


def written(tree):
    """(The tree as text, the precedence of its outermost operation: 1 + -, 2 * /, 3 a minus, 4 **, 5 an atom)."""
    if len(tree) == 1 or tree[0] == "number":
        return tree[-1], 5
    if tree[0] in FUNCTIONS:
        return f"{tree[0]}({unparse(tree[1])})", 5
    parts = [written(part) for part in tree[1:]]
    if len(tree) == 2:
        return "-" + (parts[0][0] if parts[0][1] > 3 else f"({parts[0][0]})"), 3
    level = {"+": 1, "-": 1, "*": 2, "/": 2, "**": 4}[tree[0]]
    (left, left_level), (right, right_level) = parts
    if left_level < level or (level == 4 and left_level == 4) or (level == 2 and tree[1][0] == "/"):
        left = f"({left})"
    if right_level < level or (right_level == level and level < 4) or right_level == 3:  # x**(-2), 2*(-x)
        right = f"({right})"
    return (f"{left} {tree[0]} {right}" if level == 1 else f"{left}{tree[0]}{right}"), level


def cut(text, room):
    """text, or its start and … where it is longer than room: every printed line within 200 characters."""
    return text if len(text) <= room else text[: room - 1] + "…"


def steps(tree):
    """Every part of the tree, the innermost first, the whole last."""
    yield from (step for part in tree[1:] if isinstance(part, tuple) for step in steps(part))
    yield tree


def uses(tree):
    """Whether the tree depends on a variable."""
    return any(len(part) == 1 for part in steps(tree))


def build(tree, values, number, operate):
    """The tree computed with values ({variable: value}), numbers by number(text), steps by operate(name, *parts)."""
    if len(tree) == 1 or tree[0] == "number":
        return values[tree[0]] if len(tree) == 1 else number(tree[1])
    return operate(tree[0], *(build(part, values, number, operate) for part in tree[1:]))


def floats(text):
    """A number of the language as a plain float."""
    return getattr(math, text) if text in CONSTANTS else float(text)


def at_point(values):
    return ", ".join(f"{n} = {v:g}" for n, v in values.items())


def plain(tree, values):
    """The tree in plain floats at values; ValueError where it, or a step of it, is not a finite real number
    ((-8)**(1/3) is complex in Python: abs() does not make it real)."""

    def operate(name, *parts):
        if isinstance(value := operation(math, name, *parts), complex):
            raise ValueError
        return value

    try:
        value = build(tree, values, floats, operate)
    except (ArithmeticError, ValueError, TypeError):  # 1/0, log(0), exp(1000)
        value = math.nan
    if not math.isfinite(value):
        raise ValueError(f"{cut(unparse(tree), 80)} has no finite real value in float64 at {at_point(values)}")
    return value


def precise(tree, values, digits=60):
    """The tree in mpmath's numbers of digits digits at values; None where a step of it is not a finite real number,
    as for floats and torch. mpmath's numbers do not overflow: TooFar for exp, sin, ... of a number beyond REACH
    (its digits of pi; an exponent of a thousand digits), a power beyond e**REACH or to a whole number past 2**64."""
    import mpmath  # sympy's, which torch depends on: imported for an expression only

    def operate(name, *parts):
        power = name == "**" and parts[0]  # its size's log, and its exponent, as far as mpmath multiplies out
        size = max(abs(parts[1] * mpmath.log(abs(parts[0]))), abs(parts[1]) * reach / 2**64) if power else 0
        if max(size, name in GROWING and abs(parts[0])) > reach:
            raise TooFar(unparse((name, *(("number", mpmath.nstr(part, 3)) for part in parts))))
        value = operation(mpmath, name, *parts)
        if not isinstance(value, mpmath.mpf) or not mpmath.isfinite(value):  # log(-1), an mpc, is not real
            raise ValueError
        return value

    with mpmath.workdps(digits):
        reach, values = mpmath.mpf(REACH), {n: mpmath.mpf(v) for n, v in values.items()}
        try:
            return build(tree, values, lambda text: +getattr(mpmath, text, 0) or mpmath.mpf(text), operate)
        except (ArithmeticError, ValueError, TypeError):
            return None


def kink_steps(tree, values, evaluate=plain):
    """Each step where it has no derivative of its own, abs, sqrt or cbrt of 0, 0 to a power (not a whole one of at
    least 1), with the values of its parts there by evaluate (plain, or precise)."""
    for step in (step for step in steps(tree) if step[0] in ("abs", "sqrt", "cbrt", "**")):
        at = [evaluate(part, values) for part in step[1:]]
        smooth = step[0] == "**" and not uses(step[2]) and at[1] >= 1 and float(at[1]).is_integer()
        if at[0] == 0 and not smooth:
            yield step, at


def with_autograd(tree, leaves):
    """The tree as torch operations on leaves ({variable: tensor}, or one tensor for x), recorded by autograd; a
    part without a variable a plain number, computed in float64 by torch (exp(1000): inf)."""
    import torch

    def operate(name, *parts):
        recorded = any(isinstance(part, torch.Tensor) for part in parts)
        value = operation(torch, name, *(parts if recorded else (torch.tensor(p, dtype=torch.float64) for p in parts)))
        return value if recorded else value.item()

    leaves = leaves if isinstance(leaves, dict) else {"x": leaves}
    y = build(tree, leaves, floats, operate)
    return y if isinstance(y, torch.Tensor) else sum(t * 0 for t in leaves.values()) + y  # a constant: slope 0
