"""03_gradient_accumulation: x.grad goes 7, 14 (no zeroing), 7 (after zero_()); one graph backs up once."""

import inspect
import itertools
import math
import re
import subprocess
import sys
import warnings

import pytest
import torch
from conftest import PLAN_CODE, ROOT, SCRIPTS, SWEEP, plan_code, plan_output, script, sections, thorough_except
from torch.testing import assert_close

lesson = script("03")


def test_gradients_accumulate_7_14_then_7_after_zeroing_at_the_lessons_x_of_2():
    assert lesson.gradient_accumulation() == [7.0, 14.0, 7.0]


@pytest.mark.parametrize("v", SWEEP)
def test_second_backward_doubles_the_gradient_and_zero_resets_it(v, device):
    slope = torch.tensor(2 * v + 3, dtype=torch.float32).item()
    first, second, third = lesson.gradient_accumulation(v, device)
    assert_close([first, second, third], [slope, 2 * slope, slope], rtol=1.3e-6, atol=1e-5)


def test_the_plans_second_backward_on_one_graph_raises():
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        lesson.plan_as_written()


def test_the_plans_second_backward_raises_on_every_device(device):
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        lesson.plan_as_written(3.0, device)


def test_calling_twice_gives_the_same_three_gradients():
    assert lesson.gradient_accumulation(-1.0) == lesson.gradient_accumulation(-1.0) == [1.0, 2.0, 1.0]


def test_the_plans_code_as_written_prints_7_then_fails_at_the_second_backward(capsys):
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        lesson.the_plan()
    assert capsys.readouterr().out == "tensor([7.])\n"
    assert plan_code(lesson) == PLAN_CODE["03"]


def test_the_smallest_change_retain_graph_on_the_first_two_calls_makes_it_print_7_14_7(capsys):
    lesson.the_plan_retained()
    assert capsys.readouterr().out == "tensor([7.])\ntensor([14.])\ntensor([7.])\n"
    changed = [line.replace("y.backward()", "y.backward(retain_graph=True)", i in (2, 4)) for i, line in enumerate(
        PLAN_CODE["03"])]  # fmt: skip
    assert plan_code(lesson, "the_plan_retained") == changed


@pytest.mark.parametrize("change", ["create_graph=True", "y rebuilt"])
def test_the_other_changes_the_run_names_also_make_the_plans_code_print_7_14_7(change):
    """The run says create_graph=True (which retains the graph too) and building y anew also make it run."""
    x = torch.tensor([2.0], requires_grad=True)
    y, seen = lesson.polynomial(x), []
    for call in range(3):
        if call == 2:
            x.grad.zero_()
        if change == "y rebuilt":
            lesson.polynomial(x).backward()
        else:
            with warnings.catch_warnings():  # a reference cycle x -> x.grad -> its graph -> x, PyTorch warns
                warnings.simplefilter("ignore")
                y.backward(create_graph=call < 2)
        seen.append(x.grad.item())
    assert seen == [7.0, 14.0, 7.0]


