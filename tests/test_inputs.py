"""Bad input is refused with one clear line, never a traceback: by every lesson function and every script.

The checks live once, in lesson_tools.py, so each list of bad values runs in full on 01, and every function
and script is shown to apply them.
"""

import inspect
import math
import re
import sys

import pytest
import torch
from conftest import ROOT, SCRIPTS, run_file, script, thorough_except

import lesson_tools

# Every lesson function that takes an input, with each number input it takes.
FUNCTIONS = [
    ("01", "basic_autograd", "x"),
    ("01", "central_difference", "x"),
    ("01", "central_difference", "h"),
    ("01", "three_xs", "x"),
    ("01", "several_outputs", "x"),
    ("01", "several_outputs_without_gradient", "x"),
    ("01", "vector_jacobian", "x"),
    ("01", "jacobian", "x"),
    ("01", "running_sum", "x"),
    ("02", "multiple_variables", "a"),
    ("02", "multiple_variables", "b"),
    ("02", "gradients_returned", "a"),
    ("02", "gradients_returned", "b"),
    ("02", "second_derivative", "a"),
    ("02", "second_derivative", "b"),
    ("02", "second_derivative_without_create_graph", "a"),
    ("02", "second_derivative_without_create_graph", "b"),
    ("02", "train_tutorial_model", "lr"),
    ("02", "train_tutorial_model", "steps"),
    ("01", "derivatives", "x"),
    ("05", "derivatives", "x"),
    ("02", "partial_derivatives", "a"),
    ("02", "partial_derivatives", "b"),
    ("05", "recorded_steps", "x"),
    ("03", "gradient_accumulation", "x"),
    ("03", "plan_as_written", "x"),
    ("03", "batch_in_halves", "x"),
    ("03", "two_resets", "x"),
    ("03", "adds_in_place", "x"),
    ("03", "descend", "x"),
    ("03", "descend", "lr"),
    ("03", "descend", "steps"),
    ("04", "disabling_gradients", "x"),
    ("04", "other_ways", "x"),
    ("04", "what_no_grad_leaves_alone", "x"),
    ("04", "detach_shares_storage", "x"),
    ("04", "inference_tensor_saved", "x"),
    ("04", "inference_tensor_added", "x"),
    ("04", "update_under_no_grad", "x"),
    ("04", "update_under_no_grad", "lr"),
    ("04", "frozen_parameter", "lr"),
    ("04", "update_in_place_recorded", "x"),
    ("04", "update_in_place_recorded", "lr"),
    ("04", "update_by_assignment", "x"),
    ("04", "update_by_assignment", "lr"),
    ("04", "frozen_parameter", "x"),
    ("05", "grad_fn_demo", "x"),
    ("05", "non_leaf_gradient", "x"),
    ("05", "leaves_by_definition", "x"),
    ("05", "parameter_made_by_an_operation", "x"),
    ("05", "version_counter", "x"),
    ("05", "change_after_backward", "x"),
]
OPTIONS = {"01": "x", "02": "a", "03": "x", "04": "x", "05": "x"}  # each script's first option
NOT_NUMBERS = ["2", None, True, [2.0], 2j, torch.tensor(2.0)]
NOT_FINITE_FLOAT32 = [math.nan, math.inf, -math.inf, 1e39, -1e39, 10**39, 10**400]


def refusal(device):
    """What usable_device says of a device this machine lacks; None for one it has."""
    try:
        lesson_tools.usable_device(device)
    except ValueError as error:
        return str(error)
    return None


# Device names torch knows that this machine lacks: cuda on a CPU-only build, cuda:7 on one GPU, ...
MISSING_DEVICES = [d for d in ["cuda", "cuda:0", "cuda:99", "mps", "xpu", "meta"] if refusal(d)]
UNKNOWN = "is not a device torch knows (cpu, cuda, cuda:1, mps, ...)"
basic_autograd = script("01").basic_autograd


@pytest.mark.parametrize("value", NOT_NUMBERS, ids=repr)
def test_a_non_number_input_raises_type_error_naming_it(value):
    with pytest.raises(TypeError, match=rf"^x must be an int or float, got {re.escape(repr(value))}$"):
        basic_autograd(value)


@pytest.mark.parametrize("value", NOT_FINITE_FLOAT32, ids=["nan", "inf", "-inf", "1e39", "-1e39", "10**39", "10**400"])
def test_a_number_float32_cannot_hold_raises_value_error_naming_it(value):
    with pytest.raises(
        ValueError, match=rf"^x must be a finite number within float32 range, got {re.escape(repr(value))}$"
    ):
        basic_autograd(value)


@pytest.mark.parametrize("value", [0, -3, 7, 3.4e38, -3.4e38, 1e-45])
def test_ints_and_every_finite_float32_are_accepted(value):
    assert basic_autograd(value)[0].item() == pytest.approx(value, rel=1e-6, abs=1e-45)


