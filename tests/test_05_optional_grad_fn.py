"""05_optional_grad_fn: y.grad_fn is AddBackward0; the chain rule walked by hand rules equals backward()."""

import re

import pytest
import torch
from conftest import PLAN_CODE, SWEEP, float32, plan_code, plan_output, script, thorough_except
from test_backward_graphs import GRAPHS, LESSON_TREE
from torch.testing import assert_close

import backward_graphs as graphs

lesson = script("05")


def test_y_grad_fn_is_add_backward_and_x_grad_fn_is_none(device):
    x, y = lesson.grad_fn_demo(device=device)
    assert type(y.grad_fn).__name__ == "AddBackward0"
    assert x.grad_fn is None and x.is_leaf and not y.is_leaf


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


# leaf and non-leaf


@pytest.mark.parametrize("v", [2.0, -3.0])
def test_y_grad_stays_none_with_a_warning_unless_retain_grad(v, device):
    x_grad, plain, warning, kept = lesson.non_leaf_gradient(v, device)
    assert x_grad == 2 * v + 3  # backward() did run
    assert plain is None
    assert "is not a leaf Tensor is being accessed" in warning
    assert kept == 1.0


# PyTorch's definition of a leaf: no requires_grad, or no operation behind it
LEAVES = {
    "x": (True, "None", True),
    "y": (True, "AddBackward0", False),
    "z = x*3 in no_grad": (False, "None", True),
    "x.detach()": (False, "None", True),
    "w = leaf*1": (True, "MulBackward0", False),
}


@pytest.mark.parametrize("v", [2.0, -0.5])
def test_every_tensor_that_does_not_require_grad_is_a_leaf_and_one_made_by_an_operation_is_not(v, device):
    table = lesson.leaves_by_definition(v, device)
    assert table == LEAVES
    assert all(lesson.leaf_by_definition(r, g) == leaf for r, g, leaf in table.values())


@pytest.mark.parametrize(
    ("requires_grad", "grad_fn", "leaf"),
    [(True, "None", True), (True, "MulBackward0", False), (False, "None", True), (False, "MulBackward0", True)],
)
def test_the_definition_by_hand(requires_grad, grad_fn, leaf):
    assert lesson.leaf_by_definition(requires_grad, grad_fn) is leaf


def test_a_leaf_moved_or_converted_by_to_is_not_a_leaf(device):
    leaf = torch.ones(2, requires_grad=True)
    moved = leaf.to(device) if device != "cpu" else leaf.to(torch.float64)  # .to() that changes nothing returns leaf
    assert (moved.is_leaf, moved.grad_fn is None) == (False, False)


@pytest.mark.parametrize("v", [2.0, -3.0])
def test_a_parameter_made_by_an_operation_gets_no_grad_and_its_leaf_does(v, device):
    grad, warning, behind = lesson.parameter_made_by_an_operation(v, device)
    assert grad is None
    assert "is not a leaf Tensor is being accessed" in warning
    assert behind == pytest.approx(2 * v)  # d(w*w)/dw * dw/dleaf = 2w * 1


# the script


def test_the_plans_code_is_the_plans_own_and_prints_y_grad_fn(capsys):
    lesson.the_plan()
    assert re.fullmatch(r"<AddBackward0 object at 0x[0-9a-fA-F]+>\n", capsys.readouterr().out)
    assert plan_code(lesson) == PLAN_CODE["05"]


def test_main_draws_the_tree_walks_the_chain_rule_and_exits_0(run):
    code, out, err = run("05")
    assert (code, err) == (0, "")
    (plan,) = plan_output(out)
    assert out.startswith("Example 5, grad_fn\n") and plan.startswith("<AddBackward0 object at 0x")
    assert "  the same steps at the plan's x = 2, on cpu; x.grad_fn = None: x is our own leaf\n" in out
    assert "  y.grad_fn = AddBackward0; the backward graph under it (AccumulateGrad: the node that adds\n" in out
    assert "\n".join("    " + line for line in LESSON_TREE.splitlines()) in out
    assert (
        "  PowBackward0   g = 1 -> (4)   by hand: x**n: times n*x**(n-1), 0 at n = 0; PyTorch's node on g: (4)\n" in out
    )
    assert "  MulBackward0   g = 1 -> (3, -)   by hand: times the other factor; PyTorch's node on g: (3, -)\n" in out
    assert "  x collects 4 + 3 = 7\n" in out
    assert "truly by hand: dy/dx = 1*(1*2*x) + 1*(1*3) = 2*2 + 3 = 7\n" in out
    assert "  z = x*3 in no_grad   requires_grad=False  grad_fn=None           is_leaf=True\n" in out
    assert "  w = leaf*1           requires_grad=True   grad_fn=MulBackward0   is_leaf=False\n" in out
    assert "y.grad = None; reading it warns: The .grad attribute of a Tensor that is not a leaf Tensor" in out
    assert "w = leaf*1 is not a leaf: after (w * w).backward(), w.grad = None; the leaf behind it got 4\n" in out
    assert "with y.retain_grad() before backward(): y.grad = 1 " in out
    assert out.count("0x") == 1  # the plan's print(y.grad_fn); after it, class names, not reprs with addresses
    assert out.count(" agree\n") == 17 + 1 and "DIFFER" not in out  # 17 checks, and the summary