def test_main_shows_the_failure_as_expected_then_the_change_and_7_14_7_and_exits_0(run):
    code, out, err = run("03")
    assert (code, err) == (0, "")
    assert plan_output(out) == ["tensor([7.])"]
    first = sections(out)[1][2]
    start = first.index("  then, as expected, the 2nd y.backward() raises RuntimeError:")
    assert first[start:] == [
        "  then, as expected, the 2nd y.backward() raises RuntimeError:",
        "    Trying to backward through the graph a second time (or directly access saved tensors after they have "
        "already been freed)",
        "  the smallest change that makes it run keeps the graph's saved tensors (the forward pass's values that",
        "  backward() needs) for the next call: retain_graph=True where another y.backward() follows",
        "    y.backward(retain_graph=True)   # the first 2 of 3", "  prints:", "    tensor([7.])", "    tensor([14.])",
        "    tensor([7.])",
        "  (create_graph=True keeps them too, but records backward() itself: x.grad gets a grad_fn, and PyTorch",
        "  warns of a reference cycle; a training loop builds y anew before each backward() instead)", "",
    ]  # fmt: skip
    assert "x.grad after the 1st y.backward(): 7; a 2nd, no zeroing: 14; zero_(), a 3rd: 7\n" in out
    assert "  backward() on the 1st half:                x.grad = 2\n" in out
    assert "  then on the 2nd half, no zeroing:          x.grad = -4, its own -6 added\n" in out
    assert "by hand: halves 2*(2*2 - 3) = 2 and 2*(2*2 - 7) = -6, whole 2*(4*2 - 10) = -4\n" in out
    assert "torch.nn's losses default to reduction='mean'" in out
    assert "  on the whole batch at once:                x.grad = -1\n" in out
    assert "no zeroing:              x.grad = 1, then -2 (its own -3 added): 2 times the whole batch's\n" in out
    assert "  each half's mean / 2 (2 pieces), no zeroing: x.grad = -1, the whole batch's\n" in out
    assert "by hand: 2*(4*2 - 10)/4 = -1\n" in out
    assert "x.grad.zero_(): x.grad = 0, then y.backward(): 7, into the same tensor: True\n" in out
    assert "with create_graph=True, into the same tensor: False\n" in out
    assert "x.grad = None:  x.grad is None: True, then y.backward(): 7, in a new tensor\n" in out
    assert "optimizer.zero_grad() resets each parameter's .grad, by default (set_to_none=True) to None\n" in out
    assert out.count(" agree\n") == 18 + 1 and "DIFFER" not in out  # 18 checks, and the summary


def test_at_the_batchs_mean_each_half_keeps_a_gradient_of_its_own_which_cancel_as_the_readme_says(run):
    _, out, _ = run("03", "--x", "2.5")
    assert "  backward() on the 1st half:                x.grad = 4\n" in out
    assert "  then on the 2nd half, no zeroing:          x.grad = 0, its own -4 added\n" in out
    assert "no zeroing:              x.grad = 2, then 0 (its own -2 added): 2 times the whole batch's\n" in out


def test_main_with_x_minus_1_shows_1_2_1(run):
    code, out, _ = run("03", "--x=-1")
    assert code == 0
    assert "x.grad after the 1st y.backward(): 1; a 2nd, no zeroing: 2; zero_(), a 3rd: 1\n" in out


def test_main_exits_1_when_the_doubled_gradient_overflows_float32(run):
    code, out, _ = run("03", "--x", "1e38")  # dy/dx = 2e38 fits float32, 2 * dy/dx = 4e38 does not
    assert code == 1
    differ = [line.split(":")[0].strip() for line in out.splitlines() if " DIFFER (inf: " in line]
    # 1st and 3rd, 2e38, still fit, as do the mean loss's whole batch and scaled halves (2e38); a summed half's 4e38 not
    assert differ == ["2nd", "summed, 1st half", "summed, halves", "summed, whole", "mean, halves"]


@pytest.mark.parametrize("v", [-3.0, 0.0, 0.5, 2.0, 2.5, 1e3])
def test_two_halves_of_a_summed_loss_add_up_to_the_whole_batchs_gradient(v, device):
    first_half, halves, whole = lesson.batch_in_halves(v, "sum", device=device)
    assert_close([first_half, halves, whole], [2 * (2 * v - 3), 2 * (4 * v - 10), 2 * (4 * v - 10)])


@pytest.mark.parametrize("v", [-3.0, 0.0, 0.5, 2.0, 2.5, 1e3])
def test_two_halves_of_a_mean_loss_add_up_to_twice_the_whole_unless_each_is_divided_by_2(v, device):
    whole = 2 * (4 * v - 10) / 4  # dL/dx for the mean over all four
    first_half, halves, mean_whole = lesson.batch_in_halves(v, "mean", device=device)
    assert_close([first_half, halves, mean_whole], [2 * (2 * v - 3) / 2, 2 * whole, whole])
    first_half, halves, mean_whole = lesson.batch_in_halves(v, "mean", scaled=True, device=device)
    assert_close([first_half, halves, mean_whole], [2 * (2 * v - 3) / 4, whole, whole])


