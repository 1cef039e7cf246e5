"""Every script and lesson function: bad input is refused with one clear line, never a traceback."""

import math
import re
import runpy

import pytest
import torch
from conftest import ROOT, SCRIPTS, script

# Each lesson function and the number inputs it takes.
FUNCTIONS = {
    "01": ("basic_autograd", ["x"]),
    "02": ("multiple_variables", ["a", "b"]),
    "03": ("gradient_accumulation", ["x"]),
    "04": ("disabling_gradients", ["x"]),
    "05": ("grad_fn_demo", ["x"]),
}
INPUTS = [(number, name) for number, (_, names) in FUNCTIONS.items() for name in names]
NOT_NUMBERS = ["2", None, True, [2.0], 2j, torch.tensor(2.0)]
NOT_FINITE_FLOAT32 = [math.nan, math.inf, -math.inf, 1e39, -1e39, 10**39, 10**400]


def _missing_devices():
    """Device names torch knows that this machine lacks (cuda on a CPU-only build, cuda:7 on one GPU, ...)."""
    accelerator = torch.accelerator.current_accelerator(check_available=True)
    here = {f"{accelerator.type}:{i}" for i in range(torch.accelerator.device_count())} if accelerator else set()
    candidates = ["cuda", "cuda:0", "cuda:7", "mps", "xpu", "meta"]
    return [d for d in candidates if f"{d}:0" not in here and d not in here]


MISSING_DEVICES = _missing_devices()


def call(number, name, value):
    function_name, _ = FUNCTIONS[number]
    return getattr(script(number), function_name)(**{name: value})


@pytest.mark.parametrize("value", NOT_NUMBERS, ids=repr)
@pytest.mark.parametrize(("number", "name"), INPUTS)
def test_a_non_number_input_raises_type_error_naming_it(number, name, value):
    with pytest.raises(TypeError, match=rf"^{name} .*{re.escape(repr(value))}"):
        call(number, name, value)


@pytest.mark.parametrize("value", NOT_FINITE_FLOAT32, ids=["nan", "inf", "-inf", "1e39", "-1e39", "10**39", "10**400"])
@pytest.mark.parametrize(("number", "name"), INPUTS)
def test_a_number_float32_cannot_hold_raises_value_error_naming_it(number, name, value):
    with pytest.raises(ValueError, match=rf"^{name} .*{re.escape(repr(value))}"):
        call(number, name, value)


@pytest.mark.parametrize("value", [0, -3, 7, 3.4e38, -3.4e38, 1e-45])
def test_ints_and_every_finite_float32_are_accepted(value):
    assert script("01").basic_autograd(value)[0].item() == pytest.approx(value, rel=1e-6, abs=1e-45)


@pytest.mark.parametrize("device", ["foo", "", "CPU", *MISSING_DEVICES])
@pytest.mark.parametrize("number", FUNCTIONS)
def test_a_device_this_machine_lacks_raises_value_error_naming_it(number, device):
    with pytest.raises(ValueError, match=rf"^device '{re.escape(device)}' is not available; this machine has cpu"):
        call(number, "device", device)


@pytest.mark.parametrize("device", [None, 0, ["cpu"]], ids=repr)
def test_a_device_that_is_not_a_name_raises_type_error(device):
    with pytest.raises(TypeError, match=r"^device must be a str or torch.device, got "):
        script("01").basic_autograd(device=device)


@pytest.mark.parametrize("device", ["cpu", torch.device("cpu")], ids=repr)
def test_device_takes_a_str_or_a_torch_device(device):
    assert script("01").basic_autograd(device=device)[0].device.type == "cpu"


BAD_OPTIONS = [
    (["--{0}", "abc"], "could not convert string to float: 'abc'"),
    (["--{0}", "nan"], "{0} must be a finite number within float32 range, got nan"),
    (["--{0}", "inf"], "{0} must be a finite number within float32 range, got inf"),
    (["--{0}=-inf"], "{0} must be a finite number within float32 range, got -inf"),
    (["--{0}", "1e39"], "{0} must be a finite number within float32 range, got 1e+39"),
    (["--{0}"], "expected one argument"),
    (["--y", "1"], "unrecognized arguments: --y 1"),
    (["extra"], "unrecognized arguments: extra"),
    (["--device", "foo"], "device 'foo' is not available; this machine has cpu"),
    *[(["--device", d], f"device '{d}' is not available; this machine has cpu") for d in MISSING_DEVICES],
]


@pytest.mark.parametrize(("args", "message"), BAD_OPTIONS, ids=lambda v: " ".join(v) if isinstance(v, list) else "")
@pytest.mark.parametrize("number", SCRIPTS)
def test_a_bad_option_exits_2_with_one_line_on_stderr(run, number, args, message):
    name = FUNCTIONS[number][1][0]
    code, out, err = run(number, *[arg.format(name) for arg in args])
    assert (code, out) == (2, "")
    expected_start = f"{SCRIPTS[number]}.py: error: "
    assert err.startswith(expected_start) and err.endswith(message.format(name) + "\n")
    assert err.count("\n") == 1


@pytest.mark.parametrize("number", SCRIPTS)
def test_help_lists_each_option_with_its_default_and_exits_0(run, number):
    code, out, err = run(number, "--help")
    assert (code, err) == (0, "")
    for name in FUNCTIONS[number][1]:
        assert re.search(rf"--{name} {name.upper()}\s.*\(default: [23]\.0\)", out)
    assert re.search(r"--device DEVICE\s.*\(default: cpu\)", out)


@pytest.mark.parametrize("number", SCRIPTS)
def test_importing_a_script_prints_nothing(capsys, number):
    runpy.run_path(str(ROOT / f"{SCRIPTS[number]}.py"), run_name="imported")
    assert capsys.readouterr() == ("", "")
