"""expressions.py, the language of --expr and --mine: parsed by its own parser, never run as Python, with
Python's precedence and a textbook's notation beside it; every input that is not an expression of the language
refused with one line naming why, and what the learner may have meant."""

import math
import re
import sys

import pytest
import torch
from conftest import ROOT, SCRIPTS, script, thorough_except

import expressions


@pytest.mark.parametrize(
    "expr",
    ["sin(x) * exp(-x/2)", "x / (1 + x**2)", "2**-x**2", "sigmoid(tanh(x))**3", "sec(x)coth(x) + atan(x)cbrt(x)"],
)
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
    names = ", ".join(variables)
    with pytest.raises(ValueError, match=rf"^unknown name '\w': the language has {names}, e, pi and the functions "):
        expressions.parse_expression(text, variables)


# A textbook's notation (issue 21): each form read as the tree its explicit form gives, and shown in that form
NOTATION = {
    "3x^2 - 2": "3*x**2 - 2", "1/2*sqrt(x)": "(1/2)*sqrt(x)", "1/2x": "(1/2)*x", "2x^2": "2*x**2",
    "-x^2": "-x**2", "e^-x": "exp(-x)", "e^x": "exp(x)", "e**x": "exp(x)", "sec(x)^2": "sec(x)**2",
    "3sin(x)": "3*sin(x)", "2(x + 1)": "2*(x + 1)", "(x + 1)(x - 1)": "(x + 1)*(x - 1)", "x(x + 1)": "x*(x + 1)",
    "2pi x": "2*pi*x", "x e^x": "x*exp(x)", "(x + 1)2": "(x + 1)*2", "x^2^3": "x**2**3", "2^-x": "2**(-x)",
    "ln(x)": "log(x)", "arcsin(x) + arccos(x) + arctan(x)": "asin(x) + acos(x) + atan(x)", "1e5x": "1e5*x",
    "15x^2 - 1": "15*x**2 - 1", "2x - sec(x)tan(x)": "2*x - sec(x)*tan(x)", "x/2/3": "(x/2)/3",
    "-7cos(cos(7x))sin(7x)": "-7*cos(cos(7*x))*sin(7*x)", "2x e^x + x^2 e^x": "2*x*exp(x) + x**2*exp(x)",
    "sinh(x)cosh(x)tanh(x)sech(x)csch(x)coth(x)": "sinh(x)*cosh(x)*tanh(x)*sech(x)*csch(x)*coth(x)",
    "csc(x) - cot(x) + cbrt(x)": "csc(x) - cot(x) + cbrt(x)", "2*-x": "2*(-x)", "x - -x": "x - (-x)",
}  # fmt: skip


@pytest.mark.parametrize("text", NOTATION)
def test_a_textbooks_notation_is_read_as_its_explicit_form_and_shown_so(text):
    tree = expressions.parse_expression(text)
    assert expressions.unparse(tree) == NOTATION[text]
    assert expressions.parse_expression(NOTATION[text]) == tree  # the reading shown reads back as the same tree


@pytest.mark.parametrize(
    ("text", "means"),
    [("2x^2", lambda x: 2 * x**2), ("-x^2", lambda x: -(x**2)), ("e^-x", lambda x: math.exp(-x)),
     ("1/2x", lambda x: x / 2), ("x e^x", lambda x: x * math.exp(x)), ("2pi x", lambda x: 2 * math.pi * x),
     ("sec(x)^2", lambda x: 1 / math.cos(x) ** 2), ("cbrt(x)", lambda x: math.copysign(abs(x) ** (1 / 3), x)),
     ("coth(x)", lambda x: 1 / math.tanh(x)), ("ln(x^2)", lambda x: math.log(x * x))],
)  # fmt: skip
def test_the_notation_means_what_a_textbook_means_by_it(text, means):
    for x in (-1.7, 0.4, 3.0):
        assert expressions.plain(expressions.parse_expression(text), {"x": x}) == pytest.approx(means(x), rel=1e-12)


@pytest.mark.parametrize(
    ("text", "message"),
    [("sin x", "sin needs its argument in parentheses: write sin(x)"),
     ("xsin(x)", "unknown function 'xsin': write x sin(x) or x*sin(x)"),
     ("2xsin(2x + 1)", "unknown function 'xsin': write 2x sin(2x + 1) or 2x*sin(2x + 1)"),
     ("sinx + 1", "unknown name 'sinx': write sin(x) + 1"), ("xe^x", "unknown name 'xe': write x e^x or x*e^x"),
     ("asinh(x)", "unknown function 'asinh': the language has x, e, pi and the functions --help lists"),
     ("x 2", "'2' at character 3 cannot follow what comes before it"),
     ("2 3", "'3' at character 3 cannot follow what comes before it"),
     ("x*\u0663", "'\u0663' at character 3 is not part of the language"),  # an Arabic-Indic 3 is no number here
     ("x*\uff13", "'\uff13' at character 3 is not part of the language")],  # nor a fullwidth 3
)  # fmt: skip
def test_a_name_or_notation_the_language_lacks_is_refused_with_what_was_meant(text, message):
    with pytest.raises(ValueError, match=f"^{re.escape(message)}"):
        expressions.parse_expression(text)


