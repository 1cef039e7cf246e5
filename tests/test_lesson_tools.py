"""lesson_tools.py, what the five scripts share (input checks, devices, options, the checks table), proved once."""

import math
import re
import sys
import warnings

import pytest
import torch
from conftest import MODULES, SCRIPTS, run_file, script, thorough_except

import lesson_tools as plumbing


@pytest.mark.parametrize("value", [torch.finfo(torch.float32).max, -torch.finfo(torch.float32).max, 0, -0.0])
def test_real_number_accepts_every_float32_up_to_the_largest(value):
    assert plumbing.real_number("x", value) == value


def test_real_number_refuses_the_next_float_above_float32s_largest():
    with pytest.raises(ValueError, match=r"^x must be a finite number within float32 range"):
        plumbing.real_number("x", math.nextafter(torch.finfo(torch.float32).max, math.inf))


@pytest.mark.parametrize(
    ("value", "written"), [(2.0, "2"), (0.0, "0"), (0.5, "0.5"), (-1.5, "(-1.5)"), (1e20, "1e+20")]
)
def test_num_puts_only_negatives_in_parentheses(value, written):
    assert plumbing.num(value) == written


@pytest.mark.parametrize(
    ("value", "by_hand", "agrees"),
    [
        (7.0, 7.0, True),
        (3.2000000476837158, 3.2, True),  # float32's 3.2 against the exact one
        (1e-7, 0.0, True),
        (7.0, 7.001, False),
        (0.0, 1e-4, False),
        (math.inf, 1e40, False),
        (True, True, True),
        (False, True, False),
        ("None", "None", True),
        ("MulBackward0", "AddBackward0", False),
        ([7.0, 4.5], [7.0, 4.5000001], True),  # lists, element by element
        ([7.0, 4.5], [7.0, 4.6], False),
        ([7.0], [7.0, 0.0], False),  # a list of another length
        ([[7.0, 0.0], [0.0, 9.0]], [[7.0, 0.0], [0.0, 9.0]], True),
        ([[7.0, 0.0], [0.0, 9.0]], [[7.0, 0.0], [1.0, 9.0]], False),
        ([None, None], [None, None], True),
        (7.0, [7.0], False),
    ],
)
def test_agree_compares_to_float32_precision_and_prints_one_line(capsys, value, by_hand, agrees):
    how = "forward" if isinstance(value, float) else "autograd"  # the column's name is the caller's
    assert plumbing.agree("label", value, by_hand, how) == plumbing.Check("label", agrees)
    assert bool(plumbing.agree("label", value, by_hand, how)) is agrees  # all(checks): every one agreed
    line = capsys.readouterr().out.split("\n")[0] + "\n"
    shown = [re.escape(plumbing.shown(v)) for v in (value, by_hand)]
    why = re.escape(" (inf: beyond float32's largest, 3.4e+38)") if value == math.inf else ""  # an overflow, named
    verdict = ("agree" if agrees else "DIFFER") + why
    assert re.fullmatch(rf"  label +{how} {shown[0]} +by hand {shown[1]} +{verdict}\n", line)


@pytest.mark.parametrize(
    ("value", "text"),
    [(7.0, "7"), (4.5, "4.5"), (-1e40, "-1e+40"), ([7.0, 4.5], "[7, 4.5]"), ([[1.0], []], "[[1], []]"),
     (None, "None"), (True, "True"), ("MulBackward0", "MulBackward0"), ([None, False], "[None, False]")],
)  # fmt: skip
def test_shown_writes_numbers_short_and_lists_in_brackets(value, text):
    assert plumbing.shown(value) == text


@pytest.mark.parametrize("number", SCRIPTS)
def test_help_describes_the_script_with_its_docstrings_first_line(run, number):
    _, out, _ = run(number, "--help")
    first_line = script(number).__doc__.splitlines()[0]
    assert " ".join(first_line.split()) in " ".join(out.split())


# Finding devices, on the machines learners have: simulated here by what torch's own modules answer.

NO_DRIVER = "CUDA initialization: Found no NVIDIA driver on your system. Please check that you have an NVIDIA GPU"