@pytest.mark.parametrize("device", ["foo", "", "CPU", "cuda:x"])
def test_a_device_name_torch_does_not_know_raises_value_error_naming_it(device):
    with pytest.raises(ValueError, match=rf"^device '{re.escape(device)}' {re.escape(UNKNOWN)}$"):
        basic_autograd(device=device)


@pytest.mark.parametrize("device", MISSING_DEVICES)
def test_a_device_this_machine_lacks_raises_value_error_naming_it(device):
    kind = device.split(":")[0].upper()
    with pytest.raises(ValueError, match=rf"^device '{device}' is not available: this machine has .*{kind} device"):
        basic_autograd(device=device)


@pytest.mark.parametrize("device", [None, 0, ["cpu"]], ids=repr)
def test_a_device_that_is_not_a_name_raises_type_error(device):
    with pytest.raises(TypeError, match=r"^device must be a str or torch.device, got "):
        basic_autograd(device=device)


@pytest.mark.parametrize("device", ["cpu", torch.device("cpu")], ids=repr)
def test_device_takes_a_str_or_a_torch_device(device):
    assert basic_autograd(device=device)[0].device.type == "cpu"


def test_every_lesson_function_starts_from_the_lessons_own_input():
    defaults = {"x": 2.0, "a": 2.0, "b": 3.0}  # the plan's x = 2, a = 2, b = 3
    found = {(n, f, i): inspect.signature(getattr(script(n), f)).parameters[i].default for n, f, i in FUNCTIONS}
    assert {case: value for case, value in found.items() if case[2] in defaults and value != defaults[case[2]]} == {}


FIRST_OF_EACH_SCRIPT = list({case[0]: case for case in reversed(FUNCTIONS)}.values())  # the default run keeps these


@pytest.mark.parametrize(("number", "function", "name"), thorough_except(FUNCTIONS, FIRST_OF_EACH_SCRIPT))
def test_every_lesson_function_refuses_a_bad_input_and_a_missing_device_naming_them(number, function, name):
    call = getattr(script(number), function)
    with pytest.raises(TypeError, match=rf"^{name} must be an int or float, got '2'$"):
        call(**{name: "2"})
    with pytest.raises(ValueError, match=rf"^{name} must be a finite number within float32 range, got nan$"):
        call(**{name: math.nan})
    if "device" in inspect.signature(call).parameters:
        with pytest.raises(ValueError, match=rf"^device 'foo' {re.escape(UNKNOWN)}$"):
            call(device="foo")


@pytest.mark.parametrize("function", ["tutorial_tensors", "tutorial_model"])  # their one input, seed: test_02
def test_the_functions_without_a_number_input_refuse_a_device_naming_it(function):
    with pytest.raises(ValueError, match=rf"^device 'foo' {re.escape(UNKNOWN)}$"):
        getattr(script("02"), function)(device="foo")


BAD_OPTIONS = [
    (["--{0}", "abc"], "argument --{0}: could not convert string to float: 'abc'"),
    (["--{0}", "nan"], "argument --{0}: {0} must be a finite number within float32 range, got nan"),
    (["--{0}", "inf"], "argument --{0}: {0} must be a finite number within float32 range, got inf"),
    (["--{0}=-inf"], "argument --{0}: {0} must be a finite number within float32 range, got -inf"),
    (["--{0}", "1e39"], "argument --{0}: {0} must be a finite number within float32 range, got 1e+39"),
    (["--{0}"], "argument --{0}: expected one argument"),
    (["--y", "1"], "unrecognized arguments: --y 1"),
    (["extra"], "unrecognized arguments: extra"),
    (["--device", "foo"], f"argument --device: device 'foo' {UNKNOWN}"),
    *[(["--device", d], f"argument --device: {refusal(d)}") for d in MISSING_DEVICES],
]
# In every script: one bad number, one unknown option, one device it lacks (cuda:99, on any machine).
EACH_SCRIPT = [(number, BAD_OPTIONS[i]) for number in SCRIPTS for i in (1, 6, 9 + MISSING_DEVICES.index("cuda:99"))]
ALL_ON_01 = [("01", bad) for bad in BAD_OPTIONS]


@pytest.mark.parametrize(
    ("number", "bad"),
    thorough_except(ALL_ON_01, []) + EACH_SCRIPT,
    ids=lambda v: " ".join(v[0]) if isinstance(v, tuple) else v,
)
def test_a_bad_option_exits_2_with_one_line_on_stderr(run, number, bad):
    args, message = bad
    name = OPTIONS[number]
    code, out, err = run(number, *[arg.format(name) for arg in args])
    assert (code, out) == (2, "")
    assert err == f"{SCRIPTS[number]}.py: error: {message.format(name)}\n"  # one line, no traceback


