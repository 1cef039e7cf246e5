"""01_basic_autograd: y = x**2 + 3*x + 1, so dy/dx = 2*x + 3 (7 at x = 2) and y = 11."""

import itertools
import math
import re

import pytest
import torch
from conftest import PLAN_CODE, SWEEP, float32, plan_code, plan_output, script, thorough_except
from torch.testing import assert_close

lesson = script("01")


def test_gradient_is_7_and_y_is_11_at_the_lessons_x_of_2():
    x, y = lesson.basic_autograd()
    assert x.grad.item() == 7.0
    assert y.item() == 11.0


def test_x_is_a_float32_leaf_of_shape_1_that_requires_grad_and_y_has_a_grad_fn(device):
    x, y = lesson.basic_autograd(device=device)
    assert (x.dtype, x.shape, x.is_leaf, x.requires_grad, x.grad_fn) == (torch.float32, (1,), True, True, None)
    assert (y.shape, y.requires_grad, type(y.grad_fn).__name__) == ((1,), True, "AddBackward0")
    assert x.device.type == torch.device(device).type


@pytest.mark.parametrize("v", SWEEP)
def test_gradient_equals_2x_plus_3_and_y_equals_the_polynomial(v, device):
    x, y = lesson.basic_autograd(v, device)
    assert_close(x.grad, float32(2 * v + 3, device))
    assert_close(y.detach(), float32(v**2 + 3 * v + 1, device))


@pytest.mark.parametrize("v", [-2.5, 0.0, 2.0, 31.0])
def test_polynomial_backward_passes_gradcheck_in_float64(v):
    x = torch.tensor([v], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lesson.polynomial, (x,))


def test_polynomial_is_the_lessons_expression():
    x = torch.tensor([-3.0, 0.0, 2.0, 5.0], dtype=torch.float64)
    assert_close(lesson.polynomial(x), x * x + 3 * x + 1)


def test_calling_twice_builds_fresh_tensors_with_the_same_result():
    (x1, y1), (x2, y2) = lesson.basic_autograd(3.0), lesson.basic_autograd(3.0)
    assert x1 is not x2
    assert (x1.grad.item(), y1.item()) == (x2.grad.item(), y2.item()) == (9.0, 19.0)


def test_the_plans_code_is_the_plans_own_and_prints_tensor_7(capsys):
    lesson.the_plan()
    assert capsys.readouterr().out == "tensor([7.])\n"
    assert plan_code(lesson) == [line.strip() for line in PLAN_CODE["01"]]


def test_main_prints_the_plans_output_first_then_the_lesson_and_exits_0(run):
    code, out, err = run("01")
    assert (code, err) == (0, "")
    assert plan_output(out) == ["tensor([7.])"]
    assert "the same steps at the plan's x = 2, on cpu:\n" in out and "  y = 11, " in out
    assert (
        "  x, a leaf (made by us, not by an operation): requires_grad=True, grad_fn=None, grad=None till backward()\n"
        in out
    )
    assert "after y.backward(): x.grad = 7\n" in out
    assert "dy/dx = 2*x + 3 = 2*2 + 3 = 7\n" in out
    assert "(y(x + h) - y(x - h)) / (2*h) = (11.014004 - 10.986004) / 0.004 = 7\n" in out
    assert "ys.backward() raises RuntimeError: grad can be implicitly created only for scalar outputs\n" in out
    assert "jacobian(polynomial, xs) = [[7, 0, 0], [0, 9, 0], [0, 0, 11]]\n" in out
    assert "ys.backward(v) with v = [1, 0.5, 0.25]: xs.grad = [7, 4.5, 2.75]\n" in out
    assert "ys.sum().backward(), which is v = ones: xs.grad = [7, 9, 11]" in out
    assert "cs.backward(v): xs.grad = [12.25, 6.75, 2.75]\n" in out
    assert re.search(r"\n  y +forward 11 ", out)  # the forward pass computed y, not autograd
    assert out.count(" agree\n") == 8 + 1 and "DIFFER" not in out  # 8 checks, and the summary


def test_main_with_x_3_shows_a_gradient_of_9(run):
    code, out, _ = run("01", "--x", "3")
    assert code == 0
    assert "x.grad = 9\n" in out and "2*3 + 3 = 9\n" in out


def test_main_writes_a_negative_x_in_parentheses(run):
    code, out, _ = run("01", "--x=-1.5")
    assert code == 0
    assert "(-1.5)**2 + 3*(-1.5) + 1 = -1.25\n" in out and "2*(-1.5) + 3 = 0\n" in out


