"""05_optional_grad_fn: y.grad_fn is AddBackward0; the graph drawn; the chain rule walked by hand equals backward()."""

import html
import re
import shutil
import subprocess
import sys
import types

import pytest
import torch
import torch.utils.checkpoint  # PyTorch 2.0 does not import it with torch
from conftest import SWEEP, float32, script
from torch.testing import assert_close

lesson = script("05")

LESSON_TREE = """\
AddBackward0
  AddBackward0
    PowBackward0
      AccumulateGrad  (x)
    MulBackward0
      AccumulateGrad  (x)
      None  (an input that does not require grad: no gradient flows to it)
  None  (an input that does not require grad: no gradient flows to it)"""


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


# backward_graph


def test_the_tree_of_y_shows_each_node_root_first_and_x_under_both_paths():
    x, y = lesson.grad_fn_demo()
    assert lesson.backward_graph(y, {"x": x}) == LESSON_TREE


def test_a_leaf_the_caller_did_not_name_is_shown_by_its_shape():
    _, y = lesson.grad_fn_demo()
    assert lesson.backward_graph(y).count("AccumulateGrad  (a leaf of shape [1])") == 2


def test_a_tensor_without_history_gets_one_line_saying_so():
    x, _ = lesson.grad_fn_demo()
    assert lesson.backward_graph(x) == "no backward graph: a leaf that requires grad has grad_fn None"
    assert (
        lesson.backward_graph(torch.ones(2)) == "no backward graph: a tensor autograd does not track has grad_fn None"
    )


def tutorial_model(device="cpu"):
    """The official tutorial's one-layer model, as 02 builds it (z = x @ w + b, loss =
    binary_cross_entropy_with_logits(z, y)), before backward(): (loss, {"w": w, "b": b})."""
    x, y, w, b = script("02").tutorial_tensors(0, device)
    return script("02").tutorial_loss(x, y, w, b), {"w": w, "b": b}


def test_the_tree_of_the_tutorials_model_reaches_w_and_b_and_marks_the_constants():
    loss, leaves = tutorial_model()
    lines = lesson.backward_graph(loss, leaves).splitlines()
    assert lines[0] == "BinaryCrossEntropyWithLogitsBackward0"
    assert lines[1] == "  AddBackward0"
    assert [line.strip() for line in lines if "AccumulateGrad" in line] == [
        "AccumulateGrad  (w)",
        "AccumulateGrad  (b)",
    ]
    assert lines[-1] == "  None  (an input that does not require grad: no gradient flows to it)"  # the data y
    assert all(re.fullmatch(r"(  )*\S.*", line) for line in lines)


def test_a_graph_deeper_than_pythons_recursion_limit_is_drawn():
    depth = sys.getrecursionlimit() + 100
    y = x = torch.ones(1, requires_grad=True)
    for _ in range(depth):
        y = y * 1.0
    lines = lesson.backward_graph(y, {"x": x}).splitlines()
    assert len(lines) == 2 * depth + 1  # each MulBackward0 with its constant, then x
    assert lines[depth] == "  " * depth + "AccumulateGrad  (x)"  # the deepest line


# chain_rule_by_hand: graphs to walk, each returning (output, leaves that require grad)


def graph_lesson(device):
    x = torch.tensor([2.0], device=device, requires_grad=True)
    return lesson.polynomial(x), [x]


def graph_product(device):
    a = torch.tensor([2.0], device=device, requires_grad=True)
    b = torch.tensor([3.0], device=device, requires_grad=True)
    return a**2 * b, [a, b]


def graph_tutorial(device):
    loss, leaves = tutorial_model(device)
    return loss, list(leaves.values())


def graph_sin_exp_division(device):
    x = torch.tensor([0.3, -1.2, 2.0], device=device, requires_grad=True)
    return (torch.sin(x) * torch.exp(x) / (x**2 + 1)).sum(), [x]


def graph_matmul_and_reductions(device):
    a = torch.linspace(-1, 2, 6, device=device).reshape(2, 3).requires_grad_()
    b = torch.linspace(0.5, -1, 12, device=device).reshape(3, 4).requires_grad_()
    m = a @ b
    return m.mean() * m.sum() + m.amax(), [a, b]


