"""05_optional_grad_fn: y.grad_fn is AddBackward0 (the last "+ 1"), x.grad_fn is None."""

import pytest
import torch
from conftest import SWEEP, float32, script
from torch.testing import assert_close

lesson = script("05")


def test_y_grad_fn_is_add_backward_and_x_grad_fn_is_none(device):
    x, y = lesson.grad_fn_demo(device=device)
    assert type(y.grad_fn).__name__ == "AddBackward0"
    assert x.grad_fn is None and x.is_leaf


def test_no_backward_has_run_yet():
    x, _ = lesson.grad_fn_demo()
    assert x.grad is None


def test_the_graph_under_y_is_add_of_add_of_pow_and_mul():
    _, y = lesson.grad_fn_demo()
    (inner, _), (constant, _) = y.grad_fn.next_functions
    assert constant is None  # the "+ 1" has no graph behind it
    assert [type(node).__name__ for node, _ in inner.next_functions] == ["PowBackward0", "MulBackward0"]


@pytest.mark.parametrize("v", SWEEP)
def test_backward_through_the_graph_gives_2x_plus_3(v, device):
    x, y = lesson.grad_fn_demo(v, device)
    assert_close(y.detach(), float32(v**2 + 3 * v + 1, device))
    y.backward()
    assert_close(x.grad, float32(2 * v + 3, device))


def test_polynomial_backward_passes_gradcheck_in_float64():
    x = torch.tensor([2.0], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lesson.polynomial, (x,))


def test_calling_twice_builds_a_fresh_graph_each_time():
    (x1, y1), (x2, y2) = lesson.grad_fn_demo(), lesson.grad_fn_demo()
    assert x1 is not x2 and y1.grad_fn is not y2.grad_fn
    assert y1.item() == y2.item() == 11.0


def test_main_names_the_nodes_and_exits_0(run):
    code, out, err = run("05")
    assert (code, err) == (0, "")
    assert "y = 11   y.grad_fn = AddBackward0 " in out
    assert "x.grad_fn = None " in out
    assert "0x" not in out  # class names, not reprs with addresses
    assert out.count(" agree\n") == 3 and "DIFFER" not in out