def test_main_with_x_minus_4_collects_minus_8_plus_3(run):
    code, out, _ = run("05", "--x=-4")
    assert code == 0
    assert "  x collects -8 + 3 = -5\n" in out and "2*(-4) + 3 = -5\n" in out


def test_the_defaults_are_the_lessons_x_of_2():
    x, y = lesson.grad_fn_demo()
    assert (x.item(), y.item()) == (2.0, 11.0)
    assert lesson.non_leaf_gradient()[::3] == (7.0, 1.0)


def test_main_exits_1_when_float32_overflows(run):
    code, out, _ = run("05", "--x", "1e20")  # y = 1e40 is beyond float32; the gradient 2e20 is not
    assert code == 1
    assert [line.split()[0] for line in out.splitlines() if " DIFFER (inf: " in line] == ["y"]


# What the graph keeps


# The _saved_ attributes and x._version are private (checked on 2.0.1 to 2.15.0): where a release drops
# them, the tests of what they show skip, and the tests of what backward() does still run.
HAS_SAVED = hasattr(torch.ones(1, requires_grad=True).pow(2).grad_fn, "_saved_self")
HAS_VERSION = hasattr(torch.ones(1), "_version")


@pytest.mark.skipif(not HAS_SAVED, reason="this torch names no _saved_ attributes")
def test_the_graph_saves_x_for_pow_and_the_constant_3_for_mul():
    x, y = lesson.grad_fn_demo()
    saved = dict(lesson.saved_for_backward(y))
    assert saved["PowBackward0"]["_saved_self"] is x  # x itself, not a copy
    assert saved["PowBackward0"]["_saved_exponent"] == 2
    assert saved["MulBackward0"]["_saved_other"].item() == 3
    assert "_saved_self" not in saved["MulBackward0"]  # x is not needed for the gradient of 3*x: not saved
    assert [n for n, _ in lesson.saved_for_backward(y)] == [
        "AddBackward0",
        "AddBackward0",
        "PowBackward0",
        "MulBackward0",
    ]


@pytest.mark.skipif(not HAS_SAVED, reason="this torch names no _saved_ attributes")
def test_a_node_reached_along_two_paths_is_listed_once():
    x = torch.ones(2, requires_grad=True)
    p = x**2
    assert [n for n, _ in lesson.saved_for_backward(p * p)] == ["MulBackward0", "PowBackward0"]


@pytest.mark.skipif(not HAS_SAVED, reason="this torch names no _saved_ attributes")
def test_a_node_that_needs_nothing_saved_is_left_out():
    x = torch.ones(2, requires_grad=True)
    assert lesson.saved_for_backward(-x) == []  # the derivative of -x needs no value from the forward pass
    assert lesson.saved_for_backward(-x * 2) == [("MulBackward0", {"_saved_other": pytest.approx(2)})]


@pytest.mark.parametrize("v", [2.0, -0.5])
def test_an_in_place_change_after_the_forward_pass_makes_backward_raise(v, device):
    before, after, error = lesson.version_counter(v, device)
    assert "one of the variables needed for gradient computation has been modified by an inplace operation" in error
    if HAS_VERSION:
        assert before == 0 and after > before  # the docs promise it goes up, not by how much
        assert f"is at version {after}; expected version {before} instead" in error
    else:
        assert before is None and after is None


@pytest.mark.parametrize("v", [2.0, -0.5, 10.0])
def test_changing_x_after_backward_or_rebuilding_y_works(v, device):
    grad_then, x_then, grad_rebuilt = lesson.change_after_backward(v, device)
    assert (grad_then, x_then, grad_rebuilt) == (2 * v + 3, v + 1, 2 * (v + 1) + 3)


@pytest.mark.parametrize("v", [2.0, -0.5])
def test_detach_shares_the_counter_and_data_does_not(v, device):
    x, y = lesson.grad_fn_demo(v, device)
    x.detach().add_(1)  # counted, as a change through x itself is
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()
    x, y = lesson.grad_fn_demo(v, device)
    x.data.add_(1)  # not counted: backward() runs on the changed x and gets the gradient wrong
    y.backward()
    assert x.grad.item() == 2 * (v + 1) + 3 != 2 * v + 3