def graph_constants_and_broadcasting(device):
    v = torch.tensor([1.0, -2.0, 3.0], device=device, requires_grad=True)
    s = torch.tensor([0.5], device=device, requires_grad=True)  # broadcast over v
    constant = torch.tensor([4.0, 5.0, 6.0], device=device)
    return ((v * constant + s.exp()) / 7).pow(2).sum(), [v, s]


def graph_several_outputs_of_one_node(device):
    a = torch.tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)
    first, _, third = a.unbind()  # one node, three outputs, one of them unused
    return first * third + third, [a]


class Blocked(torch.autograd.Function):
    """Passes its input through, but sends no gradient back: the node before it receives none."""

    @staticmethod
    def forward(ctx, t):
        return t.clone()

    @staticmethod
    def backward(ctx, grad):
        return None


def graph_a_path_that_sends_no_gradient(device):
    x = torch.tensor([1.5, -0.5], device=device, requires_grad=True)
    return Blocked.apply(x.exp()).sum() + (x * 3).sum(), [x]


def graph_output_is_the_last_output_of_its_node(device):
    a = torch.tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)
    return a.unbind()[2], [a]  # its grad_fn, UnbindBackward0, takes three gradients: this one is the 3rd


GRAPHS = [
    graph_lesson,
    graph_product,
    graph_tutorial,
    graph_sin_exp_division,
    graph_matmul_and_reductions,
    graph_constants_and_broadcasting,
    graph_several_outputs_of_one_node,
    graph_a_path_that_sends_no_gradient,
    graph_output_is_the_last_output_of_its_node,
]


@pytest.fixture(params=["metadata", "no metadata"])
def shapes_known(request, monkeypatch):
    """Each walk twice: with Node._input_metadata, and without it as on PyTorch 2.0, where the walk must infer it."""
    if request.param == "no metadata":
        real = lesson.input_shapes

        def hidden(node):
            return types.SimpleNamespace(variable=node.variable) if hasattr(node, "variable") else object()

        monkeypatch.setattr(lesson, "input_shapes", lambda node: real(hidden(node)))
    return request.param


@pytest.mark.parametrize("build", GRAPHS, ids=lambda build: build.__name__.removeprefix("graph_"))
def test_the_chain_rule_by_hand_equals_autograd_on_every_graph(build, device, shapes_known):
    output, leaves = build(device)
    by_hand = lesson.chain_rule_by_hand(output)
    expected = torch.autograd.grad(output, leaves)
    assert set(map(id, by_hand)) == set(map(id, leaves))
    for leaf, grad in zip(leaves, expected, strict=True):
        assert_close(by_hand[leaf], grad)


@pytest.mark.usefixtures("shapes_known")
def test_without_metadata_a_graph_that_leaves_an_operations_last_output_unused_is_refused():
    a = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    first, second, _ = a.unbind()
    if lesson.input_shapes(first.grad_fn) is not None:  # PyTorch 2.0 has no metadata, either way
        assert lesson.chain_rule_by_hand(first * second)[a].tolist() == [2.0, 1.0, 0.0]
    else:  # the walk sees edges into two of UnbindBackward0's three inputs, and the node refuses two gradients
        with pytest.raises(ValueError, match=r"^chain_rule_by_hand cannot call UnbindBackward0: "):
            lesson.chain_rule_by_hand(first * second)


def test_the_chain_rule_by_hand_gives_7_for_the_lessons_y_and_12_and_4_for_c():
    (y, (x,)), (c, (a, b)) = graph_lesson("cpu"), graph_product("cpu")
    assert lesson.chain_rule_by_hand(y)[x].item() == 7.0
    by_hand = lesson.chain_rule_by_hand(c)
    assert (by_hand[a].item(), by_hand[b].item()) == (12.0, 4.0)


def test_the_chain_rule_by_hand_uses_neither_backward_nor_grad_and_leaves_grad_alone(monkeypatch):
    output, leaves = graph_tutorial("cpu")

    def forbidden(*args, **kwargs):
        raise AssertionError("chain_rule_by_hand must walk the graph itself")

    for target, attribute in [(torch.Tensor, "backward"), (torch.autograd, "backward"), (torch.autograd, "grad")]:
        monkeypatch.setattr(target, attribute, forbidden)
    by_hand = lesson.chain_rule_by_hand(output)
    assert [leaf.grad for leaf in leaves] == [None, None]
    assert all(not grad.requires_grad for grad in by_hand.values())  # no graph built while walking