def test_main_exits_1_when_float32_overflows_and_autograd_differs_from_the_hand_value(run):
    code, out, err = run("01", "--x", "1e20")  # y = 1e40 is beyond float32: autograd's y is inf
    assert (code, err) == (1, "")
    assert "y = inf, " in out and "by hand 1e+40" in out and "DIFFER (inf: beyond float32's largest, 3.4e+38)" in out
    assert out.count("DIFFER") == 2 and out.endswith("Summary: 8 checks, 1 DIFFER: y\n")
    assert math.isinf(lesson.basic_autograd(1e20)[1].item())


@pytest.mark.parametrize("v", SWEEP)
def test_the_central_difference_measures_the_same_slope_2x_plus_3(v):
    slope, h, above, below = lesson.central_difference(v)
    assert slope == pytest.approx(2 * v + 3, rel=1e-7, abs=1e-6)
    assert h == 1e-3 * max(1, abs(v))
    assert (above, below) == (
        pytest.approx((v + h) ** 2 + 3 * (v + h) + 1),
        pytest.approx((v - h) ** 2 + 3 * (v - h) + 1),
    )


def test_the_central_difference_takes_the_step_it_is_given():
    slope, h, above, below = lesson.central_difference(2.0, h=0.5)
    assert (slope, h, above, below) == (7.0, 0.5, 14.75, 7.75)


@pytest.mark.parametrize("h", [0, -0.5])
def test_the_central_difference_refuses_a_step_that_is_not_positive(h):
    with pytest.raises(ValueError, match=rf"^h must be positive, got {float(h)!r}$"):
        lesson.central_difference(2.0, h=h)


@pytest.mark.parametrize("v", [-4.0, -1.5, 0.0, 2.0, 1e3])
def test_sum_then_backward_gives_each_of_several_xs_its_own_gradient(v, device):
    xs, ys = lesson.several_outputs(v, device)
    assert_close(xs.detach(), torch.tensor([v, v + 1, v + 2], device=device))
    assert_close(ys.detach(), torch.tensor([(v + i) ** 2 + 3 * (v + i) + 1 for i in range(3)], device=device))
    assert_close(xs.grad, torch.tensor([2 * (v + i) + 3 for i in range(3)], device=device))


def test_sum_then_backward_equals_backward_with_a_gradient_of_ones():
    xs, _ = lesson.several_outputs(2.0)
    other = xs.detach().clone().requires_grad_()
    ys = lesson.polynomial(other)
    ys.backward(torch.ones_like(ys))
    assert_close(xs.grad, other.grad)


def test_backward_on_several_outputs_without_a_gradient_raises(device):
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
        lesson.several_outputs_without_gradient(2.0, device)


def test_three_xs_is_a_leaf_of_x_x_plus_1_x_plus_2_that_requires_grad(device):
    xs = lesson.three_xs(-1.5, device)
    assert (xs.is_leaf, xs.requires_grad, xs.dtype, xs.tolist()) == (True, True, torch.float32, [-1.5, -0.5, 0.5])


def test_the_defaults_are_the_lessons_x_of_2():
    assert lesson.central_difference()[0] == pytest.approx(7.0)
    assert lesson.three_xs().tolist() == [2.0, 3.0, 4.0]
    assert lesson.several_outputs()[0].grad.tolist() == [7.0, 9.0, 11.0]
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
        lesson.several_outputs_without_gradient()


def test_main_says_so_if_a_future_pytorch_lets_backward_run_on_several_outputs(monkeypatch, capsys):
    monkeypatch.setattr(lesson, "several_outputs_without_gradient", lambda x, device: None)
    assert lesson.main([]) == 0
    assert "  ys.backward() ran\n" in capsys.readouterr().out


# Several outputs: the vector-Jacobian product


WEIGHTS = [(1.0, 0.5, 0.25), (1.0, 1.0, 1.0), (0.0, -2.0, 3.5), (1e3, 0.0, -1e-3)]


@pytest.mark.parametrize(
    ("x", "v"),
    thorough_except(
        itertools.product([-4.0, 0.0, 100.0], WEIGHTS), [(-4.0, WEIGHTS[0]), (0.0, WEIGHTS[2]), (100.0, WEIGHTS[3])]
    ),
)
def test_backward_with_weights_gives_each_x_its_weight_times_its_own_slope(x, v, device):
    xs, ys = lesson.vector_jacobian(x, v, device)
    points = [x, x + 1, x + 2]
    assert_close(ys.detach(), torch.tensor([p * p + 3 * p + 1 for p in points], device=device))
    assert_close(xs.grad, torch.tensor([w * (2 * p + 3) for w, p in zip(v, points, strict=True)], device=device))