@pytest.mark.skipif(not (HAS_SAVED and HAS_VERSION), reason="this torch lacks a private name main shows")
def test_main_says_what_the_graph_kept_and_how_the_version_counter_guards_it(run):
    code, out, _ = run("05")
    assert code == 0
    assert "  PowBackward0   _saved_exponent = 2, _saved_self = tensor([2.], requires_grad=True) (x itself)\n" in out
    assert "  MulBackward0   _saved_other = tensor(3)\n" in out
    assert "  x._version, x's version counter (underscored too), counts the in-place changes made to x:\n" in out
    assert "  0 after y = ..., 1 after x.add_(1) under no_grad;\n" in out
    assert "  PowBackward0 saved x, so y.backward() raises RuntimeError:\n  one of the variables needed" in out
    assert "change x after backward(): x.grad = 7, then x = 3;\n  or rebuild y from the changed x: x.grad = 9\n" in out


def test_a_version_counter_that_did_not_go_up_is_a_differ(monkeypatch, capsys):
    monkeypatch.setattr(lesson, "version_counter", lambda x, device: (0, 0, "an error"))
    assert lesson.main([]) == 1
    assert re.search(r"x._version went up by 1 +torch 0 +by hand 1 +DIFFER\n", capsys.readouterr().out)


def test_where_torch_hides_the_private_names_main_still_agrees(monkeypatch, capsys):
    monkeypatch.setattr(lesson, "saved_for_backward", lambda tensor: [])
    monkeypatch.setattr(lesson, "version_counter", lambda x, device: (None, None, "an error"))
    assert lesson.main([]) == 0
    out = capsys.readouterr().out
    assert "PowBackward0 saved x" not in out and "x._version went up" not in out


# The graph drawn, as the script draws it


def test_the_recorded_steps_are_the_lessons_graph_with_each_step_named():
    steps, (x, y) = lesson.recorded_steps(), lesson.grad_fn_demo()
    assert graphs.backward_graph(steps["y"], steps) == graphs.backward_graph(y, {"x": x}) == LESSON_TREE
    assert [t.item() for t in steps.values()] == [2.0, 4.0, 6.0, 10.0, 11.0]


@pytest.mark.parametrize("style", ["mermaid", "dot", "text"])
def test_main_with_graph_prints_only_the_graph(run, style):
    code, out, err = run("05", "--graph", style, "--x", "3")
    assert (code, err) == (0, "")
    steps = lesson.recorded_steps(3.0)
    assert out == graphs.backward_graph(steps["y"], steps, style) + "\n"


def test_main_refuses_a_graph_style_it_does_not_draw_in_one_line(run):
    code, out, err = run("05", "--graph", "svg")
    assert (code, out) == (2, "")
    assert (
        err.startswith("05_optional_grad_fn.py: error: argument --graph: invalid choice: 'svg'")
        and err.count("\n") == 1
    )


# The walk by hand: a rule beside each node's name, checked against PyTorch's node


def hand_rule_cases():
    """(what, output) for a node of each hand rule, met at several inputs, tensors of several numbers among them."""
    a = torch.tensor([1.5, -0.5, 2.0], requires_grad=True)
    b = torch.tensor([0.5, 3.0, -1.25], requires_grad=True)
    return {
        "AddBackward0": a + b, "MulBackward0": a * b, "DivBackward0": a / b, "NegBackward0": -a,
        "PowBackward0": a**3, "ExpBackward0": a.exp(), "SinBackward0": a.sin(), "MulBackward0 by 3": 3 * a,
        "DivBackward0 by 2": a / 2, "AddBackward0 of 1": a + 1,
        "AddBackward0 alpha 2.5": torch.add(a, b, alpha=2.5),  # alpha is 1 in the lesson
    }  # fmt: skip


@pytest.mark.skipif(not hasattr(torch.ones(1, requires_grad=True).pow(2).grad_fn, "_saved_self"), reason="no _saved_")
@pytest.mark.parametrize("case", list(hand_rule_cases()))
def test_each_hand_rule_gives_what_pytorchs_node_gives(case):
    output = hand_rule_cases()[case]
    node, g = output.grad_fn, torch.tensor([0.5, -2.0, 1.0])
    by_hand = lesson.by_hand(node, [g])
    assert by_hand is not None and type(node).__name__ == case.split()[0]
    for mine, torchs in zip(by_hand, graphs.call_node(node, [g]), strict=True):
        assert (mine is None) == (torchs is None)
        if mine is not None:
            assert_close(mine, torchs)


def test_every_node_of_the_lessons_y_and_of_c_has_a_hand_rule():
    _, y = lesson.grad_fn_demo()
    a, b = (torch.tensor([v], requires_grad=True) for v in (2.0, 3.0))
    for output in (y, a**2 * b):
        nodes, stack = set(), [output.grad_fn]
        while stack:
            node = stack.pop()
            if node is not None and not hasattr(node, "variable"):
                nodes.add(type(node).__name__)
                stack.extend(child for child, _ in node.next_functions)
        assert nodes <= set(lesson.HAND_RULES), nodes