def test_the_chain_rule_by_hand_sees_each_node_once_with_gradient_in_and_out():
    _, y = lesson.grad_fn_demo()
    steps = []
    lesson.chain_rule_by_hand(
        y, lambda node, grads_in, grads_out: steps.append((type(node).__name__, grads_in, grads_out))
    )
    names = [name for name, _, _ in steps]
    assert names[:2] == ["AddBackward0", "AddBackward0"] and sorted(names[2:]) == ["MulBackward0", "PowBackward0"]
    outgoing = {name: [None if g is None else g.item() for g in grads_out] for name, _, grads_out in steps}
    assert outgoing["PowBackward0"] == [4.0] and outgoing["MulBackward0"] == [3.0, None]


def test_the_chain_rule_by_hand_refuses_a_leaf_and_an_output_of_several_elements():
    x = torch.ones(3, requires_grad=True)
    with pytest.raises(ValueError, match="output has no grad_fn"):
        lesson.chain_rule_by_hand(x)
    with pytest.raises(ValueError, match="output must hold one element"):
        lesson.chain_rule_by_hand(x * 2)


class NoBackward(torch.autograd.Function):
    """A Function written in Python without a backward: its node has nothing to call."""

    @staticmethod
    def forward(ctx, t):
        return t * 2


def reentrant_checkpoint(function, x):
    """torch.utils.checkpoint.checkpoint(function, x, use_reentrant=True), through the Function it applies:
    checkpoint() itself imports torch._dynamo on first use, a second of this suite's time. CheckpointFunction
    is not in checkpoint's __all__ (checked on 2.0.1 to 2.15.0): where it is gone, checkpoint() serves."""
    checkpointing = getattr(torch.utils.checkpoint, "CheckpointFunction", None)
    if checkpointing is None:
        return torch.utils.checkpoint.checkpoint(function, x, use_reentrant=True)
    return checkpointing.apply(function, True, x)  # (run_function, preserve_rng_state, *args)


def graph_of_each_kind_not_walked():
    """(what, output) for each kind of graph chain_rule_by_hand does not walk, and the error it names."""
    x = torch.tensor([0.5, 1.5], requires_grad=True)
    weight = torch.ones(4, 2, requires_grad=True)
    freed = (x * x).sum()
    freed.backward()  # frees the values MulBackward0 saved
    return [
        ("sparse", torch.nn.functional.embedding(torch.tensor([0, 2]), weight, sparse=True).sum(), "sparse gradient"),
        ("reentrant", reentrant_checkpoint(torch.sin, x).sum(), "checkpointing"),
        ("no backward", NoBackward.apply(x).sum(), "call NoBackwardBackward: You must implement"),
        ("freed", freed, "call MulBackward0: Trying to backward through the graph a second time"),
    ]


@pytest.mark.parametrize("kind", range(4), ids=["sparse", "reentrant checkpoint", "no backward", "freed graph"])
def test_a_graph_the_walk_does_not_handle_raises_one_clear_value_error(kind):
    _, output, message = graph_of_each_kind_not_walked()[kind]
    with pytest.raises(ValueError, match=rf"^chain_rule_by_hand cannot (.* )?{message}"):
        lesson.chain_rule_by_hand(output)


def test_a_node_with_nothing_to_call_is_named_in_the_error():
    with pytest.raises(ValueError, match=r"^chain_rule_by_hand cannot call object: it has no backward callable"):
        lesson.call_by_hand(object(), [])


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


