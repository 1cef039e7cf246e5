"""The plumbing block at the end of each script (input checks, options, comparison) is the same in all five,
so its behaviour is proved once, on 01, and its sameness in every script."""

import math
import re

import pytest
import torch
from conftest import ROOT, SCRIPTS, script

MARKER = "# Plumbing, the same in each script of the lesson"
plumbing = script("01")


def test_every_script_ends_with_the_same_plumbing_block():
    blocks = {number: (ROOT / f"{name}.py").read_text().partition(MARKER)[2] for number, name in SCRIPTS.items()}
    assert blocks["01"].count("\ndef ") >= 5
    assert all(block == blocks["01"] for block in blocks.values())


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
    ("autograd", "by_hand", "agrees"),
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
    ],
)
def test_agree_compares_to_float32_precision_and_prints_one_line(capsys, autograd, by_hand, agrees):
    assert plumbing.agree("label", autograd, by_hand) is agrees
    line = capsys.readouterr().out
    shown = [f"{v:g}" if isinstance(v, float) else str(v) for v in (autograd, by_hand)]
    expected = (
        rf"  label +autograd {re.escape(shown[0])} +by hand {re.escape(shown[1])} +{'agree' if agrees else 'DIFFER'}\n"
    )
    assert re.fullmatch(expected, line)


@pytest.mark.parametrize("number", SCRIPTS)
def test_help_describes_the_script_with_its_docstrings_first_line(run, number):
    _, out, _ = run(number, "--help")
    first_line = script(number).__doc__.splitlines()[0]
    assert " ".join(first_line.split()) in " ".join(out.split())


@pytest.fixture
def one_gpu(monkeypatch):
    """This machine as a one-GPU CUDA machine would report itself."""
    monkeypatch.setattr(torch.accelerator, "device_count", lambda: 1)
    monkeypatch.setattr(torch.accelerator, "current_accelerator", lambda check_available=False: torch.device("cuda"))


@pytest.mark.parametrize("device", ["cuda", "cuda:0", torch.device("cuda", 0), "cpu"], ids=str)
def test_on_a_one_gpu_machine_cuda_and_cuda_0_are_accepted(one_gpu, device):
    assert plumbing.usable_device(device) == torch.device(device)


@pytest.mark.parametrize("device", ["cuda:1", "cuda:7", "mps", "xpu:0"])
def test_on_a_one_gpu_machine_other_devices_are_refused_with_what_it_has(one_gpu, device):
    with pytest.raises(ValueError, match=rf"^device '{device}' is not available; this machine has cpu, cuda:0$"):
        plumbing.usable_device(device)
