"""What every test file shares: the scripts by name, the devices to run on, and running a script's __main__."""

import importlib
import runpy
import sys
import warnings
from pathlib import Path

import pytest

if sys.version_info < (3, 10):  # noqa: UP036 (ruff's target is 3.10): one line, as the scripts say it
    pytest.exit("the lesson and its tests need Python 3.10 or newer", returncode=4)

# PyTorch may warn as it loads: "Failed to initialize NumPy" where NumPy is missing or one it was not built
# against is installed. That is the teacher's environment, not the lesson: let it show in the warnings
# summary instead of stopping the run. The lesson's own warnings stay errors (pyproject.toml).
with warnings.catch_warnings():
    warnings.simplefilter("default")
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
# compares a DTensor, so turn the probe off. torch.testing._comparison._HAS_DTENSOR is private: checked
# on 2.12.1 to 2.15.0; releases without it (2.11 and older) skip this, and so would one that drops it.
if hasattr(torch.testing._comparison, "_HAS_DTENSOR"):
    torch.testing._comparison._HAS_DTENSOR = False


def script(number):
    """The lesson script numbered number ("01" ... "05"), imported as a module."""
    return importlib.import_module(SCRIPTS[number])


# Every device this machine can compute on, found as the scripts find it: the lesson must give the same
# numbers on each, so none is skipped.
DEVICES = ["cpu"] + [kind for kind in ("cuda", "mps", "xpu") if script("01").device_count(kind)[0]]


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