def test_scaling_a_summed_loss_by_the_number_of_pieces_halves_it():
    assert lesson.batch_in_halves(2.0, "sum", scaled=True) == (1.0, -2.0, -4.0)


def test_for_pieces_of_unequal_size_each_mean_is_weighed_by_its_share_of_the_batch():
    # The docstring's general rule: the pieces' means, each times (piece size / batch size), add up to the whole.
    x = torch.tensor([2.0], requires_grad=True)
    batch = torch.tensor(lesson.BATCH)
    for piece in (batch[:1], batch[1:]):
        (lesson.batch_loss(x, piece, "mean") * len(piece) / len(batch)).backward()
    assert_close(x.grad, torch.tensor([2 * (4 * 2.0 - 10) / 4]))


def test_torch_nns_losses_average_by_default_as_the_lesson_says():
    assert torch.nn.MSELoss().reduction == "mean"
    assert inspect.signature(torch.nn.functional.mse_loss).parameters["reduction"].default == "mean"


@pytest.mark.parametrize("reduction", ["none", "Sum", None])
def test_a_reduction_other_than_sum_or_mean_is_refused(reduction):
    with pytest.raises(ValueError, match=r"^reduction must be one of sum, mean, got "):
        lesson.batch_in_halves(2.0, reduction)


@pytest.mark.parametrize("v", [-2.0, 0.0, 3.5])
@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_the_batch_slope_by_hand_is_the_derivative_of_the_loss(v, reduction):
    x = torch.tensor([v], dtype=torch.float64, requires_grad=True)
    lesson.batch_loss(x, torch.tensor(lesson.BATCH, dtype=torch.float64), reduction).backward()
    assert lesson.batch_slope(v, lesson.BATCH, reduction) == pytest.approx(x.grad.item())


def test_backward_adds_in_place_unless_it_records_a_graph_for_the_gradient(device):
    assert lesson.adds_in_place(2.0, create_graph=False, device=device) is True
    assert lesson.adds_in_place(2.0, create_graph=True, device=device) is False


def test_the_batch_is_the_one_the_lesson_prints():
    assert lesson.BATCH == (1.0, 2.0, 3.0, 4.0)


@pytest.mark.parametrize("v", [-1.0, 2.0, 10.0])
def test_zero_keeps_the_tensor_and_none_drops_it_and_both_leave_the_next_gradient_alone(v, device):
    zeroed, after_zeroed, reused, dropped, after_none = lesson.two_resets(v, device)
    assert (zeroed, reused, dropped) == (0.0, True, True)
    assert (after_zeroed, after_none) == (pytest.approx(2 * v + 3), pytest.approx(2 * v + 3))


def test_optimizer_zero_grad_sets_gradients_to_none_by_default():
    # Read from the signature, as the script does: making an optimizer imports torch._dynamo (a second).
    assert inspect.signature(torch.optim.Optimizer.zero_grad).parameters["set_to_none"].default is True


def test_polynomial_is_the_lessons_expression():
    x = torch.tensor([-3.0, 0.0, 2.0, 5.0], dtype=torch.float64)
    assert_close(lesson.polynomial(x), x * x + 3 * x + 1)


def test_the_defaults_are_the_lessons_x_of_2():
    assert lesson.batch_in_halves() == (2.0, -4.0, -4.0)
    assert lesson.adds_in_place() is True
    assert lesson.two_resets() == (0.0, 7.0, True, True, 7.0)
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        lesson.plan_as_written()


@pytest.mark.thorough
def test_main_says_so_if_a_future_pytorch_lets_the_plans_double_backward_run(monkeypatch, capsys):
    backward = torch.Tensor.backward  # a torch that keeps every graph: the second y.backward() runs
    monkeypatch.setattr(
        torch.Tensor, "backward", lambda t, *args, **kw: backward(t, *args, **{**kw, "retain_graph": True})
    )
    assert lesson.main([]) == 0
    printed = "  prints:\n    tensor([7.])\n    tensor([14.])\n    tensor([7.])\n"
    assert (
        printed + "  and this torch ran it to the end: the 2nd y.backward() did not raise\n" in capsys.readouterr().out
    )