@pytest.mark.parametrize("x", [-4.0, 0.0, 2.0, 7.5])
def test_the_jacobian_of_an_elementwise_output_is_diagonal(x, device):
    J = lesson.jacobian(x, device)
    assert_close(J, torch.diag(torch.tensor([2 * (x + i) + 3 for i in range(3)], device=device)))


@pytest.mark.parametrize("v", WEIGHTS, ids=str)
def test_v_transposed_times_the_jacobian_is_what_backward_with_v_leaves(v, device):
    xs, _ = lesson.vector_jacobian(1.5, v, device)
    J = lesson.jacobian(1.5, device)
    assert_close(torch.tensor(v, device=device) @ J, xs.grad)


@pytest.mark.parametrize("v", WEIGHTS, ids=str)
@pytest.mark.parametrize("x", [-4.0, 2.0])
def test_a_running_sum_collects_each_xs_gradient_from_every_later_output(x, v, device):
    xs, cs = lesson.running_sum(x, v, device)
    points = [x, x + 1, x + 2]
    ys = [p * p + 3 * p + 1 for p in points]
    assert_close(cs.detach(), torch.tensor([ys[0], ys[0] + ys[1], sum(ys)], device=device))
    assert_close(xs.grad, torch.tensor([(2 * p + 3) * sum(v[i:]) for i, p in enumerate(points)], device=device))


def test_with_weights_of_one_the_running_sum_differs_from_each_xs_own_slope():
    xs, _ = lesson.running_sum(2.0, (1.0, 1.0, 1.0))
    assert xs.grad.tolist() == [21.0, 18.0, 11.0]  # 7*3, 9*2, 11*1: not [7, 9, 11]


@pytest.mark.parametrize("x", [-2.5, 0.0, 3.0])
def test_the_running_sum_passes_gradcheck_in_float64(x):
    xs = torch.tensor([x, x + 1, x + 2], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: lesson.polynomial(t).cumsum(0), (xs,))


def test_the_weights_default_to_the_ones_the_lesson_prints():
    assert lesson.vector_jacobian()[0].grad.tolist() == [7.0, 4.5, 2.75]
    assert lesson.running_sum()[0].grad.tolist() == [12.25, 6.75, 2.75]
    assert lesson.jacobian().tolist() == [[7.0, 0.0, 0.0], [0.0, 9.0, 0.0], [0.0, 0.0, 11.0]]


@pytest.mark.parametrize("v", [(1.0, 2.0), [1.0, 2.0, 3.0, 4.0], 1.0, "123", None], ids=repr)
def test_weights_that_are_not_three_numbers_raise_type_error(v):
    with pytest.raises(TypeError, match=r"^v must be a list or tuple of 3 numbers, one for each output, got "):
        lesson.vector_jacobian(v=v)


def test_a_weight_that_is_not_a_finite_number_raises_naming_it():
    with pytest.raises(ValueError, match=r"^v\[1\] must be a finite number within float32 range, got nan$"):
        lesson.running_sum(v=(1.0, math.nan, 0.0))
    with pytest.raises(TypeError, match=r"^v\[2\] must be an int or float, got '1'$"):
        lesson.vector_jacobian(v=(1.0, 1.0, "1"))


def test_main_takes_the_weights_from_v(run):
    code, out, err = run("01", "--v", "2", "0", "-1")
    assert (code, err) == (0, "")
    assert "xs.grad = [14, 0, -11]\n" in out  # v * (2*xs + 3)
    assert "cs.backward(v): xs.grad = [7, -9, -11]\n" in out  # (2*xs + 3) * (v[i] + ... + v[2])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--v", "1", "2"], "argument --v: expected 3 arguments"),
        (["--v", "1", "nan", "2"], "argument --v: v must be a finite number within float32 range, got nan"),
        (["--v", "1", "x", "2"], "argument --v: could not convert string to float: 'x'"),
    ],
)
def test_main_refuses_weights_that_are_not_three_numbers_in_one_line(run, args, message):
    assert run("01", *args) == (2, "", f"01_basic_autograd.py: error: {message}\n")