def test_main_draws_the_tree_walks_the_chain_rule_and_exits_0(run):
    code, out, err = run("05")
    assert (code, err) == (0, "")
    assert "y = 11   y.grad_fn = AddBackward0, y.is_leaf = False " in out
    assert "x = 2   x.grad_fn = None, x.is_leaf = True " in out
    assert "\n".join("  " + line for line in LESSON_TREE.splitlines()) in out
    assert "each step computed by the node autograd\nrecorded" in out  # the walk is by hand, the steps are not
    assert "  PowBackward0   1 * (4) = (4)\n" in out and "  MulBackward0   1 * (3, -) = (3, -)\n" in out
    assert "  x collects 4 + 3 = 7\n" in out
    assert "truly by hand: dy/dx = 1*(1*2*x) + 1*(1*3) = 2*2 + 3 = 7\n" in out
    assert "  z = x*3 in no_grad   requires_grad=False  grad_fn=None           is_leaf=True\n" in out
    assert "  w = leaf*1           requires_grad=True   grad_fn=MulBackward0   is_leaf=False\n" in out
    assert "y.grad = None; reading it warns: The .grad attribute of a Tensor that is not a leaf Tensor" in out
    assert "w = leaf*1 is not a leaf: after (w * w).backward(), w.grad = None; the leaf behind it got 4\n" in out
    assert "with y.retain_grad() before backward(): y.grad = 1 " in out
    assert "0x" not in out  # class names, not reprs with addresses
    assert out.count(" agree\n") == 16 and "DIFFER" not in out


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
    assert [line.split()[0] for line in out.splitlines() if line.endswith("DIFFER")] == ["y"]


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
    assert "  PowBackward0   _saved_exponent = 2, _saved_self = 2 (x itself)\n" in out
    assert "  MulBackward0   _saved_other = 3\n" in out
    assert "x._version goes up with in-place changes: 0 after y = ..., 1 after x.add_(1) under no_grad;\n" in out
    assert "  PowBackward0 saved x, so y.backward() raises RuntimeError:\n  one of the variables needed" in out
    assert "change x after backward(): x.grad = 7, then x = 3;\n  or rebuild y from the changed x: x.grad = 9\n" in out


def test_a_version_counter_that_did_not_go_up_is_a_differ(monkeypatch, capsys):
    monkeypatch.setattr(lesson, "version_counter", lambda x, device: (0, 0, "an error"))
    assert lesson.main([]) == 1
    assert re.search(r"x._version went up +torch False +by hand True +DIFFER\n", capsys.readouterr().out)


def test_where_torch_hides_the_private_names_main_still_agrees(monkeypatch, capsys):
    monkeypatch.setattr(lesson, "saved_for_backward", lambda tensor: [])
    monkeypatch.setattr(lesson, "version_counter", lambda x, device: (None, None, "an error"))
    assert lesson.main([]) == 0
    out = capsys.readouterr().out
    assert "PowBackward0 saved x" not in out and "x._version went up" not in out


# The graph as a picture: Mermaid and DOT

MERMAID_BOX = re.compile(r'    (\w+)\["((?:[^"])*)"\]')
MERMAID_EDGE = re.compile(r'    (\w+) -->(?:\|"([^"]*)"\|)? (\w+)')
DOT_BOX = re.compile(r'    (\w+) \[label="((?:[^"\\]|\\.)*)"(, style=dashed)?\];')
DOT_EDGE = re.compile(r'    (\w+) -> (\w+)(?: \[label="((?:[^"\\]|\\.)*)"\])?;')


def read_mermaid(text):
    """(boxes {id: lines}, edges [(from, to, label)]) read back from backward_graph's Mermaid; every line must parse."""
    lines = text.splitlines()
    assert lines[0] == "flowchart TD"
    boxes, edges = {}, []
    for line in lines[1:]:
        if box := MERMAID_BOX.fullmatch(line):
            assert box[1] not in boxes, f"box {box[1]} declared twice"
            decoded = box[2]
            for code, char in (("#quot;", '"'), ("#lt;", "<"), ("#gt;", ">"), ("#35;", "#")):
                decoded = decoded.replace(code, char)
            boxes[box[1]] = decoded.split("<br/>")
        elif edge := MERMAID_EDGE.fullmatch(line):
            edges.append((edge[1], edge[3], edge[2] or ""))
        else:
            assert re.fullmatch(r"    classDef nograd stroke-dasharray: 4 4|    class [\w,]+ nograd", line), line
    return boxes, edges


def read_dot(text):
    """The same from backward_graph's DOT: a digraph whose every line is a box, an edge or a setting."""
    lines = text.splitlines()
    assert (lines[0], lines[1], lines[-1]) == ("digraph backward {", "    node [shape=box];", "}")
    boxes, edges = {}, []
    for line in lines[2:-1]:
        if box := DOT_BOX.fullmatch(line):
            assert box[1] not in boxes
            boxes[box[1]] = [re.sub(r"\\(.)", r"\1", part) for part in re.split(r"(?<!\\)\\n", box[2])]
        else:
            edge = DOT_EDGE.fullmatch(line)
            assert edge, line
            edges.append((edge[1], edge[2], re.sub(r"\\(.)", r"\1", edge[3] or "")))
    return boxes, edges


READERS = {"mermaid": read_mermaid, "dot": read_dot}