@pytest.fixture
def one_gpu(monkeypatch):
    """This machine as a one-GPU CUDA machine reports itself."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)


@pytest.mark.parametrize("device", ["cuda", "cuda:0", torch.device("cuda", 0), "cpu"], ids=str)
def test_on_a_one_gpu_machine_cuda_and_cuda_0_are_accepted(one_gpu, device):
    assert plumbing.usable_device(device) == torch.device(device)


@pytest.mark.parametrize("device", ["cuda:1", "cuda:7"])
def test_on_a_one_gpu_machine_another_gpu_is_refused_naming_the_one_it_has(one_gpu, device):
    message = f"device '{device}' is not available: this machine has 1 usable CUDA device, cuda:0"
    with pytest.raises(ValueError, match=rf"^{message}$"):
        plumbing.usable_device(device)


def test_on_a_two_gpu_machine_both_are_named(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert plumbing.usable_device("cuda:1") == torch.device("cuda", 1)
    with pytest.raises(ValueError, match=r"this machine has 2 usable CUDA devices, cuda:0, cuda:1$"):
        plumbing.usable_device("cuda:2")


def test_a_cuda_build_without_a_driver_refuses_cuda_in_one_line_with_torchs_reason(monkeypatch):
    def is_available():  # as a CUDA build on a laptop without an NVIDIA driver answers
        warnings.warn(NO_DRIVER, UserWarning, stacklevel=2)
        return False

    monkeypatch.setattr(torch.cuda, "is_available", is_available)
    message = f"device 'cuda' is not available: this machine has no usable CUDA device ({NO_DRIVER})"
    with pytest.raises(ValueError, match=rf"^{re.escape(message)}$"):  # the warning is kept, not shown
        plumbing.usable_device("cuda")


def test_a_build_whose_device_count_raises_has_no_usable_device(monkeypatch):
    def device_count():  # as torch.accelerator.device_count() does on 2.7's CUDA builds without a driver
        raise RuntimeError("Found no NVIDIA driver on your system.\nPlease check that ...")

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", device_count)
    assert plumbing.device_count("cuda") == (0, "Found no NVIDIA driver on your system.")
    with pytest.raises(ValueError, match=r"^device 'cuda:0' .* no usable CUDA device \(Found no NVIDIA driver"):
        plumbing.usable_device("cuda:0")


def test_on_a_mac_mps_is_the_one_apple_gpu(monkeypatch):
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert plumbing.usable_device("mps") == torch.device("mps")
    with pytest.raises(
        ValueError, match=r"^device 'mps:1' is not available: this machine has 1 usable MPS device, mps:0$"
    ):
        plumbing.usable_device("mps:1")


@pytest.mark.parametrize("kind", ["meta", "xla", "lazy"])
def test_a_kind_torch_has_no_module_for_has_no_usable_device(kind):
    assert plumbing.device_count(kind) == (0, "")


def test_the_default_cpu_never_asks_about_an_accelerator(monkeypatch, capsys):
    def asked(*args, **kwargs):
        raise AssertionError("the default device cpu must not touch an accelerator")

    for module, attribute in [
        (torch.cuda, "is_available"),
        (torch.cuda, "device_count"),
        (torch.backends.mps, "is_available"),
    ]:
        monkeypatch.setattr(module, attribute, asked)
    for attribute in ("device_count", "is_available", "current_accelerator"):  # torch.accelerator is 2.6+
        if hasattr(getattr(torch, "accelerator", None), attribute):
            monkeypatch.setattr(torch.accelerator, attribute, asked)
    for number in SCRIPTS:
        assert script(number).main([]) == 0, number
    assert "DIFFER" not in capsys.readouterr().out


@pytest.mark.parametrize("number", thorough_except([(n,) for n in SCRIPTS], [("01",)]))
def test_an_older_python_gets_one_line_saying_what_the_lesson_needs(monkeypatch, number):
    for module in MODULES:  # imported afresh, as a new Python imports them
        monkeypatch.delitem(sys.modules, module)
    monkeypatch.setattr(sys, "version_info", (3, 9, 18, "final", 0))
    with pytest.raises(SystemExit) as exited:
        run_file(f"{SCRIPTS[number]}.py")
    assert exited.value.code == "this lesson needs Python 3.10 or newer, not 3.9"


@pytest.mark.parametrize(
    ("value", "shown"),
    [(2.0, "x = 2"), (0.1, "x = 0.1"), (-3, "x = -3"), (1e-50, "x = 1e-50, 0 in float32"),
     (1e-45, "x = 1e-45, 1.4013e-45 in float32"), (16777217, "x = 1.67772e+07")],
)  # fmt: skip
def test_an_input_is_shown_as_float32_holds_it_where_that_changes_what_is_shown(value, shown):
    assert plumbing.as_float32("x", value) == shown


def test_a_number_below_float32s_smallest_becomes_0_as_the_lesson_says():
    assert torch.tensor(1e-50, dtype=torch.float32).item() == 0.0
    assert torch.tensor(1.4e-45, dtype=torch.float32).item() == torch.finfo(torch.float32).smallest_normal * 2**-23


def the_plan():
    """A plan of two lines."""
    x = 7  # fmt: skip
    print(f"tensor([{x}.])")


@pytest.mark.parametrize("checks", [[True, True], [True, False], []])
def test_run_lesson_prints_the_title_the_plans_code_and_output_then_numbered_sections_and_exits_1_on_a_differ(
    capsys, checks
):
    ran = []

    def section(args):
        """What it shows"""
        ran.append(args)
        return [plumbing.Check(f"check {i}", ok) for i, ok in enumerate(checks)]

    code = plumbing.run_lesson("Example 9", the_plan, "args", [section], [section])
    differ = [f"check {i}" for i, ok in enumerate(checks) if not ok] * 2
    ending = "all agree" if not differ else f"{len(differ)} DIFFER: {'; '.join(differ)}"
    assert capsys.readouterr().out == (
        'Example 9\n\n1. The plan\'s code, as the plan writes it\n    x = 7\n    print(f"tensor([{x}.])")\n  prints:\n'
        "    tensor([7.])\n\n2. What it shows\n\nGoing further, beyond the plan's example (as the tutorial's Optional "
        f"Reading goes beyond its own)\n\n3. What it shows\n\nSummary: {2 * len(checks)} checks, {ending}\n"
    )
    assert (code, ran) == (0 if all(checks) else 1, ["args", "args"])


def test_a_plan_that_raises_is_shown_raising_where_expected_and_raises_where_not(capsys):
    def plan():
        """Raises."""
        print("before")
        raise RuntimeError("it fails. And says more")

    plumbing.show_plan(plan, fails="the call")
    expected = "  prints:\n    before\n  then, as expected, the call raises RuntimeError:\n    it fails\n"
    assert capsys.readouterr().out.endswith(expected)
    with pytest.raises(RuntimeError, match="it fails"):
        plumbing.show_plan(plan)


@pytest.mark.parametrize(
    ("gap", "dtype", "ok"),
    [(9e-6, torch.float32, True), (2e-5, torch.float32, False), (9e-13, torch.float64, True),
     (2e-12, torch.float64, False)],
)  # fmt: skip
def test_a_gap_is_checked_against_its_floats_rounding(capsys, gap, dtype, ok):
    assert plumbing.within_rounding("w.grad vs by hand", gap, dtype) == plumbing.Check("w.grad vs by hand", ok)
    name = str(dtype).split(".")[1]
    assert re.fullmatch(rf"  w.grad vs by hand +autograd gap {gap:.2g} +within {name} rounding "
                        rf"{'agree' if ok else 'DIFFER'}\n", capsys.readouterr().out)  # fmt: skip


@pytest.mark.parametrize(("value", "limit", "ok"), [(3.5, 3.59, True), (3.59, 3.59, True), (3.6, 3.59, False)])
def test_a_row_checks_what_it_is_given_and_prints_its_verdict(capsys, value, limit, ok):
    assert plumbing.row("farthest", "descent", value, "at most", limit, value <= limit) == plumbing.Check(
        "farthest", ok
    )
    assert re.fullmatch(rf"  farthest +descent {value:g} +at most {limit:g} +{'agree' if ok else 'DIFFER'}\n",
                        capsys.readouterr().out)  # fmt: skip


def test_read_grad_catches_the_warning_reading_a_non_leafs_grad():
    x = torch.ones(1, requires_grad=True)
    assert plumbing.read_grad(x) == (None, None)
    grad, warning = plumbing.read_grad(x * 2)
    assert grad is None and "is not a leaf Tensor is being accessed" in warning


def test_the_lessons_y_and_its_derivative_by_hand_pass_gradcheck_in_float64():
    x = torch.tensor([-2.5, 0.0, 2.0, 31.0], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(plumbing.polynomial, (x,))
    (grad,) = torch.autograd.grad(plumbing.polynomial(x).sum(), x)
    torch.testing.assert_close(grad, plumbing.derivative(x.detach()))
    assert (plumbing.polynomial(2.0), plumbing.derivative(2.0)) == (11.0, 7.0)
