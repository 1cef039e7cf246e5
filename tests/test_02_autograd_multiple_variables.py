"""02_autograd_multiple_variables: c = a**2 * b, so dc/da = 2*a*b (12) and dc/db = a**2 (4)."""

import itertools
import re

import pytest
import torch
from conftest import PLAN_CODE, SWEEP, float32, plan_code, plan_output, script, thorough_except
from torch.testing import assert_close

lesson = script("02")


def test_gradients_are_12_and_4_and_c_is_12_at_the_lessons_a_2_b_3():
    a, b, c = lesson.multiple_variables()
    assert (a.grad.item(), b.grad.item(), c.item()) == (12.0, 4.0, 12.0)


def test_a_and_b_are_float32_leaves_that_require_grad_and_c_has_a_grad_fn(device):
    a, b, c = lesson.multiple_variables(device=device)
    for leaf in (a, b):
        assert (leaf.dtype, leaf.shape, leaf.is_leaf, leaf.requires_grad) == (torch.float32, (1,), True, True)
    assert type(c.grad_fn).__name__ == "MulBackward0"


GRID = [*itertools.product([-3.5, 0, 0.5, 1000], [-2, 0.1, 1e4]), (1.5, -2), (2, 0)]


@pytest.mark.parametrize(("va", "vb"), thorough_except(GRID, [(-3.5, 1e4), (0, -2), (1000, 0.1), (1.5, -2), (2, 0)]))
def test_gradients_equal_2ab_and_a_squared_and_c_equals_a_squared_b(va, vb, device):
    a, b, c = lesson.multiple_variables(va, vb, device)
    assert_close(a.grad, float32(2 * va * vb, device))
    assert_close(b.grad, float32(va**2, device))
    assert_close(c.detach(), float32(va**2 * vb, device))


@pytest.mark.parametrize("v", SWEEP)
def test_each_gradient_depends_on_both_inputs_as_the_formulas_say(v):
    # a and b swapped round: a mixed-up formula (2*a*b for b, a**2 for a) would fail here
    a, b, _ = lesson.multiple_variables(3.0, v)
    assert_close(a.grad, float32(6 * v))
    assert_close(b.grad, float32(9.0))


@pytest.mark.parametrize(("va", "vb"), [(2.0, 3.0), (-1.5, 0.25), (0.0, -4.0)])
def test_product_backward_passes_gradcheck_in_float64(va, vb):
    a = torch.tensor([va], dtype=torch.float64, requires_grad=True)
    b = torch.tensor([vb], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lesson.product, (a, b))


def test_product_is_the_lessons_expression():
    a, b = torch.tensor([2.0, -1.0, 3.0]), torch.tensor([3.0, 5.0, -0.5])
    assert_close(lesson.product(a, b), a * a * b)


def test_calling_twice_builds_fresh_tensors_with_the_same_result():
    first, second = lesson.multiple_variables(), lesson.multiple_variables()
    assert first[0] is not second[0]
    assert [t.grad.item() for t in first[:2]] == [t.grad.item() for t in second[:2]] == [12.0, 4.0]


def test_the_plans_code_is_the_plans_own_and_prints_tensor_12_and_tensor_4(capsys):
    lesson.the_plan()
    assert capsys.readouterr().out == "tensor([12.]) tensor([4.])\n"
    assert plan_code(lesson) == PLAN_CODE["02"]


