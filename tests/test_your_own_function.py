"""Your own function (01 and 05, --expr): any expression in x, differentiated by autograd, by the rules (sympy)
and by the central difference, against derivatives worked by hand here; and every input that is not an
expression of the language refused, parsed and never run."""

import math
import re
import sys
import time

import pytest
import torch
from conftest import ROOT, SCRIPTS, script

lesson = script("01")
BLOCK = "# Your own function, the same in 01 and 05"

# expression: (y by hand, dy/dx by hand) in plain floats; each function of the language, products,
# quotients, compositions, powers and constants
EXPRESSIONS = {
    "x**2 + 3*x + 1": (lambda x: x * x + 3 * x + 1, lambda x: 2 * x + 3),
    "sin(x)": (math.sin, math.cos),
    "cos(x)": (math.cos, lambda x: -math.sin(x)),
    "tan(x)": (math.tan, lambda x: 1 / math.cos(x) ** 2),
    "exp(x)": (math.exp, math.exp),
    "log(x)": (math.log, lambda x: 1 / x),
    "sqrt(x)": (math.sqrt, lambda x: 0.5 / math.sqrt(x)),
    "tanh(x)": (math.tanh, lambda x: 1 - math.tanh(x) ** 2),
    "sigmoid(x)": (lambda x: 1 / (1 + math.exp(-x)), lambda x: math.exp(-x) / (1 + math.exp(-x)) ** 2),
    "abs(x)": (abs, lambda x: math.copysign(1, x)),
    "sin(x) * exp(-x/2)": (
        lambda x: math.sin(x) * math.exp(-x / 2), lambda x: math.exp(-x / 2) * (math.cos(x) - math.sin(x) / 2),
    ),
    "x / (1 + x**2)": (lambda x: x / (1 + x * x), lambda x: (1 - x * x) / (1 + x * x) ** 2),
    "log(sigmoid(3*x - 1))": (lambda x: -math.log1p(math.exp(1 - 3 * x)), lambda x: 3 / (1 + math.exp(3 * x - 1))),
    "2**-x**2": (lambda x: 2 ** -(x * x), lambda x: -2 * x * math.log(2) * 2 ** -(x * x)),
    "-x**3 / 6 + 2.5": (lambda x: -(x**3) / 6 + 2.5, lambda x: -(x * x) / 2),
    "7": (lambda x: 7.0, lambda x: 0.0),
}  # fmt: skip
AT = [0.3, 1.3, 2.75]  # in every domain above, away from each function's kinks


def close(a, b, rel=1e-5):
    return math.isclose(a, b, rel_tol=rel, abs_tol=rel)


# Each expression at two x of AT in turn, the first two at each of them
CASES = [(expr, x) for i, expr in enumerate(EXPRESSIONS) for x in (AT if i < 2 else [AT[i % 3], AT[(i + 1) % 3]])]


@pytest.mark.parametrize(("expr", "x"), CASES)
def test_three_ways_agree_with_the_derivative_worked_by_hand(expr, x):
    value, slope = EXPRESSIONS[expr]
    found = lesson.derivatives(expr, x)
    at = torch.tensor(x, dtype=torch.float32).item()  # all three work at x as float32 holds it
    assert set(found) == {"value", "autograd", "symbolic", "numeric", "formula"}
    assert close(found["value"], value(at)), found
    assert close(found["symbolic"], slope(at), rel=1e-12), found  # the rules are exact: 30 digits
    assert close(found["autograd"], slope(at)), found  # float32: to about 1e-6
    assert close(found["numeric"], slope(at), rel=1e-7), found


@pytest.mark.parametrize(
    ("expr", "formula"),
    [("x**2 + 3*x + 1", "2*x + 3"), ("log(x)", "1/x"), ("sin(x)", "cos(x)"), ("abs(x)", "sign(x)"), ("7", "0"),
     ("sqrt(x)", "1/(2*sqrt(x))"), ("x**3/6", "x**2/2")],
)  # fmt: skip
def test_the_rules_give_the_derivative_as_a_formula(expr, formula):
    assert lesson.derivatives(expr, 1.5)["formula"] == formula


