"""04_disabling_gradients: y = x*2 is recorded (requires_grad True); z = x*3 under no_grad is not."""

import re

import pytest
import torch
from conftest import PLAN_CODE, SWEEP, float32, plan_code, plan_output, script
from torch.testing import assert_close

lesson = script("04")


def test_y_outside_no_grad_requires_grad_and_has_a_grad_fn():
    y, _ = lesson.disabling_gradients()
    assert y.requires_grad is True
    assert type(y.grad_fn).__name__ == "MulBackward0"


def test_z_inside_no_grad_does_not_require_grad_and_has_no_grad_fn():
    _, z = lesson.disabling_gradients()
    assert z.requires_grad is False
    assert z.grad_fn is None


def test_grad_mode_is_on_again_after_the_call():
    lesson.disabling_gradients()
    assert torch.is_grad_enabled()


@pytest.mark.parametrize("v", SWEEP)
def test_values_are_2x_and_3x_whatever_the_flags(v, device):
    y, z = lesson.disabling_gradients(v, device)
    assert_close(y.detach(), float32(2 * v, device))
    assert_close(z, float32(3 * v, device))
    assert (y.requires_grad, z.requires_grad, z.grad_fn) == (True, False, None)


def test_y_backpropagates_a_gradient_of_2_to_x():
    y, _ = lesson.disabling_gradients()
    (x,) = [node.variable for node, _ in y.grad_fn.next_functions if node is not None]
    y.backward()
    assert x.grad.item() == 2.0


def test_x_times_2_passes_gradcheck_in_float64():
    x = torch.tensor([2.0], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: t * 2, (x,))


def test_z_backward_raises_because_nothing_was_recorded():
    _, z = lesson.disabling_gradients()
    with pytest.raises(RuntimeError, match="does not require grad and does not have a grad_fn"):
        z.backward()


def test_calling_twice_gives_the_same_values_and_flags():
    (y1, z1), (y2, z2) = lesson.disabling_gradients(), lesson.disabling_gradients()
    assert y1 is not y2
    assert (y1.item(), z1.item(), y1.requires_grad, z1.requires_grad) == (y2.item(), z2.item(), True, False)


def test_the_plans_code_is_the_plans_own_and_prints_true_then_false(capsys):
    lesson.the_plan()
    assert capsys.readouterr().out == "True\nFalse\n"
    assert plan_code(lesson) == [line.strip() for line in PLAN_CODE["04"]]


def test_main_prints_the_flags_and_exits_0(run):
    code, out, err = run("04")
    assert (code, err) == (0, "")
    assert plan_output(out) == ["True", "False"]
    assert "y = x * 2 = 4   outside no_grad: requires_grad=True, grad_fn=MulBackward0\n" in out
    assert "z = x * 3 = 6   inside no_grad:  requires_grad=False, grad_fn=None\n" in out
    assert "  in grad mode, as usual:      True -> False -> True\n" in out
    assert "  inside another no_grad:      False -> False -> False\n" in out
    assert (
        "inside no_grad (grad mode False): requires_grad=True, a new leaf,\n  made by us, not by an operation\n" in out
    )
    assert "(x > 1).requires_grad=False, x.argmax().requires_grad=False" in out
    assert re.search(
        r"enable_grad\(\) in no_grad +grad mode True +input requires grad True +-> requires_grad=True", out
    )
    assert "x.detach() shares x's storage (the memory of its numbers): after x.detach().add_(1), x = 3\n" in out
    assert "w + t saves nothing and runs (requires_grad=True)" in out
    assert "and raises RuntimeError: Inference tensors cannot be saved for backward.\n" in out
    assert (
        "  w trained a step of SGD with weight decay 0.1 (2 -> -1.32), frozen after zero_grad(set_to_none=False),\n"
        in out
    )
    assert (
        "  which zeros .grad: w.grad = 0, not None; SGD adds decay*w to it, so a step moves w: -1.32 -> -1.3068\n"
        in out
    )
    assert "(or w left out of the optimizer), w stays: -1.32 -> -1.32\n" in out
    assert "z.backward() raises RuntimeError: element 0 of tensors does not require grad" in out
    assert re.search(r"\n  y = 2\*x +forward 4 ", out)  # the forward pass computed y, not autograd
    assert "  under no_grad, x -= lr * x.grad: x = 1.8, is_leaf=True, requires_grad=True\n" in out
    assert (
        "x -= lr * x.grad raises RuntimeError: a leaf Variable that requires grad is being used in an in-place" in out
    )
    assert "  after the next backward(), x.grad = None (reading it warns" in out
    assert "  w.grad = None, w stays 2; b.grad = 11, b goes 0.5 -> -0.6\n" in out
    assert "x = x - lr * x.grad runs (x = 1.8), but the new x is_leaf=False:\n" in out
    assert "  the gradient went on to the old leaf behind it: its .grad is now 2 + 2 = 4\n" in out
    assert out.count(" agree\n") == 26 + 1 and "DIFFER" not in out  # 26 checks, and the summary