def test_a_node_without_a_hand_rule_has_none_and_the_walk_calls_pytorchs_node():
    x = torch.tensor([0.3], requires_grad=True)
    assert lesson.by_hand(torch.tanh(x).grad_fn, [torch.ones(1)]) is None
    assert_close(lesson.chain_rule_by_hand(torch.tanh(x) * x)[x], torch.autograd.grad(torch.tanh(x) * x, x)[0])


def test_where_torch_hides_what_a_node_saved_the_walk_calls_pytorchs_node(monkeypatch):
    _, y = lesson.grad_fn_demo()
    monkeypatch.setitem(lesson.HAND_RULES, "PowBackward0", ("x**n", lambda n, g: (g * n._saved_nothing,)))
    assert lesson.by_hand(y.grad_fn.next_functions[0][0].next_functions[0][0], [torch.ones(1)]) is None
    assert lesson.chain_rule_by_hand(y)[next(iter(lesson.chain_rule_by_hand(y)))].item() == 7.0


@pytest.mark.parametrize(  # the default run: y, c, the tutorial's model, sin*exp/division (nodes with no rule too)
    "build", thorough_except([(b,) for b in GRAPHS], [(b,) for b in GRAPHS[:4]]), ids=lambda b: b.__name__[6:]
)
def test_the_chain_rule_by_hand_equals_autograd_on_every_graph(build, device, shapes_known):
    output, leaves = build(device)
    by_hand = lesson.chain_rule_by_hand(output)
    assert set(map(id, by_hand)) == set(map(id, leaves))
    for leaf, grad in zip(leaves, torch.autograd.grad(output, leaves), strict=True):
        assert_close(by_hand[leaf], grad)


def test_the_walk_shown_says_which_steps_are_by_hand_and_which_by_pytorchs_node(capsys):
    x = torch.tensor([2.0], requires_grad=True)
    walked, agreed = lesson.walk_shown(torch.tanh(x) * x, x)
    out = capsys.readouterr().out
    assert "  TanhBackward0  g = 2 -> (0.141302)   by PyTorch's node\n" in out
    assert "  MulBackward0   g = 1 -> (2, 0.964028)   by hand: times the other factor;" in out
    assert walked == pytest.approx(
        torch.tanh(torch.tensor(2.0)).item() + 2 * (1 - torch.tanh(torch.tensor(2.0)) ** 2).item()
    )
    assert agreed == (1, 1)  # one step by a hand rule, MulBackward0's, and it agreed


def test_a_hand_rule_that_disagrees_with_pytorchs_node_is_a_differ(monkeypatch, capsys):
    monkeypatch.setitem(
        lesson.HAND_RULES, "PowBackward0", ("x**n: times n*x**n", lambda n, g: (g * 2 * n._saved_self**2,))
    )
    assert lesson.main([]) == 1
    assert re.search(r"hand steps = PyTorch's node +walk 3 +of 4 +DIFFER\n", capsys.readouterr().out)


@pytest.mark.parametrize("expr", thorough_except([("x**0",), ("x**0 + x",), ("x**0 * x**2",)], [("x**0 + x",)]))
def test_the_walk_by_hand_takes_x_to_the_0_as_pytorchs_node_does_even_at_0(run, expr):
    code, out, err = run("05", "--expr", expr, "--x", "0")
    assert (code, err) == (0, "") and "DIFFER" not in out
    assert re.search(r"  PowBackward0   g = \S+ -> \(0\)   by hand: x\*\*n: times n\*x\*\*\(n-1\), 0 at n = 0", out)


@pytest.mark.parametrize(("x", "n"), [(0.0, 0.0), (2.0, 0.0), (0.0, 2.0), (-1.5, 3.0), (4.0, 0.5), (0.0, 1.0)])
def test_the_power_rule_by_hand_is_what_pytorchs_node_returns(x, n):
    y = torch.tensor([x], requires_grad=True) ** n
    (by_pytorch,) = graphs.call_node(y.grad_fn, [torch.ones(1)])
    assert_close(lesson.power_rule(y.grad_fn), by_pytorch)


def test_05_draws_y_equal_to_x_as_a_leaf_with_no_node_and_exits_0(run):
    code, out, err = run("05", "--expr", "x", "--x", "0.5")
    assert (code, err) == (0, "")
    assert "  no backward graph: a leaf that requires grad has grad_fn None\n" in out
    assert "  y is x itself, a leaf: no node to walk, and x collects dy/dy itself\n" in out
    assert out.endswith("\nSummary: 1 check, all agree\n")