def test_the_defaults_are_the_lessons_y_at_2():
    found = lesson.derivatives()
    assert (found["value"], found["autograd"], found["formula"]) == (11.0, 7.0, "2*x + 3")


def test_the_expression_is_computed_on_the_device_asked_for(device):
    found = lesson.derivatives("sin(x) * x", 0.5, device)
    assert close(found["autograd"], math.sin(0.5) + 0.5 * math.cos(0.5))


@pytest.mark.parametrize("expr", ["sin(x) * exp(-x/2)", "x / (1 + x**2)", "2**-x**2", "sigmoid(tanh(x))**3"])
def test_the_built_torch_function_passes_gradcheck_in_float64(expr):
    tree = lesson.parse_expression(expr)
    x = torch.tensor([0.4, 1.1, -0.7], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: lesson.with_autograd(tree, t), (x,))


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
    assert lesson.parse_expression(text) == tree


# Where there is no finite derivative: one line saying why, exit 1

NO_DERIVATIVE = [
    ("log(x)", 0.0, "log(x) needs a positive argument, and x is 0"),
    ("log(x - 1)", 0.5, "log((x - 1)) needs a positive argument, and (x - 1) is -0.5"),
    ("sqrt(x)", 0.0, "sqrt(x) has no derivative where its argument is 0"),
    ("sqrt(x)", -2.0, "sqrt(x) needs a positive argument, and x is -2"),
    ("abs(x)", 0.0, "abs(x) has no derivative where its argument is 0"),
    ("1/x", 0.0, "(1 / x) divides by 0"),
    ("x**0.5", 0.0, "(x ** 0.5) has no derivative here: its base is 0"),
    ("exp(x)", 100.0, "y and autograd's dy/dx are not finite numbers in float32, which holds at most 3.4e+38"),
    ("exp(x*x/100)", 94.0, "autograd's dy/dx is not a finite number in float32, which holds at most 3.4e+38"),
]


@pytest.mark.parametrize(("expr", "x", "reason"), NO_DERIVATIVE)
def test_where_the_derivative_does_not_exist_or_is_not_finite_the_reason_is_named(expr, x, reason):
    with pytest.raises(lesson.NoDerivative, match=rf"^at x = {x:g}, {re.escape(reason)}$"):
        lesson.derivatives(expr, x)


@pytest.mark.parametrize("number", ["01", "05"])
def test_main_says_so_in_one_line_and_exits_1(run, number):
    code, out, err = run(number, "--expr", "log(x)", "--x", "0")
    assert (code, err) == (1, "")
    assert "at x = 0, log(x) needs a positive argument, and x is 0; nothing to " in out
    assert "Traceback" not in out and "DIFFER" not in out


def test_x_squared_at_0_is_fine_and_so_is_abs_away_from_its_kink():
    assert lesson.derivatives("x**2", 0.0)["autograd"] == 0.0
    assert lesson.derivatives("abs(x)", -0.25)["autograd"] == -1.0


# Input that is not an expression of the language


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


@pytest.mark.parametrize("text", BAD, ids=lambda text: text[:24])
def test_the_function_raises_value_error_naming_the_problem(text):
    with pytest.raises(ValueError, match=re.escape(BAD[text])):
        lesson.derivatives(text)


@pytest.mark.parametrize(
    ("number", "text"),
    [("01", text) for text in BAD] + [("05", text) for text in ("y", "x.__class__", "__import__('this')")],
    ids=str,
)
def test_main_exits_2_with_one_line_within_a_second_writing_and_importing_nothing(
    run, empty, monkeypatch, number, text
):
    monkeypatch.chdir(empty)  # where open('f') would write
    modules = set(sys.modules)
    start = time.perf_counter()
    code, out, err = run(number, f"--expr={text}")
    assert time.perf_counter() - start < 1.0
    assert (code, out) == (2, "")
    assert err == f"{SCRIPTS[number]}.py: error: argument --expr: {err.split('argument --expr: ')[1]}"
    assert BAD[text] in err and err.count("\n") == 1
    assert list(empty.iterdir()) == [] and set(sys.modules) == modules  # no file, no import ('this' neither)


