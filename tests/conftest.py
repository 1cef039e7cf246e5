"""What every test file shares: the scripts by name, the devices to run on, and running a script's __main__."""

import importlib
import runpy
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = {
    "01": "01_basic_autograd",
    "02": "02_autograd_multiple_variables",
    "03": "03_gradient_accumulation",
    "04": "04_disabling_gradients",
    "05": "05_optional_grad_fn",
}

# assert_close looks for DTensors on its first call by importing torch.distributed.tensor (PyTorch
# 2.12+, pytorch/pytorch#176895): half a second, a third of this suite's own time. No test here
# compares a DTensor, so skip the probe where this PyTorch has it; elsewhere this line does nothing.
if hasattr(torch.testing._comparison, "_HAS_DTENSOR"):
    torch.testing._comparison._HAS_DTENSOR = False

# Every device torch reports here: the lesson must give the same numbers on each, so none is skipped.
_accelerator = torch.accelerator.current_accelerator(check_available=True)
DEVICES = ["cpu"] + ([_accelerator.type] if _accelerator is not None else [])


def script(number):
    """The lesson script numbered number ("01" ... "05"), imported as a module."""
    return importlib.import_module(SCRIPTS[number])


@pytest.fixture(params=DEVICES)
def device(request):
    return request.param


@pytest.fixture
def run(capsys, monkeypatch):
    """Run a script as `python 0N_....py ARGS` would, in this process: returns (exit code, stdout, stderr)."""

    def run(number, *args):
        monkeypatch.setattr(sys, "argv", ["(set by runpy to the script's path)", *args])
        with pytest.raises(SystemExit) as exited:
            # run_module, unlike run_path, reuses the compiled script from __pycache__
            runpy.run_module(SCRIPTS[number], run_name="__main__", alter_sys=True)
        out, err = capsys.readouterr()
        return exited.value.code, out, err

    return run


def float32(value, device="cpu"):
    """A hand-derived value as the one-element float32 tensor that autograd's result is compared with."""
    return torch.tensor([value], dtype=torch.float32, device=device)


# Inputs beyond the lesson's own: negative, zero, fractional, large, and ints.
SWEEP = [-1e6, -7, -3.5, -1.5, -1, 0, 0.1, 0.5, 1, 2, 3, 12.25, 1000, 1e6]