def test_main_exits_1_when_float32_overflows(run):
    code, out, _ = run("04", "--x", "2e38")  # 2*x and 3*x are beyond float32, and so is the frozen model's b.grad
    assert code == 1
    differ = [line[:32].strip() for line in out.splitlines() if " DIFFER" in line and "Summary" not in line]
    assert differ == ["y = 2*x", "z = 3*x", "b.grad = dloss/db", "b after the update", "frozen late: w after"]


# way: (grad mode during it, its input requires grad, the result requires grad)
OTHER_WAYS = {
    "x.detach() * 3": (True, False, False),
    "inference_mode()": (False, True, False),
    "set_grad_enabled(False)": (False, True, False),
    "@torch.no_grad() function": (False, True, False),
    "enable_grad() in no_grad": (True, True, True),
    "back in no_grad()": (False, True, False),
}


def test_each_other_way_tracks_only_with_grad_mode_on_and_an_input_that_requires_grad(device):
    results = lesson.other_ways(2.0, device)
    assert list(results) == list(OTHER_WAYS)
    for way, (result, grad_mode, input_requires_grad) in results.items():
        assert (grad_mode, input_requires_grad, result.requires_grad) == OTHER_WAYS[way], way
        assert (result.grad_fn is not None) == result.requires_grad, way
        assert result.item() == 6.0, way


def test_inference_mode_marks_its_result_as_an_inference_tensor():
    result, _, _ = lesson.other_ways()["inference_mode()"]
    assert result.is_inference()


def test_the_no_grad_decorator_turns_grad_mode_off_only_during_the_call():
    t = torch.tensor([2.0], requires_grad=True)
    result, grad_mode = lesson.triple_untracked(t)
    assert (result.item(), result.requires_grad, grad_mode, torch.is_grad_enabled()) == (6.0, False, False, True)


def test_the_defaults_are_the_lessons_x_of_2():
    y, z = lesson.disabling_gradients()
    assert (y.item(), z.item()) == (4.0, 6.0)
    assert [result.item() for result, _, _ in lesson.other_ways().values()] == [6.0] * len(OTHER_WAYS)


def test_the_hand_rule_still_predicts_every_flag_when_main_runs_under_no_grad(capsys):
    with torch.no_grad():  # now y is not tracked either, and the rule must say so
        assert lesson.main([]) == 0
    out = capsys.readouterr().out
    assert "  by hand, y: grad mode False and x.requires_grad True -> False; z: " in out and "DIFFER" not in out


def test_main_says_so_if_z_backward_ever_runs(monkeypatch, capsys):
    tracked = torch.tensor([2.0], requires_grad=True)
    monkeypatch.setattr(lesson, "disabling_gradients", lambda x, device: (tracked * 2, tracked * 3))
    assert lesson.main([]) == 1  # z now requires grad, against the hand rule
    assert "\n  z.backward() ran\n" in capsys.readouterr().out


# What leaving the block restores, and what no_grad leaves alone