# x cancels where sympy works, leaving a number to a number: refused when its exponent is beyond 1024
RULES_REFUSE = {
    "(x - x + 1.0000001)**(x - x + 10**8)": "the rules would compute 1.0000001 ** 100000000 exactly",
    "x * (x/x - 0.5)**(x - x + 2000)": "the rules would compute 0.5 ** 2000 exactly",
}


@pytest.mark.parametrize("text", RULES_REFUSE)
def test_where_x_cancels_into_a_power_too_long_to_compute_exactly_the_function_raises_value_error(text):
    start = time.perf_counter()
    with pytest.raises(ValueError, match=rf"^{re.escape(RULES_REFUSE[text])}: its exponent is beyond 1024$"):
        lesson.derivatives(text, 2.0)
    assert time.perf_counter() - start < 1.0


@pytest.mark.parametrize("number", ["01", "05"])
def test_and_main_exits_2_with_one_line(run, number):
    text = "(x - x + 1.0000001)**(x - x + 10**8)"
    code, _, err = run(number, "--expr", text)
    assert (code, err) == (2, f"{SCRIPTS[number]}.py: error: {RULES_REFUSE[text]}: its exponent is beyond 1024\n")


def test_a_power_of_1_or_a_small_exponent_is_computed():
    assert lesson.derivatives("(x/x)**(x - x + 10**8) + x", 2.0)["formula"] == "1"
    formula = lesson.derivatives("x * (x/x - 0.5)**(x - x + 1000)", 0.5)["formula"]
    assert formula == f"1/{2**1000}"  # exactly


def test_a_formula_of_more_digits_than_python_writes_out_is_written_in_floating_point():
    found = lesson.derivatives("x" + "*1e-300" * 16, 2.0)  # dy/dx = 10**-4800 exactly
    limited = hasattr(sys, "get_int_max_str_digits")  # Python 3.10.7 and newer write at most 4300 digits
    assert found["formula"] == ("1.00000000000000e-4800" if limited else f"1/{10**4800}")
    assert found["autograd"] == 0.0  # 10**-4800 is 0 in float32


def test_the_expression_is_only_parsed_never_run_as_python():
    source = (ROOT / "01_basic_autograd.py").read_text()
    block = source[source.index(BLOCK) : source.index("\ndef main(")]
    for forbidden in (
        r"\beval\(",
        r"\bexec\(",
        r"(?<!re\.)compile\(",
        "sympify",
        r"\bparse_expr\b",
        r"\bast\.",
        "lambdify",
    ):
        assert not re.search(forbidden, block), forbidden


def test_the_block_is_the_same_in_01_and_05():
    blocks = [(ROOT / f"{SCRIPTS[n]}.py").read_text() for n in ("01", "05")]
    blocks = [text[text.index(BLOCK) : text.index("\ndef main(")] for text in blocks]
    assert blocks[0] == blocks[1] and blocks[0].count("\ndef ") >= 10


def test_the_default_run_pays_nothing_for_the_expression_machinery(monkeypatch, capsys):
    for name in ("parse_expression", "derivatives"):
        monkeypatch.setattr(lesson, name, lambda *args, **kwargs: pytest.fail("the default run parsed an expression"))
    assert lesson.main([]) == 0
    assert "your own function" not in capsys.readouterr().out


# The scripts


