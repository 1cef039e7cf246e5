"""expressions.py, the language of --expr and --mine: parsed by its own parser, never run as Python, with
Python's precedence; every input that is not an expression of the language refused with one line naming why."""

import math
import re
import sys

import pytest
import torch
from conftest import ROOT, SCRIPTS, script, thorough_except

import expressions


@pytest.mark.parametrize("expr", ["sin(x) * exp(-x/2)", "x / (1 + x**2)", "2**-x**2", "sigmoid(tanh(x))**3"])
def test_the_built_torch_function_passes_gradcheck_in_float64(expr):
    tree = expressions.parse_expression(expr)
    x = torch.tensor([0.4, 1.1, -0.7], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: expressions.with_autograd(tree, t), (x,))


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        ("-x**2", ("-", ("**", ("x",), ("number", "2")))),
        ("2**-x", ("**", ("number", "2"), ("-", ("x",)))),
        ("x**2**3", ("**", ("x",), ("**", ("number", "2"), ("number", "3")))),
        ("1 - x - 2", ("-", ("-", ("number", "1"), ("x",)), ("number", "2"))),
        ("x / 2 * 3", ("*", ("/", ("x",), ("number", "2")), ("number", "3"))),
        ("+sin((x))", ("sin", ("x",))),
    ],
)  # fmt: skip
def test_the_parser_follows_pythons_precedence(text, tree):
    assert expressions.parse_expression(text) == tree


@pytest.mark.parametrize(
    ("text", "variables", "tree"),
    [("a**2 * b", ("a", "b"), ("*", ("**", ("a",), ("number", "2")), ("b",))), ("x", ("x",), ("x",))],
)
def test_the_variables_are_the_scripts_inputs(text, variables, tree):
    assert expressions.parse_expression(text, variables) == tree


@pytest.mark.parametrize(("text", "variables"), [("2*a", ("x",)), ("x*b", ("a", "b")), ("y", ("x",))])
def test_a_name_that_is_not_one_of_the_variables_is_refused_naming_the_variables_there_are(text, variables):
    names = " and ".join(variables)
    with pytest.raises(ValueError, match=rf"^unknown name '\w': the language has numbers, {names}, \+ - \* / \*\*, "):
        expressions.parse_expression(text, variables)


@pytest.mark.thorough  # the full matrix: -m thorough (CI runs it)
@pytest.mark.parametrize("function", expressions.FUNCTIONS)
@pytest.mark.parametrize("u", [-2.5, 0.7])
def test_each_function_means_the_same_in_torch_floats_sympy_and_mpmath(function, u):
    import mpmath
    import sympy

    if function in ("log", "sqrt") and u < 0:
        u = -u
    values = [
        expressions.apply(torch, function, torch.tensor(u, dtype=torch.float64)).item(),
        expressions.apply(math, function, u),
        float(expressions.apply(sympy, function, sympy.Float(u, 30))),
        float(expressions.apply(mpmath, function, mpmath.mpf(u))),
    ]
    assert values == pytest.approx([values[0]] * 4, rel=1e-12)


def test_sigmoid_in_plain_floats_does_not_overflow_far_from_0():
    assert expressions.apply(math, "sigmoid", -1000.0) == 0.0
    assert expressions.apply(math, "sigmoid", 1000.0) == 1.0


@pytest.fixture(scope="module")
def empty(tmp_path_factory):
    return tmp_path_factory.mktemp("empty")


BAD = {
    "y": "unknown name 'y'",
    "os": "unknown name 'os'",
    "x.__class__": "an attribute (.) at character 2 is not part of the language",
    "__import__('this')": "unknown function '__import__'",
    "open('f')": "unknown function 'open'",
    "lambda x: x": "unknown name 'lambda'",
    "[x for x in range(3)]": "a [ at character 1 is not part of the language",
    "'x'": "a string at character 1 is not part of the language",
    "": "the expression is empty",
    "x +": "the expression ends too soon",
    "2x": "'x' at character 2 cannot follow what comes before it",
    "x" + "+x" * 100: "the expression is 201 characters long, more than 200",
    "(" * 31 + "x" + ")" * 31: "parentheses are nested deeper than 30",
    "9**9**9**9": "(9 ** (9 ** 9)) is too large to compute exactly",
    "10**10**10": "(10 ** (10 ** 10)) is too large to compute exactly",
    "sin(x, x)": "sin takes one argument, got 2",
    "1/0 + x": "(1 / 0) is not a finite number",
    "x(2)": "x is not a function",
    "x * 1e-999999999": "1e-999999999 is written with an exponent beyond 1024",
    "0e99999 + x": "0e99999 is written with an exponent beyond 1024",
}


DEFAULT_RUN = ("y", "x.__class__", "__import__('this')", "9**9**9**9", "x * 1e-999999999")  # the rest: -m thorough