def test_leaving_no_grad_restores_the_mode_before_it():
    assert lesson.grad_mode_around_no_grad() == (True, False, True)
    assert lesson.grad_mode_around_no_grad(inside_no_grad=True) == (False, False, False)  # it stays off
    assert torch.is_grad_enabled()


@pytest.mark.parametrize("v", [-2.0, 0.0, 2.0])
def test_no_grad_leaves_a_new_leaf_requiring_grad_and_comparisons_never_do(v, device):
    assert lesson.what_no_grad_leaves_alone(v, device) == (False, True, False, False)  # made while grad mode is off


def test_integer_and_bool_results_cannot_require_grad_even_when_asked():
    with pytest.raises(RuntimeError, match="only Tensors of floating point"):
        torch.tensor([1, 2]).requires_grad_()


@pytest.mark.parametrize("v", [-2.0, 0.0, 2.5])
def test_detach_shares_storage_so_an_in_place_change_shows_in_x(v, device):
    assert lesson.detach_shares_storage(v, device) == (v + 1, True)


def test_an_inference_tensor_cannot_be_saved_for_backward(device):
    with pytest.raises(RuntimeError, match="Inference tensors cannot be saved for backward"):
        lesson.inference_tensor_saved(2.0, device)


def test_an_inference_tensor_can_join_an_operation_that_saves_nothing(device):
    result, inference = lesson.inference_tensor_added(2.0, device)
    assert (result.item(), result.requires_grad, inference) == (6.0, True, True)
    (w,) = [node.variable for node, _ in result.grad_fn.next_functions if node is not None]
    result.backward()
    assert w.grad.item() == 1.0


def test_neither_no_grad_nor_inference_mode_is_model_eval():
    dropout = torch.nn.Dropout(p=0.5)
    with torch.no_grad(), torch.inference_mode():
        assert dropout.training  # the layers keep their training behaviour
    dropout.eval()
    x = torch.ones(4, requires_grad=True)
    assert torch.is_grad_enabled() and dropout(x).requires_grad  # eval() leaves tracking on
    assert_close(dropout(x).detach(), torch.ones(4))  # and Dropout passes everything through


# The update step of training


@pytest.mark.parametrize("v", [-3.0, 0.0, 2.0])
@pytest.mark.parametrize("lr", [0.1, 0.5, 2.0])
def test_the_update_under_no_grad_moves_x_by_lr_times_2_and_keeps_it_a_leaf(v, lr, device):
    stepped, is_leaf, requires_grad = lesson.update_under_no_grad(v, lr, device)
    assert stepped == pytest.approx(v - lr * 2, rel=1e-6, abs=1e-6)  # dy/dx of y = x * 2 is 2
    assert (is_leaf, requires_grad) == (True, True)


def test_the_same_update_recorded_raises(device):
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place operation"):
        lesson.update_in_place_recorded(2.0, 0.1, device)


@pytest.mark.parametrize("v", [-1.0, 2.0])
def test_assigning_the_update_makes_x_a_non_leaf_whose_grad_stays_none(v, device):
    value, is_leaf, grad, warning, behind = lesson.update_by_assignment(v, 0.1, device)
    assert (value, is_leaf, grad) == (pytest.approx(v - 0.1 * 2), False, None)
    assert "is not a leaf Tensor is being accessed" in warning
    assert behind == 2.0 + 2.0  # the first backward, then the second through x = x - lr * x.grad


@pytest.mark.parametrize("v", [-1.0, 0.0, 2.0])
@pytest.mark.parametrize("lr", [0.1, 0.25])
def test_a_frozen_weight_gets_no_gradient_and_stays_while_the_bias_trains(v, lr, device):
    frozen = lesson.frozen_parameter(v, lr, device)
    b_grad = 2 * (v * 3.0 + 0.5 - 1.0)  # d/db of (w*3 + b - 1)**2
    assert frozen["w"] == (None, v, v)
    assert frozen["b"][0] == pytest.approx(b_grad, rel=1e-6)
    assert frozen["b"][1:] == (0.5, pytest.approx(0.5 - lr * b_grad, rel=1e-6, abs=1e-6))