# Gradient descent, with and without zeroing


def within(device):
    """How close a walk keeps to its hand column: float64's rounding, or float32's on MPS, which has no float64."""
    return 1e-5 if torch.device(device).type == "mps" else 1e-9


def closed_form(x0, lr, steps):
    """x_k = -1.5 + (x0 + 1.5) * (1 - 2*lr)**k: each step takes x to x - lr*(2*x + 3)."""
    return [-1.5 + (x0 + 1.5) * (1 - 2 * lr) ** k for k in range(steps + 1)]


def recurrence_never_zeroed(x0, lr, steps):
    """Each step takes lr times the sum of all gradients so far."""
    walk, summed = [x0], 0.0
    for _ in range(steps):
        summed += 2 * walk[-1] + 3
        walk.append(walk[-1] - lr * summed)
    return walk


@pytest.mark.parametrize(  # lr = 1: test_lr_1_swings_between_two_points...
    ("x0", "lr", "steps"),
    thorough_except(
        itertools.product([-4.0, -1.5, 10.0], [0.05, 0.5, 1.1], [1, 12]),
        [(-4.0, 0.05, 12), (10.0, 0.5, 1), (-1.5, 1.1, 12), (10.0, 1.1, 12)],
    ),
)
def test_descent_with_zeroing_follows_the_closed_form(x0, lr, steps, device):
    walk = lesson.descend(x0, lr, steps, True, device)
    assert_close(walk, closed_form(x0, lr, steps), rtol=within(device), atol=within(device), check_dtype=False)


@pytest.mark.parametrize(
    ("x0", "lr", "steps"),
    thorough_except(
        itertools.product([-4.0, 2.0], [0.1, 0.5, 1.5], [5, 12]), [(-4.0, 0.5, 12), (2.0, 1.5, 5), (2.0, 0.1, 12)]
    ),
)
def test_descent_without_zeroing_follows_the_summed_gradients(x0, lr, steps, device):
    walk = lesson.descend(x0, lr, steps, False, device)
    expected = recurrence_never_zeroed(x0, lr, steps)
    assert_close(walk, expected, rtol=within(device), atol=within(device), check_dtype=False)


def test_a_walk_that_never_settles_stays_within_rounding_of_the_recurrence():
    # In float32 this walk drifts from the recurrence by more than the checks' 1e-5 from step 103 on.
    walk = lesson.descend(2.0, 0.9, 200, zero=False)
    assert_close(walk, recurrence_never_zeroed(2.0, 0.9, 200), rtol=1e-9, atol=1e-9, check_dtype=False)


def test_a_thousand_steps_is_the_most_steps_takes():
    assert lesson.whole_number("steps", 1000) == 1000
    with pytest.raises(ValueError, match="from 1 to 1000, got 1001"):
        lesson.whole_number("steps", 1001)


@pytest.mark.parametrize(("lr", "zero"), [(0.1, True), (1.1, True), (0.1, False), (1.9, True)])
def test_the_hand_columns_are_the_closed_form_and_the_recurrence(lr, zero):
    expected = closed_form(2.0, lr, 30) if zero else recurrence_never_zeroed(2.0, lr, 30)
    assert lesson.descent_by_hand(2.0, lr, 30, zero) == pytest.approx(expected)


def test_the_closed_form_by_hand_overflows_to_infinity_rather_than_raising():
    assert lesson.descent_by_hand(2.0, 1.9, 1000)[-1] == math.inf  # (1 - 2*lr)**1000 is beyond any float
    assert lesson.descent_by_hand(-1.5, 1.9, 1000)[-1] == -1.5  # but the minimum stays put