@pytest.mark.thorough  # the full matrix: -m thorough (CI runs it)
@pytest.mark.parametrize("function", expressions.FUNCTIONS)
@pytest.mark.parametrize("u", [-2.5, 0.7])
def test_each_function_means_the_same_in_torch_floats_sympy_and_mpmath(function, u):
    import mpmath
    import sympy

    from judge import cbrt  # sympy's cbrt is the principal root, complex for u < 0

    u = abs(u) if function in ("log", "sqrt") else u / 4 if function in ("asin", "acos") else u
    values = [
        expressions.apply(torch, function, torch.tensor(u, dtype=torch.float64)).item(),
        expressions.apply(math, function, u),
        float(
            cbrt(sympy.Float(u, 30)) if function == "cbrt" else expressions.apply(sympy, function, sympy.Float(u, 30))
        ),
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
    "2 3": "'3' at character 3 cannot follow what comes before it",
    "x" + "+x" * 100: "the expression is 201 characters long, more than 200",
    "(" * 31 + "x" + ")" * 31: "parentheses are nested deeper than 30",
    "9**9**9**9": "9**9**9**9 is beyond what the lesson computes, 1e1000 and more",
    "x*exp(exp(exp(10)))": "exp(exp(exp(10))) is beyond what the lesson computes",
    "x*\u0663": "'\u0663' at character 3 is not part of the language",
    "sin(x, x)": "sin takes one argument, got 2",
    "1/0 + x": "1/0 is not a finite real number",
    "log(-1)*x": "log(-1) is not a finite real number",
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
    assert "the language has a, b, e, pi and the functions --help lists" in err and err.count("\n") == 1


@pytest.mark.parametrize("option", ["--expr", "--mine"])
def test_01_refuses_mine_in_the_wrong_variable_in_one_line(run, option):
    code, out, err = run("01", f"{option}=2*a")
    assert (code, out) == (2, "")
    assert err == f"01_basic_autograd.py: error: argument {option}: unknown name 'a': the language has x, e, pi " + (
        "and the functions --help lists\n"
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
    assert parse("x * 1e-1024") and parse("x * 10**(10**10)") and parse("x * exp(exp(2302))")  # e**2302: 5.6e999
    with pytest.raises(ValueError, match=r"^exp\(exp\(2303\)\) is beyond what the lesson computes, 1e1000 and"):
        parse("x * exp(exp(2303))")  # e**2303 is 1.5e1000
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
     ("sin(2 3)", "'3' at character 7 cannot follow what comes before it"),
     ("3*(2x 1)", "'1' at character 7 cannot follow what comes before it")],
)  # fmt: skip
def test_each_refusal_names_what_and_where(text, message):
    with pytest.raises(ValueError, match=f"^{re.escape(message)}"):
        expressions.parse_expression(text)


def test_unparse_writes_the_reading_with_the_parentheses_it_needs():
    assert expressions.unparse(expressions.parse_expression("-x * sin(2 + x)")) == "-x*sin(2 + x)"
    assert (
        expressions.unparse(expressions.parse_expression("(a - b) - (a - b)**-2", ("a", "b")))
        == "a - b - (a - b)**(-2)"
    )


def test_mpmath_computes_far_out_and_stops_only_beyond_1e1000():
    import mpmath

    precise = lambda text, x: expressions.precise(expressions.parse_expression(text), {"x": x})  # noqa: E731
    assert precise("sin(x)", 1e7) == pytest.approx(math.sin(1e7), rel=1e-12)  # refused before, beyond 1e6
    assert mpmath.nstr(precise("exp(x)", 1000), 5) == "1.9701e+434"  # beyond float64, still a number
    assert precise("log(x) + sqrt(x) + abs(x)", 2e300) is not None
    assert mpmath.nstr(precise("0.5**(x + 10**8)", 2), 5) == "6.7849e-30103001"  # 2**-100000002
    with pytest.raises(expressions.TooFar):
        precise("sin(exp(x))", 2400)  # e**2400 is 1e1042: beyond 1e1000, as many digits of pi it would take


@pytest.mark.parametrize(
    ("text", "x"), [("log(x)", -1), ("abs(log(x))", -1), ("abs(sqrt(x))", -4), ("abs(x**0.5)", -4), ("asin(x)", 2),
                    ("abs((x - 2)**(1/3))", 0), ("cot(x)", 0), ("1/x", 0), ("x**-1", 0)],
)  # fmt: skip
def test_undefined_means_the_same_in_floats_mpmath_and_torch_abs_does_not_make_it_real(text, x):
    tree = expressions.parse_expression(text)
    with pytest.raises(ValueError, match="has no finite real value"):
        expressions.plain(tree, {"x": float(x)})
    assert expressions.precise(tree, {"x": x}) is None
    assert not torch.isfinite(expressions.with_autograd(tree, torch.tensor([float(x)]))).all()


def test_a_constant_beyond_float64_is_computed_as_torch_does_in_float64():
    y = expressions.with_autograd(expressions.parse_expression("exp(x + 1000)/exp(1000)"), torch.tensor([1.0]))
    assert torch.isnan(y).all()  # inf/inf in float32: the lesson says so; mpmath and sympy compute it (e**x)
    assert float(
        expressions.precise(expressions.parse_expression("exp(x + 1000)/exp(1000)"), {"x": 1})
    ) == pytest.approx(math.e)


def test_0_to_a_power_is_0_where_the_power_is_positive_1_where_it_is_0_and_nan_elsewhere_in_the_rules():
    import sympy

    from judge import exact_power

    assert exact_power(sympy.Integer(0), sympy.Integer(10**9)) == 0  # 0 to a large number: quick
    x = sympy.Symbol("x", real=True)
    assert str(exact_power(sympy.Integer(0), x)) == "Piecewise((0, x > 0), (1, Eq(x, 0)), (nan, True))"  # 0**0: 1