def test_main_prints_the_lesson_and_exits_0(run):
    code, out, err = run("02")
    assert (code, err) == (0, "")
    assert plan_output(out) == ["tensor([12.]) tensor([4.])"]
    assert "after c.backward(): a.grad = 12, b.grad = 4\n" in out
    assert "dc/da = 2*a*b = 2*2*3 = 12\n" in out and "dc/db = a**2 = 2**2 = 4\n" in out
    assert "torch.autograd.grad(c, (a, b)) on fresh a and b returns (12, 4)\n" in out
    assert "and leaves a.grad = None, b.grad = None\n" in out
    assert "dc/da = grad(c, a, create_graph=True) = 12, requires_grad=True\n" in out
    assert "d2c/da2 = grad(dc/da, a) = 6\n" in out and "by hand: d2c/da2 = d(2*a*b)/da = 2*b = 2*3 = 6\n" in out
    assert "the second grad() raises RuntimeError: element 0 of tensors does not require grad" in out
    assert re.search(r"\n  c +forward 12 ", out)  # the forward pass computed c, not autograd
    assert "  z = x @ w + b = [1.3755, -0.6023, -4.8127], and one loss.backward(), where\n" in out
    assert (
        "  loss = binary_cross_entropy_with_logits(z, y), the mean of log(1 + exp(z[j])) - y[j]*z[j] = 0.681851\n"
        in out
    )
    assert "dloss/dz = (sigmoid(z) - y)/3 = dloss/db\n  = [0.2661, 0.1179, 0.0027], and dloss/dw[i][j] = x[i]" in out
    assert re.search(r"largest \|w.grad - by hand\| = \S+, largest \|b.grad - by hand\| = \S+\n", out)
    assert re.search(r"model: w.grad vs by hand +autograd gap \S+ +within float32 rounding agree\n", out)
    assert (
        "Here even lr = 50 works: x = ones(5) and every target is\n  0, so a step takes each z[j] to z[j] - 2*lr*"
        in out
    )
    assert "  lr = 0.5: loss 0.6819 -> 0.4520 -> 0.3085 -> 0.2244 -> 0.1737 -> 0.1409\n" in out
    assert "   by hand: loss 0.6819 -> 0.4520 -> 0.3085 -> 0.2244 -> 0.1737 -> 0.1409\n" in out
    assert "  lr = 50: loss 0.6819 -> 0.0012 -> 0.0008 -> 0.0007 -> 0.0005 -> 0.0005\n" in out
    assert out.count(" agree\n") == 15 + 1 and "DIFFER" not in out  # 15 checks, and the summary


def test_main_with_a_1_5_and_b_minus_2_shows_minus_6_and_2_25(run):
    code, out, _ = run("02", "--a", "1.5", "--b", "-2")
    assert code == 0
    assert "a.grad = -6, b.grad = 2.25\n" in out
    assert "  by hand: c = 1.5**2 * (-2) = -4.5\n" in out
    assert "           dc/da = 2*a*b = 2*1.5*(-2) = -6\n" in out
    assert "           dc/db = a**2 = 1.5**2 = 2.25\n" in out
    assert "returns (-6, 2.25)\n" in out


def test_main_exits_1_when_float32_overflows(run):
    code, out, _ = run("02", "--a", "1e20", "--b", "1")  # b.grad = a**2 = 1e40 is beyond float32
    assert code == 1
    assert out.count("DIFFER") == 3 + 1  # c, b.grad and grad(c, b); the gradients for a, 2e20, still fit, as does 2*b
    assert out.endswith("3 DIFFER: c; b.grad = dc/db; grad(c, b) = dc/db\n")


@pytest.mark.parametrize(("va", "vb"), [(2.0, 3.0), (1.5, -2.0), (-3.0, 0.5), (0.0, 7.0)])
def test_autograd_grad_returns_2ab_and_a_squared_and_leaves_grad_none(va, vb, device):
    a, b, (grad_a, grad_b) = lesson.gradients_returned(va, vb, device)
    assert_close(grad_a, float32(2 * va * vb, device))
    assert_close(grad_b, float32(va**2, device))
    assert (a.grad, b.grad) == (None, None)


def test_gradients_returned_defaults_to_the_lessons_a_2_and_b_3():
    _, _, (grad_a, grad_b) = lesson.gradients_returned()
    assert (grad_a.item(), grad_b.item()) == (12.0, 4.0)


# A derivative of a derivative


@pytest.mark.parametrize(("va", "vb"), [(2.0, 3.0), (1.5, -2.0), (-3.0, 0.5), (0.0, 7.0), (10.0, 1e3)])
def test_create_graph_gives_a_first_derivative_2ab_that_differentiates_again_to_2b(va, vb, device):
    first, second = lesson.second_derivative(va, vb, device)
    assert_close(first.detach(), float32(2 * va * vb, device))
    assert first.requires_grad and first.grad_fn is not None  # its computation was recorded
    assert_close(second, float32(2 * vb, device))


def test_second_derivative_defaults_to_the_lessons_12_and_6():
    first, second = lesson.second_derivative()
    assert (first.item(), second.item()) == (12.0, 6.0)


@pytest.mark.parametrize(("va", "vb"), [(2.0, 3.0), (-1.0, 0.5)])
def test_without_create_graph_differentiating_the_gradient_again_raises(va, vb, device):
    with pytest.raises(RuntimeError, match="element 0 of tensors does not require grad and does not have a grad_fn"):
        lesson.second_derivative_without_create_graph(va, vb, device)