def test_01_prints_the_three_ways_and_exits_0(run):
    code, out, err = run("01", "--expr", "sin(x) * exp(-x/2)", "--x", "1.3")
    assert (code, err) == (0, "")
    assert "Example 1, your own function on cpu: y = sin(x) * exp(-x/2)\n" in out
    assert "by the rules: dy/dx = -exp(-x/2)*sin(x)/2 + exp(-x/2)*cos(x)\n" in out
    assert re.search(r"measured: +\(y\(x \+ h\) - y\(x - h\)\) / \(2\*h\), h = 7\.87e-06: -0\.111864", out)
    assert out.count(" agree\n") == 3 and "DIFFER" not in out


def test_01_shows_the_start_of_a_formula_that_swells(run):
    code, out, _ = run("01", "--expr", "x**x**x**x**x**x**x", "--x", "0.7")
    assert code == 0
    assert re.search(r"\(\d+ characters in all, from 19 in y: the formula swells\)", out)


def test_05_draws_walks_and_compares_your_own_function(run):
    code, out, err = run("05", "--expr", "sin(x) * exp(-x/2)", "--x", "1.3")
    assert (code, err) == (0, "")
    assert out.startswith("Example 5, your own function on cpu: y = sin(x) * exp(-x/2), at x = 1.3\n")
    assert "the backward graph under y, root first:\n  MulBackward0\n" in out
    assert "  MulBackward0\n    SinBackward0\n      AccumulateGrad  (x)\n    ExpBackward0\n" in out
    assert re.search(r"  x collects 0\.139647 \+ \(-0\.251511\) = -0\.111864\n", out)
    assert "after y.backward(): x.grad = -0.11186408\n" in out
    assert "by the rules (sympy): dy/dx = -exp(-x/2)*sin(x)/2 + exp(-x/2)*cos(x) = -0.11186408 at x = 1.3\n" in out
    assert "\nchecks:\n  walk = dy/dx" in out
    assert out.count(" agree\n") == 2 and "DIFFER" not in out


@pytest.mark.parametrize("number", ["01", "05"])
def test_where_float32_loses_the_answer_the_scripts_say_differ_and_exit_1(run, number):
    # d/dx of (x/x)**(x - x + 10**8) * x is 1; in float32 the 1 is added to 1e8 and lost before -1e8 cancels it
    code, out, err = run(number, "--expr", "(x/x)**(x - x + 10**8) * x")
    assert (code, err) == (1, "")
    assert re.search(r"dy/dx +autograd 0 +rules 1 +DIFFER\n", out)


def test_05_draws_your_own_function_as_a_picture(run):
    code, out, _ = run("05", "--expr", "x * exp(x)", "--x", "0", "--graph", "mermaid")
    assert code == 0 and out.startswith("flowchart TD\n")
    assert '["x<br/>value 0<br/>grad 1"]' in out  # d(x e^x)/dx = (1 + x) e^x = 1 at 0


@pytest.mark.parametrize(("length", "shown"), [(200, 200), (201, 150)])
def test_01_prints_a_formula_of_up_to_200_characters_whole_and_a_longer_one_by_its_start(
    monkeypatch, capsys, length, shown
):
    found = {"value": 2.0, "autograd": 1.0, "symbolic": 1.0, "numeric": 1.0, "formula": "x" * length}  # y = x at 2
    monkeypatch.setattr(lesson, "derivatives", lambda expr, x, device: found)
    assert lesson.main(["--expr", "x"]) == 0
    out = capsys.readouterr().out
    assert f"by the rules: dy/dx = {'x' * shown}{' ...' if shown < length else ''}\n" in out
    assert (f"({length} characters in all, from 1 in y: the formula swells)" in out) is (shown < length)


def test_01_exits_1_where_the_three_ways_differ(monkeypatch, capsys):
    found = {"value": 1.0, "autograd": 2.0, "symbolic": 3.0, "numeric": 3.0, "formula": "3"}
    monkeypatch.setattr(lesson, "derivatives", lambda expr, x, device: found)
    assert lesson.main(["--expr", "x"]) == 1
    assert "DIFFER" in capsys.readouterr().out