def test_02_checks_its_second_option_too(run):
    code, _, err = run("02", "--b", "nan")
    message = "argument --b: b must be a finite number within float32 range, got nan"
    assert (code, err) == (2, f"02_autograd_multiple_variables.py: error: {message}\n")


@pytest.mark.parametrize("number", SCRIPTS)
def test_help_lists_each_option_with_its_default_and_exits_0(run, number):
    code, out, err = run(number, "--help")
    assert (code, err) == (0, "")
    for name in ("a", "b") if number == "02" else ("x",):
        assert re.search(rf"--{name} {name.upper()}\s.*\(default: [23]\.0\)", out)
    assert re.search(r"--device DEVICE\s.*\(default: cpu\)", out)


@pytest.mark.parametrize("number", SCRIPTS)
def test_importing_a_script_prints_nothing(capsys, number):
    run_file(f"{SCRIPTS[number]}.py", run_name="imported")
    assert capsys.readouterr() == ("", "")


def test_uv_takes_the_best_version_from_either_index_as_pip_does():
    # uv's default takes numpy from PyTorch's index alone, which lacks the pinned release (tests/uv_indexes.py)
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert re.search(r'^\[tool\.uv\.pip\]\n(?:#[^\n]*\n)*index-strategy = "unsafe-best-match"$', pyproject, re.M)
    assert "uv pip install -r requirements.txt" in (ROOT / "README.md").read_text()


# Every name the README showed, or the tests imported, from each script before what the scripts share moved
# into modules: still there, for a learner's code that uses them.
NAMES = {
    "01": "basic_autograd vector_jacobian running_sum polynomial central_difference several_outputs jacobian three_xs "
    "several_outputs_without_gradient main derivatives parse_expression with_autograd NoDerivative usable_device "
    "shown real_number device_count num agree",
    "02": "tutorial_tensors train_tutorial_model multiple_variables tutorial_model tutorial_loss product "
    "tutorial_by_hand second_derivative main gradients_returned train_by_hand second_derivative_without_create_graph "
    "dc_db dc_da d2c_da2",
    "03": "descend batch_in_halves gradient_accumulation BATCH plan_as_written descent_by_hand adds_in_place "
    "whole_number two_resets batch_loss MINIMUM polynomial main batch_slope",
    "04": "disabling_gradients update_under_no_grad other_ways frozen_parameter update_in_place_recorded "
    "update_by_assignment main inference_tensor_added grad_mode_around_no_grad detach_shares_storage "
    "what_no_grad_leaves_alone triple_untracked inference_tensor_saved TARGET LR DATA",
    "05": "backward_graph grad_fn_demo chain_rule_by_hand saved_for_backward recorded_steps polynomial "
    "non_leaf_gradient main leaf_by_definition input_shapes version_counter tensor_text summed_to_input "
    "parameter_made_by_an_operation leaves_by_definition change_after_backward call_by_hand derivatives",
}


@pytest.mark.parametrize("number", SCRIPTS)
def test_each_script_still_gives_every_name_it_gave(number):
    assert [name for name in NAMES[number].split() if not hasattr(script(number), name)] == []


# practice.py's options: each bad value is one line and exit status 2, as in the scripts
PRACTICE_BAD_OPTIONS = [
    (["--example", "6"], "argument --example: example must be a whole number from 1 to 5, got 6"),
    (["--example", "1.5"], "argument --example: example must be a whole number from 1 to 5, got 1.5"),
    (["--example", "one"], "argument --example: could not convert string to float: 'one'"),
    (["--questions", "0"], "argument --questions: questions must be a whole number from 1 to 100, got 0"),
    (["--questions", "nan"], "argument --questions: questions must be a finite number within float32 range, got nan"),
    (["--seed", "-1"], "argument --seed: seed must be a whole number from 0 to 1000000000, got -1"),
    (["--seed"], "argument --seed: expected one argument"),
    (["extra"], "unrecognized arguments: extra"),
]


@pytest.mark.parametrize(
    ("args", "message"),
    thorough_except(PRACTICE_BAD_OPTIONS, PRACTICE_BAD_OPTIONS[::3]),
    ids=lambda v: " ".join(v) if isinstance(v, list) else "",
)
def test_practice_refuses_a_bad_option_with_one_line_and_exit_2(capsys, monkeypatch, args, message):
    import practice

    monkeypatch.setattr(sys, "argv", [str(ROOT / "practice.py"), *args])  # argparse's prog
    with pytest.raises(SystemExit) as exited:
        practice.main(args)
    assert (exited.value.code, capsys.readouterr()) == (2, ("", f"practice.py: error: {message}\n"))