def test_the_walk_reaches_the_minimum_where_the_slope_is_0_for_lr_below_1():
    assert lesson.descend(2.0, 0.5, 1) == [2.0, -1.5]  # lr = 0.5: in one step
    assert lesson.descend(2.0, 0.3, 30)[-1] == pytest.approx(-1.5)  # 3.5 * 0.4**30 from it: 4e-12
    assert lesson.MINIMUM == -1.5 and 2 * lesson.MINIMUM + 3 == 0


def test_lr_1_swings_between_two_points_and_lr_above_1_runs_away():
    assert lesson.descend(2.0, 1.0, 4) == [2.0, -5.0, 2.0, -5.0, 2.0]
    walk = lesson.descend(2.0, 1.1, 20)
    assert all(abs(b + 1.5) > abs(a + 1.5) for a, b in zip(walk, walk[1:], strict=False))


def test_without_zeroing_the_walk_overshoots_the_minimum_and_does_not_settle():
    walk = lesson.descend(2.0, 0.1, 200, zero=False)
    assert min(walk) < -1.5 - 1 and max(walk[100:]) > -1.5 + 1  # still swinging wide after 100 steps


def test_descend_rebuilds_y_each_step_and_leaves_its_defaults_as_the_lesson_prints():
    assert lesson.descend() == pytest.approx([2.0, 1.3, 0.74, 0.292, -0.0664, -0.35312])
    assert lesson.descend(zero=False) == pytest.approx([2.0, 1.3, 0.04, -1.528, -3.0904, -4.33472])


@pytest.mark.parametrize(
    ("lr", "message"), [(0, "lr must be positive, got 0.0"), (-0.1, "lr must be positive, got -0.1")]
)
def test_a_learning_rate_that_is_not_positive_is_refused(lr, message):
    with pytest.raises(ValueError, match=rf"^{re.escape(message)}$"):
        lesson.descend(lr=lr)


@pytest.mark.parametrize("steps", [0, -1, 2.5, 1001, 1e9])
def test_steps_must_be_a_whole_number_from_1_to_1000(steps):
    with pytest.raises(ValueError, match=r"^steps must be a whole number from 1 to 1000, got "):
        lesson.descend(steps=steps)


@pytest.mark.parametrize("steps", [1, 7.0])
def test_steps_at_the_bounds_and_a_whole_float_are_accepted(steps):
    assert len(lesson.descend(steps=steps)) == int(steps) + 1


def test_main_prints_both_walks_beside_both_hand_columns(run):
    code, out, _ = run("03", "--lr", "0.5", "--steps", "3")
    assert code == 0
    rows = [line.split() for line in out.splitlines() if re.fullmatch(r" +\d+( +\S+){4}", line)]
    assert rows == [["0", "2", "2", "2", "2"], ["1", "-1.5", "-1.5", "-1.5", "-1.5"],
                    ["2", "-1.5", "-1.5", "-5", "-5"], ["3", "-1.5", "-1.5", "-5", "-5"]]  # fmt: skip
    assert re.search(r"\n  x_3, zeroed +descent -1.5 ", out)


@pytest.mark.parametrize(
    ("lr", "steps", "leaves"), thorough_except([(1.99, 1000, 649), (1e30, 12, 11)], [(1e30, 12, 11)])
)
def test_a_runaway_walk_is_compared_up_to_the_step_where_it_leaves_float64_and_agrees(run, lr, steps, leaves):
    code, out, _ = run("03", "--lr", str(lr), "--steps", str(steps))
    assert code == 0 and "DIFFER" not in out
    assert (
        f"  at step {leaves} a walk leaves float64's range, no number from there: compared up to {leaves - 1}\n" in out
    )
    assert re.search(rf"  x_{leaves - 1}, zeroed +descent \S+ +by hand \S+ +agree\n", out)
    assert not math.isfinite(lesson.descend(2.0, lr, steps)[leaves])  # the walk itself: no number from there


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--lr", "0"], "argument --lr: lr must be positive, got 0.0"),
        (["--lr=-1"], "argument --lr: lr must be positive, got -1.0"),
        (["--lr", "nan"], "argument --lr: lr must be a finite number within float32 range, got nan"),
        (["--lr", "fast"], "argument --lr: could not convert string to float: 'fast'"),
        (["--steps", "0"], "argument --steps: steps must be a whole number from 1 to 1000, got 0"),
        (["--steps", "2.5"], "argument --steps: steps must be a whole number from 1 to 1000, got 2.5"),
        (["--steps", "1001"], "argument --steps: steps must be a whole number from 1 to 1000, got 1001"),
        (["--steps", "many"], "argument --steps: could not convert string to float: 'many'"),
    ],
)
def test_a_bad_lr_or_steps_exits_2_with_one_line(run, args, message):
    assert run("03", *args) == (2, "", f"03_gradient_accumulation.py: error: {message}\n")