@pytest.mark.parametrize(("va", "vb"), [(2.0, 3.0), (-1.5, 0.25), (0.0, -4.0)])
def test_product_passes_gradgradcheck_in_float64(va, vb):
    a = torch.tensor([va], dtype=torch.float64, requires_grad=True)
    b = torch.tensor([vb], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradgradcheck(lesson.product, (a, b))


@pytest.mark.parametrize(("va", "vb"), [(2.0, 3.0), (-1.5, 0.25), (0.0, -4.0)])
def test_the_hand_formulas_are_the_partial_derivatives(va, vb):
    assert (lesson.dc_da(va, vb), lesson.dc_db(va, vb), lesson.d2c_da2(va, vb)) == (2 * va * vb, va * va, 2 * vb)


# The tutorial's model


def by_hand(seed):
    """dloss/dw and dloss/db of the tutorial's model, from its formulas in float64 (x = ones(5), y = zeros(3))."""
    x, y, w, b = (t.detach().double() for t in lesson.tutorial_tensors(seed))
    dz = (torch.sigmoid(x @ w + b) - y) / 3
    return torch.outer(x, dz), dz


@pytest.mark.parametrize("seed", [0, 1, 7, 2024])
def test_the_tutorial_models_gradients_are_the_hand_formulas(seed, device):
    loss, w, b = lesson.tutorial_model(seed, device)
    dw, db = by_hand(seed)
    assert (w.shape, b.shape, loss.shape) == ((5, 3), (3,), ())
    assert_close(w.grad.cpu().double(), dw)
    assert_close(b.grad.cpu().double(), db)


def test_the_same_seed_draws_the_same_model_on_every_device(device):
    assert_close(lesson.tutorial_tensors(3, device)[2].cpu(), lesson.tutorial_tensors(3, "cpu")[2])


def test_the_tutorial_models_loss_passes_gradcheck_in_float64():
    x, y, w, b = (t.detach().double() for t in lesson.tutorial_tensors(0))
    w.requires_grad_(), b.requires_grad_()
    assert torch.autograd.gradcheck(lambda w, b: lesson.tutorial_loss(x, y, w, b), (w, b))


@pytest.mark.parametrize("seed", [0, 5])
def test_the_hand_worked_model_matches_the_forward_pass_and_its_gradients(seed):
    loss, w, b = lesson.tutorial_model(seed)
    z, loss_by_hand, dw, db = lesson.tutorial_by_hand(*(t.tolist() for t in lesson.tutorial_tensors(seed)))
    assert loss_by_hand == pytest.approx(loss.item(), rel=1e-6)
    assert_close(torch.tensor(dw), w.grad)
    assert_close(torch.tensor(db), b.grad)


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_training_by_hand_lowers_the_loss_at_every_step(seed, device):
    losses = lesson.train_tutorial_model(5, 0.5, seed, device)
    assert len(losses) == 6
    assert all(after < before for before, after in zip(losses, losses[1:], strict=False))
    x, y, w, b = (t.tolist() for t in lesson.tutorial_tensors(seed))
    assert losses == pytest.approx(lesson.train_by_hand(x, y, w, b, 5, 0.5), rel=1e-5)


@pytest.mark.optim  # creating an optimizer imports torch._dynamo: a run of its own (README, "The tests")
@pytest.mark.parametrize("seed", [0, 4])
def test_torch_optim_sgd_gives_the_same_parameters_and_losses(seed, monkeypatch):
    trained = []  # the tensors train_tutorial_model updates, caught as it draws them
    draw = lesson.tutorial_tensors
    monkeypatch.setattr(lesson, "tutorial_tensors", lambda *args: trained.extend(draw(*args)) or trained)
    losses = lesson.train_tutorial_model(5, 0.5, seed)
    x, y, w, b = draw(seed)
    optimizer = torch.optim.SGD([w, b], lr=0.5)
    sgd_losses = []
    for _ in range(5):
        optimizer.zero_grad()
        loss = lesson.tutorial_loss(x, y, w, b)
        sgd_losses.append(loss.item())
        loss.backward()
        optimizer.step()
    assert losses == [*sgd_losses, lesson.tutorial_loss(x, y, w, b).item()]
    assert_close(trained[2], w)
    assert_close(trained[3], b)


def test_the_lessons_model_and_training_use_seed_0_and_5_steps_of_lr_0_5():
    assert lesson.train_tutorial_model() == lesson.train_tutorial_model(5, 0.5, 0, "cpu")
    assert lesson.tutorial_model()[0].item() == lesson.tutorial_model(0)[0].item()


FUNCTIONS = ["tutorial_tensors", "tutorial_model", "train_tutorial_model"]
SEEDS = [1.5, "0", None, True, -1]


@pytest.mark.parametrize(
    ("function", "seed"),  # each seed and each function in the default run, the whole matrix with -m thorough
    thorough_except(itertools.product(FUNCTIONS, SEEDS), [*zip(FUNCTIONS * 2, SEEDS, strict=False)]),
)
def test_a_seed_that_is_not_a_whole_number_is_refused_naming_it(function, seed):
    error, message = (ValueError, "a whole number >= 0") if seed == -1 else (TypeError, "an int")
    with pytest.raises(error, match=rf"^seed must be {message}, got {re.escape(repr(seed))}$"):
        getattr(lesson, function)(seed=seed)


@pytest.mark.parametrize("steps", [-1, 2.5])
def test_a_number_of_steps_that_is_not_whole_is_refused(steps):
    with pytest.raises(ValueError, match=r"^steps must be a whole number from 0 to 1000000, got "):
        lesson.train_tutorial_model(steps)


@pytest.mark.parametrize("targets", [[1.0, 0.0, 1.0], [0.25, 0.5, 0.75]])
def test_the_hand_worked_loss_and_gradients_hold_for_any_targets_not_only_zeros(targets):
    x, _, w, b = lesson.tutorial_tensors(2)
    y = torch.tensor(targets)
    loss = lesson.tutorial_loss(x, y, w, b)
    loss.backward()
    _, by_hand, dw, db = lesson.tutorial_by_hand(x.tolist(), targets, w.tolist(), b.tolist())
    assert by_hand == pytest.approx(loss.item(), rel=1e-6)
    assert_close(torch.tensor(dw), w.grad)
    assert_close(torch.tensor(db), b.grad)


def test_the_model_is_drawn_from_seed_0_by_default_and_trains_0_steps_into_one_loss():
    assert_close(lesson.tutorial_tensors()[2], lesson.tutorial_tensors(0)[2])
    assert lesson.train_tutorial_model(0) == [lesson.tutorial_model(0)[0].item()]


@pytest.mark.parametrize("losses", [[0.7, 0.5, 0.5, 0.4, 0.3, 0.2], [0.7, 0.8, 0.6, 0.5, 0.4, 0.3]])
def test_main_says_differ_where_the_loss_does_not_fall_at_every_step(monkeypatch, capsys, losses):
    monkeypatch.setattr(lesson, "train_tutorial_model", lambda *args: losses)
    monkeypatch.setattr(lesson, "train_by_hand", lambda *args: losses)
    assert lesson.main([]) == 1
    assert re.search(r"lr 0.5: the loss falls +training False +expected True +DIFFER\n", capsys.readouterr().out)


@pytest.mark.parametrize("lr", [0.5, 5.0, 50.0, 500.0])
@pytest.mark.parametrize("seed", [0, 3])
def test_with_every_target_0_a_step_takes_each_z_to_z_minus_2_lr_sigmoid_z_and_the_loss_falls_at_any_lr(lr, seed):
    x, y, w, b = lesson.tutorial_tensors(seed)
    z = x @ w + b
    losses = lesson.train_tutorial_model(1, lr, seed)
    stepped = z.detach() - 2 * lr * torch.sigmoid(z.detach())  # by hand
    assert_close(torch.tensor(losses[1]), torch.nn.functional.softplus(stepped).mean(), rtol=1e-5, atol=1e-6)
    assert losses[1] < losses[0]


def test_with_targets_between_0_and_1_too_large_a_rate_overshoots_and_the_loss_rises():
    x, _, w, b = lesson.tutorial_tensors(0)
    y = torch.full((3,), 0.5)
    loss = lesson.tutorial_loss(x, y, w, b)
    loss.backward()
    with torch.no_grad():
        stepped = lesson.tutorial_loss(x, y, w - 50 * w.grad, b - 50 * b.grad)
    assert stepped > loss  # the step overshoots the best z, 0, by far


def test_main_says_so_if_a_future_pytorch_lets_a_gradient_without_graph_be_differentiated(monkeypatch, capsys):
    monkeypatch.setattr(lesson, "second_derivative_without_create_graph", lambda a, b, device: None)
    assert lesson.main([]) == 0
    assert "  without create_graph=True, the second grad() ran\n" in capsys.readouterr().out