def title(node, names):
    """The first line of the box a picture should draw for node (None: a constant input), worked out here."""
    named = {id(t.grad_fn if t.grad_fn is not None else t): n for n, t in names.items()}
    if node is None:
        return "no grad: a constant or data"
    if hasattr(node, "variable"):
        return named.get(id(node.variable), f"leaf, shape {list(node.variable.shape)}")
    return type(node).__name__ + (f" ({named[id(node)]})" if id(node) in named else "")


def structure(output):
    """The graph under output, independently: {node: its class name}, and [(node, child or None)] per edge."""
    nodes, edges, stack = {}, [], [output.grad_fn]
    while stack:
        node = stack.pop()
        if node in nodes:
            continue
        nodes[node] = type(node).__name__
        for child, _ in node.next_functions:
            edges.append((node, child))
            if child is not None:
                stack.append(child)
    return nodes, edges


def graphs_drawn():
    steps = lesson.recorded_steps()
    a, b = (torch.tensor([v], requires_grad=True) for v in (2.0, 3.0))
    loss, leaves = tutorial_model()
    return {
        "lesson": (steps["y"], steps),
        "c = a**2 * b": (a**2 * b, {"a": a, "b": b}),
        "tutorial": (loss, leaves),
    }


@pytest.mark.parametrize("style", ["mermaid", "dot"])
@pytest.mark.parametrize("graph", ["lesson", "c = a**2 * b", "tutorial"])
def test_each_node_and_leaf_is_one_box_and_each_edge_one_arrow(graph, style):
    output, names = graphs_drawn()[graph]
    boxes, edges = READERS[style](lesson.backward_graph(output, names, style))
    nodes, expected_edges = structure(output)
    constants = sum(child is None for _, child in expected_edges)
    assert len(boxes) == len(nodes) + constants  # one per node and leaf, one per constant input
    assert len(edges) == len(expected_edges)
    assert all(start in boxes and end in boxes for start, end, _ in edges)  # every arrow's ends are declared
    # Each arrow joins the boxes it should: read back by their titles, unique here but for the constants
    titles = [lines[0] for lines in boxes.values() if lines[0] != title(None, names)]
    assert len(set(titles)) == len(titles)
    drawn = sorted((boxes[start][0], boxes[end][0]) for start, end, _ in edges)
    assert drawn == sorted((title(node, names), title(child, names)) for node, child in expected_edges)
    titles = sorted(lines[0].split(" (")[0] for lines in boxes.values() if lines[0] != "no grad: a constant or data")
    leaf_names = {id(t): n for n, t in names.items()}
    expected = [id(n.variable) for n in nodes if hasattr(n, "variable")]
    assert titles == sorted(
        [c for n, c in nodes.items() if not hasattr(n, "variable")] + [leaf_names[i] for i in expected]
    )


@pytest.mark.parametrize("style", ["mermaid", "dot"])
@pytest.mark.parametrize("v", [2.0, -1.5, 0.5])
def test_xs_box_shows_its_value_and_the_gradient_2x_plus_3_collected_from_both_paths(v, style):
    steps = lesson.recorded_steps(v)
    boxes, edges = READERS[style](lesson.backward_graph(steps["y"], steps, style))
    (x_id,) = [i for i, lines in boxes.items() if lines[0] == "x"]
    assert boxes[x_id] == ["x", f"value {v:g}", f"grad {2 * v + 3:g}"]
    into_x = sorted(float(label) for _, end, label in edges if end == x_id)
    assert into_x == sorted([2 * v, 3.0])  # 2x via x**2, 3 via 3*x
    (root,) = [lines for lines in boxes.values() if lines[0] == "AddBackward0 (y)"]
    assert root == ["AddBackward0 (y)", f"value {v * v + 3 * v + 1:g}", "grad 1"]


@pytest.mark.parametrize(
    ("values", "text"), [([7.0], "7"), ([1.0, 2.5, -3.0, 4.0], "[1, 2.5, -3, 4]"), ([0.0] * 5, "shape [5]")]
)
def test_up_to_four_numbers_are_shown_and_more_by_their_shape(values, text):
    assert lesson.tensor_text(torch.tensor(values)) == text