@pytest.mark.parametrize(
    ("x0", "lr"),
    thorough_except(itertools.product([2.0, -4.0, 1e6], [0.01, 0.5, 1.0, 1.1, 1.9]), [(1e6, 1.9)]),
)
def test_never_zeroed_below_lr_2_x_stays_within_the_swing_bound_and_comes_close_to_it(x0, lr):
    walk = lesson.descend(x0, lr, 200, zero=False)
    farthest, bound = max(abs(x + 1.5) for x in walk), lesson.swing_bound(x0, lr)
    assert bound == pytest.approx(abs(x0 + 1.5) * math.sqrt(2 / (2 - lr)))  # the amplitude of A cos + B sin
    assert farthest <= bound * (1 + 1e-12)
    assert farthest >= 0.7 * bound  # a bound the walk nearly reaches, not a loose one


@pytest.mark.thorough
def test_the_readmes_lr_1_1_walk_swings_for_ever_within_its_bound(run):
    code, out, _ = run("03", "--lr", "1.1", "--steps", "100")
    assert code == 0
    assert "  farther from it than |x_0 - (-1.5)|*sqrt(2/(2 - lr)) = 5.21749; this walk, 5.21585\n" in out
    assert re.search(r"never zeroed: farthest +descent 5.21585 +at most 5.21749 +agree\n", out)


@pytest.mark.thorough
def test_from_lr_2_the_never_zeroed_walk_runs_away_and_no_bound_is_claimed(run):
    _, out, _ = run("03", "--lr", "2", "--steps", "40")
    walk = lesson.descend(2.0, 2.0, 80, zero=False)  # at lr = 2, u_k = (A + B*k)*(-1)**k: it grows linearly
    assert "never settles" not in out and abs(walk[40]) > 100 and abs(walk[80]) > 1.9 * abs(walk[40])


def test_a_runaway_walks_rows_stop_where_it_stops_being_a_number(run):
    _, out, _ = run("03", "--lr", "1e30", "--steps", "20")  # |1 - 2*lr|**k is beyond float64 by step 11
    rows = [line.split()[0] for line in out.splitlines() if re.fullmatch(r" +\d+( +\S+){4}", line)]
    assert rows == [str(k) for k in range(12)]  # 0 to 11, the step where it leaves float64's range; 12 to 20 cut


@pytest.mark.parametrize(
    ("x", "lr", "said"),
    [("-1.5", "0.1", "lr < 2: x never settles (unless it starts at -1.5)"),
     ("2", "2.5", "lr >= 2: x runs away (unless it starts at -1.5)")],
)  # fmt: skip
def test_what_the_never_zeroed_walk_does_is_said_with_where_it_does_not_hold(run, x, lr, said):
    code, out, _ = run("03", "--x", x, "--lr", lr)
    assert code == 0 and f"  never zeroed, {said}" in out


@pytest.mark.thorough
def test_a_reader_who_closes_the_pipe_early_gets_no_traceback():
    done = subprocess.Popen([sys.executable, f"{SCRIPTS['03']}.py", "--steps", "1000"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    done.stdout.readline()
    done.stdout.close()  # as `| head -1` does
    assert (done.wait(timeout=120), done.stderr.read()) == (1, b"")