def test_the_frozen_models_example_is_the_one_the_lesson_prints():
    assert (lesson.DATA, lesson.TARGET, lesson.LR) == (3.0, 1.0, 0.1)


def test_each_training_step_runs_with_grad_mode_on_whatever_the_callers_mode():
    with torch.no_grad():
        assert lesson.update_under_no_grad(2.0) == (pytest.approx(1.8), True, True)
        assert lesson.frozen_parameter(2.0)["b"][0] == 11.0
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place"):
            lesson.update_in_place_recorded(2.0)  # recorded: grad mode is on in the step, off around it
    assert torch.is_grad_enabled()


def test_the_defaults_of_the_new_parts_are_the_lessons_x_of_2_and_lr_of_0_1():
    assert lesson.detach_shares_storage() == (3.0, True)
    assert lesson.inference_tensor_added()[0].item() == 6.0
    assert lesson.update_under_no_grad()[0] == pytest.approx(1.8)
    assert lesson.update_by_assignment()[0] == pytest.approx(1.8)
    assert lesson.frozen_parameter() == {"w": (None, 2.0, 2.0), "b": (11.0, 0.5, pytest.approx(-0.6))}


# Freezing after training has begun: stale zeros, weight decay, and the two ways that hold


@pytest.mark.parametrize("v", [-1.0, 2.0])
@pytest.mark.parametrize("decay", [0.1, 0.5])
def test_frozen_after_a_step_with_zero_grad_set_to_none_false_weight_decay_still_moves_w(v, decay, device):
    w_grad, before, after = lesson.frozen_parameter(v, 0.1, device, decay, stale=True)["w"]
    assert w_grad == 0.0  # zeros, not None
    assert after == pytest.approx(before - 0.1 * decay * before, rel=1e-6)
    assert after != before


@pytest.mark.parametrize("v", [-1.0, 2.0])
def test_frozen_after_a_step_w_stays_with_its_grad_set_to_none_or_without_weight_decay(v, device):
    w_grad, before, after = lesson.frozen_parameter(v, 0.1, device, 0.1, stale=True, to_none=True)["w"]
    assert (w_grad, after) == (None, before)
    _, before, after = lesson.frozen_parameter(v, 0.1, device, 0.0, stale=True)["w"]
    assert after == before  # no decay: a gradient of zeros moves nothing


@pytest.mark.optim  # creating an optimizer imports torch._dynamo: a run of its own (README, "The tests")
@pytest.mark.parametrize(("stale", "to_none"), [(False, False), (True, False), (True, True)])
@pytest.mark.parametrize("decay", [0.0, 0.1])
def test_torch_optim_sgd_moves_w_and_b_as_the_hand_written_step_does(stale, to_none, decay):
    by_hand = lesson.frozen_parameter(2.0, 0.1, "cpu", decay, stale, to_none)
    w, b = torch.tensor([2.0], requires_grad=True), torch.tensor([0.5], requires_grad=True)
    optimizer = torch.optim.SGD([w, b], lr=0.1, weight_decay=decay)
    if stale:
        ((w * lesson.DATA + b - lesson.TARGET) ** 2).backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=False)
    w.requires_grad_(False)
    if to_none:
        w.grad = None
    ((w * lesson.DATA + b - lesson.TARGET) ** 2).backward()
    optimizer.step()
    assert (w.item(), b.item()) == (pytest.approx(by_hand["w"][2]), pytest.approx(by_hand["b"][2]))


def test_sgd_step_skips_a_parameter_without_a_gradient_and_decays_one_with_zeros():
    kept, decayed = torch.tensor([2.0], requires_grad=True), torch.tensor([2.0], requires_grad=True)
    decayed.grad = torch.zeros(1)
    lesson.sgd_step((kept, decayed), lr=0.5, weight_decay=0.1)
    assert (kept.item(), decayed.item()) == (2.0, pytest.approx(2.0 - 0.5 * 0.1 * 2.0))
