"""backward_graphs.py: the backward graph drawn as a text tree and as a picture (Mermaid, DOT), and walk(),
backward()'s traversal in Python, which must equal autograd on every graph it takes and refuse the rest."""

import html
import re
import shutil
import subprocess
import sys

import pytest
import torch
import torch.utils.checkpoint  # PyTorch 2.0 does not import it with torch
from conftest import script
from torch.testing import assert_close

import backward_graphs as graphs

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


# backward_graph


def test_the_tree_of_y_shows_each_node_root_first_and_x_under_both_paths():
    x, y = lesson.grad_fn_demo()
    assert graphs.backward_graph(y, {"x": x}) == LESSON_TREE


def test_a_leaf_the_caller_did_not_name_is_shown_by_its_shape():
    _, y = lesson.grad_fn_demo()
    assert graphs.backward_graph(y).count("AccumulateGrad  (a leaf of shape [1])") == 2


def test_a_tensor_without_history_gets_one_line_saying_so():
    x, _ = lesson.grad_fn_demo()
    assert graphs.backward_graph(x) == "no backward graph: a leaf that requires grad has grad_fn None"
    assert (
        graphs.backward_graph(torch.ones(2)) == "no backward graph: a tensor autograd does not track has grad_fn None"
    )


def tutorial_model(device="cpu"):
    """The official tutorial's one-layer model, as 02 builds it (z = x @ w + b, loss =
    binary_cross_entropy_with_logits(z, y)), before backward(): (loss, {"w": w, "b": b})."""
    x, y, w, b = script("02").tutorial_tensors(0, device)
    return script("02").tutorial_loss(x, y, w, b), {"w": w, "b": b}


def test_the_tree_of_the_tutorials_model_reaches_w_and_b_and_marks_the_constants():
    loss, leaves = tutorial_model()
    lines = graphs.backward_graph(loss, leaves).splitlines()
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
    lines = graphs.backward_graph(y, {"x": x}).splitlines()
    assert len(lines) == 2 * depth + 1  # each MulBackward0 with its constant, then x
    assert lines[depth] == "  " * 40 + f"[depth {depth}] AccumulateGrad  (x)"  # the deepest line, its depth said
    assert lines[40] == "  " * 40 + "MulBackward0" and lines[41].startswith("  " * 40 + "[depth 41] ")
    assert max(map(len, lines)) <= 200


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


@pytest.mark.parametrize("build", GRAPHS, ids=lambda build: build.__name__.removeprefix("graph_"))
def test_the_chain_rule_by_hand_equals_autograd_on_every_graph(build, device, shapes_known):
    output, leaves = build(device)
    by_hand = graphs.walk(output)
    expected = torch.autograd.grad(output, leaves)
    assert set(map(id, by_hand)) == set(map(id, leaves))
    for leaf, grad in zip(leaves, expected, strict=True):
        assert_close(by_hand[leaf], grad)


@pytest.mark.usefixtures("shapes_known")
def test_without_metadata_a_graph_that_leaves_an_operations_last_output_unused_is_refused():
    a = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    first, second, _ = a.unbind()
    if graphs.input_shapes(first.grad_fn) is not None:  # PyTorch 2.0 has no metadata, either way
        assert graphs.walk(first * second)[a].tolist() == [2.0, 1.0, 0.0]
    else:  # the walk sees edges into two of UnbindBackward0's three inputs, and the node refuses two gradients
        with pytest.raises(ValueError, match=r"^the walk cannot call UnbindBackward0: "):
            graphs.walk(first * second)


def test_the_chain_rule_by_hand_gives_7_for_the_lessons_y_and_12_and_4_for_c():
    (y, (x,)), (c, (a, b)) = graph_lesson("cpu"), graph_product("cpu")
    assert graphs.walk(y)[x].item() == 7.0
    by_hand = graphs.walk(c)
    assert (by_hand[a].item(), by_hand[b].item()) == (12.0, 4.0)


def test_the_chain_rule_by_hand_uses_neither_backward_nor_grad_and_leaves_grad_alone(monkeypatch):
    output, leaves = graph_tutorial("cpu")

    def forbidden(*args, **kwargs):
        raise AssertionError("chain_rule_by_hand must walk the graph itself")

    for target, attribute in [(torch.Tensor, "backward"), (torch.autograd, "backward"), (torch.autograd, "grad")]:
        monkeypatch.setattr(target, attribute, forbidden)
    by_hand = graphs.walk(output)
    assert [leaf.grad for leaf in leaves] == [None, None]
    assert all(not grad.requires_grad for grad in by_hand.values())  # no graph built while walking