@pytest.mark.parametrize(
    ("number", "text"),
    thorough_except([("01", text) for text in BAD], [("01", text) for text in DEFAULT_RUN])
    + thorough_except([("05", text) for text in DEFAULT_RUN], [("05", text) for text in DEFAULT_RUN[1:3]]),
    ids=str,
)
def test_main_exits_2_with_one_line_writing_and_importing_nothing(run, empty, monkeypatch, number, text):
    monkeypatch.chdir(empty)  # where open('f') would write
    script(number)  # imported before: what the run imports is what is counted
    modules = set(sys.modules)
    code, out, err = run(number, f"--expr={text}")
    assert (code, out) == (2, "")
    assert err == f"{SCRIPTS[number]}.py: error: argument --expr: {err.split('argument --expr: ')[1]}"
    assert BAD[text] in err and err.count("\n") == 1
    assert list(empty.iterdir()) == [] and set(sys.modules) == modules  # no file, no import ('this' neither)


@pytest.mark.parametrize("option", ["--expr", "--mine-a", "--mine-b"])
def test_02_refuses_a_bad_expression_of_a_and_b_in_one_line(run, option):
    code, out, err = run("02", f"{option}=x*a")
    assert (code, out) == (2, "")
    assert err.startswith(f"02_autograd_multiple_variables.py: error: argument {option}: unknown name 'x': ")
    assert "the language has numbers, a and b, " in err and err.count("\n") == 1


@pytest.mark.parametrize("option", ["--expr", "--mine"])
def test_01_refuses_mine_in_the_wrong_variable_in_one_line(run, option):
    code, out, err = run("01", f"{option}=2*a")
    assert (code, out) == (2, "")
    assert err == f"01_basic_autograd.py: error: argument {option}: unknown name 'a': the language has " + (
        f"{expressions.language()}\n"
    )


@pytest.mark.parametrize("module", ["expressions.py", "your_function.py"])
def test_the_expression_is_only_parsed_never_run_as_python(module):
    source = (ROOT / module).read_text()
    for forbidden in (
        r"\beval\(",
        r"\bexec\(",
        r"(?<!re\.)compile\(",
        "sympify",
        r"\bparse_expr\b",
        r"\bast\.",
        "lambdify",
    ):
        assert not re.search(forbidden, source), forbidden


# What the mutants of expressions.py showed untested: each limit at its edge, each refusal's own words


def test_each_limit_holds_at_its_edge_and_refuses_just_beyond():
    parse = expressions.parse_expression
    assert parse("10*x" + "+x" * 98) and parse("(" * 30 + "x" + ")" * 30) == ("x",)  # 200 characters; 30 deep
    assert parse("x * 1e-1024") and parse("x * 1**1024")
    with pytest.raises(ValueError, match=r"^\(1 \*\* 1025\) is too large to compute exactly"):
        parse("x * 1**1025")
    for beyond, message in [("x" + "+x" * 100, "201 characters long"), ("(" * 31 + "x" + ")" * 31, "deeper than 30"),
                            ("x * 1e-1025", "1e-1025 is written with an exponent beyond 1024")]:  # fmt: skip
        with pytest.raises(ValueError, match=re.escape(message)):
            parse(beyond)


@pytest.mark.parametrize(
    ("text", "message"),
    [("*x", "'*' at character 1 stands where a number, a variable or a function should"),
     ("sin(x", "sin( at character 1 is not closed by )"), ("(x + 1", "a ( at character 1 is not closed by )"),
     ("sin(x, x, x)", "sin takes one argument, got 3"), ("2 * foo", "unknown name 'foo'"),
     ("foo(x)", "unknown function 'foo'"), ("x 25", "'25' at character 3 cannot follow what comes before it"),
     ("sin(2x)", "'x' at character 6 cannot follow what comes before it"),
     ("3*(2x + 1)", "'x' at character 5 cannot follow what comes before it")],
)  # fmt: skip
def test_each_refusal_names_what_and_where(text, message):
    with pytest.raises(ValueError, match=f"^{re.escape(message)}"):
        expressions.parse_expression(text)


def test_unparse_writes_each_operation_in_parentheses():
    assert expressions.unparse(expressions.parse_expression("-x * sin(2 + x)")) == "((-x) * sin((2 + x)))"


def test_mpmath_refuses_exp_or_a_power_beyond_1e6_but_computes_log_and_sqrt_there(monkeypatch):
    import mpmath

    monkeypatch.setattr(mpmath.mp, "dps", 60)
    precise = lambda text, x: expressions.precise(expressions.parse_expression(text), {"x": mpmath.mpf(x)})  # noqa: E731
    assert precise("exp(x)", 1e6) is not None and precise("exp(x)", 1e6 + 0.5) is None
    assert precise("log(x) + sqrt(x) + abs(x)", 2e6) is not None
    beyond = mpmath.e ** mpmath.mpf(500000.25)  # x**2 there is exp(1e6 + 0.5)
    assert precise("x**2", beyond) is None and precise("x**2", beyond / mpmath.e) is not None


def test_0_to_a_power_is_0_where_the_power_is_positive_and_nan_elsewhere_in_the_rules():
    import sympy

    assert expressions.exact_power(sympy.Integer(0), sympy.Integer(10**9)) == 0  # 0 to a large number: quick
    x = sympy.Symbol("x", real=True)
    assert str(expressions.exact_power(sympy.Integer(0), x)) == "Piecewise((0, x > 0), (nan, True))"