def test_a_gradient_that_does_not_fit_its_input_is_refused_in_one_line(monkeypatch):
    node = (torch.ones(3, requires_grad=True) * 2).grad_fn
    monkeypatch.setattr(lesson, "input_shapes", lambda node: [torch.Size([2])])  # a wrong guess, as on 2.0 could be
    with pytest.raises(ValueError, match=r"^chain_rule_by_hand cannot fit a gradient of shape \[3\] to \[2\]$"):
        lesson.summed_to_input(torch.ones(3), node, 0)


def test_the_picture_names_a_leaf_by_its_shape_and_shows_a_large_tensor_by_its_shape():
    loss, leaves = tutorial_model()
    boxes, _ = read_mermaid(lesson.backward_graph(loss, {"b": leaves["b"]}, "mermaid"))
    assert ["leaf, shape [5, 3]", "value shape [5, 3]", "grad shape [5, 3]"] in boxes.values()


@pytest.mark.parametrize("style", ["mermaid", "dot"])
def test_any_name_is_quoted_so_that_the_picture_stays_well_formed(style):
    x = torch.tensor([1.0], requires_grad=True)
    odd = 'a "quoted" <name> #1 [x] {y} \\ end'
    boxes, _ = READERS[style](lesson.backward_graph((x * 2).sum(), {odd: x}, style))
    assert [odd, "value 1", "grad 2"] in boxes.values()


def test_a_graph_the_walk_cannot_take_is_drawn_with_the_gradients_backward_left():
    weight = torch.ones(4, 2, requires_grad=True)
    loss = torch.nn.functional.embedding(torch.tensor([0, 2]), weight, sparse=True).sum()
    before, _ = read_mermaid(lesson.backward_graph(loss, {"weight": weight}, "mermaid"))
    assert ["weight", "value shape [4, 2]"] in before.values()  # no gradient known yet
    loss.backward()
    after, _ = read_mermaid(lesson.backward_graph(loss, {"weight": weight}, "mermaid"))
    assert ["weight", "value shape [4, 2]", "grad shape [4, 2]"] in after.values()


def test_the_recorded_steps_are_the_lessons_graph_with_each_step_named():
    steps, (x, y) = lesson.recorded_steps(), lesson.grad_fn_demo()
    assert lesson.backward_graph(steps["y"], steps) == lesson.backward_graph(y, {"x": x}) == LESSON_TREE
    assert [t.item() for t in steps.values()] == [2.0, 4.0, 6.0, 10.0, 11.0]


@pytest.mark.parametrize("style", ["mermaid", "dot"])
@pytest.mark.parametrize("requires_grad", [True, False])
def test_a_tensor_with_no_graph_is_one_box(style, requires_grad):
    x = torch.tensor([2.0], requires_grad=requires_grad)
    text = lesson.backward_graph(x, {"x": x}, style)
    boxes, edges = READERS[style](text)
    assert (list(boxes.values()), edges) == ([["x", "value 2"]], [])
    assert ("dash" in text) == (not requires_grad)  # stroke-dasharray in Mermaid, style=dashed in DOT


def test_an_unknown_style_is_refused():
    with pytest.raises(ValueError, match=r"^style must be one of text, mermaid, dot, got 'svg'$"):
        lesson.backward_graph(lesson.grad_fn_demo()[1], style="svg")


@pytest.mark.parametrize("style", ["mermaid", "dot", "text"])
def test_main_with_graph_prints_only_the_graph(run, style):
    code, out, err = run("05", "--graph", style, "--x", "3")
    assert (code, err) == (0, "")
    steps = lesson.recorded_steps(3.0)
    assert out == lesson.backward_graph(steps["y"], steps, style) + "\n"


def test_main_refuses_a_graph_style_it_does_not_draw_in_one_line(run):
    code, out, err = run("05", "--graph", "svg")
    assert (code, out) == (2, "")
    assert (
        err.startswith("05_optional_grad_fn.py: error: argument --graph: invalid choice: 'svg'")
        and err.count("\n") == 1
    )


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed (CI need not install it)")
def test_graphviz_renders_the_dot_into_an_svg_naming_every_box():
    steps = lesson.recorded_steps()
    text = lesson.backward_graph(steps["y"], steps, "dot")
    svg = subprocess.run(["dot", "-Tsvg"], input=text, capture_output=True, text=True, check=True).stdout
    boxes, _ = read_dot(text)
    assert all(f"<title>{box}</title>" in svg for box in boxes)
    assert all(all(f">{html.escape(line, quote=False)}</text>" in svg for line in lines) for lines in boxes.values())