def test_the_chain_rule_by_hand_sees_each_node_once_with_gradient_in_and_out():
    _, y = lesson.grad_fn_demo()
    steps = []
    graphs.walk(y, lambda node, grads_in, grads_out: steps.append((type(node).__name__, grads_in, grads_out)))
    names = [name for name, _, _ in steps]
    assert names[:2] == ["AddBackward0", "AddBackward0"] and sorted(names[2:]) == ["MulBackward0", "PowBackward0"]
    outgoing = {name: [None if g is None else g.item() for g in grads_out] for name, _, grads_out in steps}
    assert outgoing["PowBackward0"] == [4.0] and outgoing["MulBackward0"] == [3.0, None]


def test_the_chain_rule_by_hand_refuses_a_leaf_and_an_output_of_several_elements():
    x = torch.ones(3, requires_grad=True)
    with pytest.raises(ValueError, match="output has no grad_fn"):
        graphs.walk(x)
    with pytest.raises(ValueError, match="output must hold one element"):
        graphs.walk(x * 2)


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
    with pytest.raises(ValueError, match=rf"^the walk cannot (.* )?{message}"):
        graphs.walk(output)


def test_a_node_with_nothing_to_call_is_named_in_the_error():
    with pytest.raises(ValueError, match=r"^the walk cannot call object: it has no backward callable"):
        graphs.call_node(object(), [])


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
    boxes, edges = READERS[style](graphs.backward_graph(output, names, style))
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
    boxes, edges = READERS[style](graphs.backward_graph(steps["y"], steps, style))
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
    assert graphs.tensor_text(torch.tensor(values)) == text


def test_a_gradient_that_does_not_fit_its_input_is_refused_in_one_line(monkeypatch):
    node = (torch.ones(3, requires_grad=True) * 2).grad_fn
    monkeypatch.setattr(graphs, "input_shapes", lambda node: [torch.Size([2])])  # a wrong guess, as on 2.0 could be
    with pytest.raises(ValueError, match=r"^the walk cannot fit a gradient of shape \[3\] to \[2\]$"):
        graphs.summed_to_input(torch.ones(3), node, 0)


def test_the_picture_names_a_leaf_by_its_shape_and_shows_a_large_tensor_by_its_shape():
    loss, leaves = tutorial_model()
    boxes, _ = read_mermaid(graphs.backward_graph(loss, {"b": leaves["b"]}, "mermaid"))
    assert ["leaf, shape [5, 3]", "value shape [5, 3]", "grad shape [5, 3]"] in boxes.values()


@pytest.mark.parametrize("style", ["mermaid", "dot"])
def test_any_name_is_quoted_so_that_the_picture_stays_well_formed(style):
    x = torch.tensor([1.0], requires_grad=True)
    odd = 'a "quoted" <name> #1 [x] {y} \\ end'
    boxes, _ = READERS[style](graphs.backward_graph((x * 2).sum(), {odd: x}, style))
    assert [odd, "value 1", "grad 2"] in boxes.values()


def test_a_graph_the_walk_cannot_take_is_drawn_with_the_gradients_backward_left():
    weight = torch.ones(4, 2, requires_grad=True)
    loss = torch.nn.functional.embedding(torch.tensor([0, 2]), weight, sparse=True).sum()
    before, _ = read_mermaid(graphs.backward_graph(loss, {"weight": weight}, "mermaid"))
    assert ["weight", "value shape [4, 2]"] in before.values()  # no gradient known yet
    loss.backward()
    after, _ = read_mermaid(graphs.backward_graph(loss, {"weight": weight}, "mermaid"))
    assert ["weight", "value shape [4, 2]", "grad shape [4, 2]"] in after.values()


@pytest.mark.parametrize("style", ["mermaid", "dot"])
@pytest.mark.parametrize("requires_grad", [True, False])
def test_a_tensor_with_no_graph_is_one_box(style, requires_grad):
    x = torch.tensor([2.0], requires_grad=requires_grad)
    text = graphs.backward_graph(x, {"x": x}, style)
    boxes, edges = READERS[style](text)
    assert (list(boxes.values()), edges) == ([["x", "value 2"]], [])
    assert ("dash" in text) == (not requires_grad)  # stroke-dasharray in Mermaid, style=dashed in DOT


def test_an_unknown_style_is_refused():
    with pytest.raises(ValueError, match=r"^style must be one of text, mermaid, dot, got 'svg'$"):
        graphs.backward_graph(lesson.grad_fn_demo()[1], style="svg")


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed (CI need not install it)")
def test_graphviz_renders_the_dot_into_an_svg_naming_every_box():
    steps = lesson.recorded_steps()
    text = graphs.backward_graph(steps["y"], steps, "dot")
    svg = subprocess.run(["dot", "-Tsvg"], input=text, capture_output=True, text=True, check=True).stdout
    boxes, _ = read_dot(text)
    assert all(f"<title>{box}</title>" in svg for box in boxes)
    assert all(all(f">{html.escape(line, quote=False)}</text>" in svg for line in lines) for lines in boxes.values())
