"""Backward graphs, for example 5: drawn as a text tree or a picture (Mermaid, Graphviz DOT), and walked by
walk(), backward()'s traversal written in Python, each node's step by PyTorch's node or by a rule given to it.
"""

import collections

import torch

from lesson_tools import name, shown

GRAPH_STYLES = ("text", "mermaid", "dot")


def backward_graph(tensor, names=None, style="text"):
    """The graph under tensor: a text tree, root first ("text"), or a Mermaid ("mermaid", GitHub draws it) or DOT
    ("dot") picture, a box a node or leaf (dashed: no grad) with its value and the gradient into it (by walk(), else
    .grad), arrows with what they carry. Leaves are named from names ({"x": x}), else by their shape."""
    if style not in GRAPH_STYLES:
        raise ValueError(f"style must be one of {', '.join(GRAPH_STYLES)}, got {style!r}")
    names = names or {}
    if style != "text":
        return graph_picture(tensor, names, style)
    if tensor.grad_fn is None:
        kind = "a leaf that requires grad" if tensor.requires_grad else "a tensor autograd does not track"
        return f"no backward graph: {kind} has grad_fn None"
    lines, stack = [], [(tensor.grad_fn, 0)]
    while stack:  # depth first, without recursion: deep graphs exceed Python's recursion limit
        node, depth = stack.pop()
        indent = "  " * min(depth, 40) + f"[depth {depth}] " * (depth > 40)  # a line within 200 characters
        if node is None:
            lines.append(f"{indent}None  (an input that does not require grad: no gradient flows to it)")
            continue
        line = f"{indent}{name(node)}"
        if hasattr(node, "variable"):  # AccumulateGrad holds the leaf it adds the gradient into
            held = node.variable
            line += f"  ({next((n for n, t in names.items() if t is held), f'a leaf of shape {list(held.shape)}')})"
        lines.append(line)
        stack.extend((child, depth + 1) for child, _ in reversed(node.next_functions))
    return "\n".join(lines)


# The walk: backward()'s traversal, in Python
def walk(output, on_step=None, step=None):
    """{leaf: d(output)/d(leaf)} for each leaf under output that requires grad, without backward(): a node runs once
    every path into it has delivered, gradients meeting at an input add, step(node, grads in) gives its gradients
    out (call_node: PyTorch's), on_step sees each; ValueError: a sparse gradient, reentrant checkpoints, a failure."""
    if output.grad_fn is None:
        raise ValueError("output has no grad_fn: autograd recorded no graph under it")
    if output.numel() != 1:
        raise ValueError(f"output must hold one element, as for backward() without a gradient, not {output.numel()}")
    waiting, feeds = edges_into(output)
    arrived = {output.grad_fn: {output.output_nr: torch.ones_like(output)}}  # node -> {input number: gradient}
    ready, leaves = collections.deque([output.grad_fn]), {}
    with torch.no_grad():  # as in backward(): computing gradients builds no graph of its own
        while ready:
            node = ready.popleft()
            grads = arrived.pop(node, {})
            if hasattr(node, "variable"):  # AccumulateGrad: the leaf's gradient is complete
                if grads:
                    leaves[node.variable] = grads[0]
                continue
            shapes = input_shapes(node)
            grads_in = [grads.get(i) for i in range(feeds[node] if shapes is None else len(shapes))]
            grads_out = (step or call_node)(node, grads_in) if grads else (None,) * len(node.next_functions)
            if on_step is not None:
                on_step(node, grads_in, grads_out)
            for (child, number), grad in zip(node.next_functions, grads_out, strict=True):
                if child is None:
                    continue
                if grad is not None:
                    grad = summed_to_input(grad, child, number)
                    slot = arrived.setdefault(child, {})
                    slot[number] = slot[number] + grad if number in slot else grad
                waiting[child] -= 1
                if waiting[child] == 0:
                    ready.append(child)
    return leaves


def edges_into(output):
    """(how many edges lead into each node under output: it may run only when all have delivered; the highest
    input number they feed + 1: how many gradients it takes, where this torch does not say)."""
    waiting, feeds, stack = collections.Counter(), {output.grad_fn: output.output_nr + 1}, [output.grad_fn]
    while stack:
        for child, number in stack.pop().next_functions:
            if child is not None:
                waiting[child] += 1
                feeds[child] = max(feeds.get(child, 0), number + 1)
                if waiting[child] == 1:  # first visit
                    stack.append(child)
    return waiting, feeds


def input_shapes(node):
    """The shape of each gradient node takes; None where torch does not say (its private _input_metadata is not on
    2.0.1 and 2.3.1: there walk() counts a node's gradients by the edges into it, and sums them at a leaf)."""
    if hasattr(node, "variable"):  # AccumulateGrad takes one gradient, of its leaf's shape
        return [node.variable.shape]
    metadata = getattr(node, "_input_metadata", None)
    return None if metadata is None else [m.shape for m in metadata]


def summed_to_input(grad, node, number):
    """grad summed back to the shape of node's input number, as backward() does for an input that was broadcast."""
    shapes = input_shapes(node)
    if shapes is None:
        return grad
    try:
        return grad.sum_to_size(shapes[number])
    except RuntimeError:  # only where input_shapes had to guess, on PyTorch 2.0
        shape = list(shapes[number])
        raise ValueError(f"the walk cannot fit a gradient of shape {list(grad.shape)} to {shape}") from None


def call_node(node, grads_in):
    """node's gradients for its inputs, given the gradients for its outputs: PyTorch's own node, called from
    Python. ValueError where it has none to give."""
    if type(node).__name__ == "CheckpointFunctionBackward":
        raise ValueError("the walk cannot take reentrant checkpointing: its node runs backward() itself")
    step = node if callable(node) else getattr(node, "apply", None)  # a Function written in Python runs through apply
    if step is None:
        raise ValueError(f"the walk cannot call {name(node)}: it has no backward callable from Python")
    try:
        grads_out = step(*grads_in)
    except (RuntimeError, TypeError, NotImplementedError) as error:
        first = str(error).strip().split("\n")[0]
        raise ValueError(f"the walk cannot call {name(node)}: {first}") from None
    grads_out = grads_out if isinstance(grads_out, tuple) else (grads_out,)  # one input: one gradient
    if any(grad is not None and grad.layout != torch.strided for grad in grads_out):
        raise ValueError(f"the walk cannot take the sparse gradient that {name(node)} returns")
    return grads_out


# The graph as a picture
def graph_picture(tensor, names, style):
    """backward_graph's picture: boxes and arrows, then written as Mermaid or DOT (see backward_graph)."""
    draw = mermaid if style == "mermaid" else dot
    known = {t.grad_fn if t.grad_fn is not None else t: (n, t) for n, t in names.items()}  # node or leaf

    def leaf_box(held, grad):  # the lines of a leaf's box: its name, its value, the gradient it collects
        lines = [known.get(held, (f"leaf, shape {list(held.shape)}",))[0], f"value {tensor_text(held)}"]
        return lines + ([f"grad {tensor_text(grad)}"] if grad is not None else [])

    if tensor.grad_fn is None:  # no graph: the tensor's own box, dashed if it does not require grad
        return draw([("n0", leaf_box(tensor, tensor.grad), not tensor.requires_grad)], [])
    known.setdefault(tensor.grad_fn, (None, tensor))
    into, sent = {}, {}  # node: the gradients it received; (node, edge number): the gradient it passed on

    def record(node, grads_in, grads_out):
        into[node] = grads_in
        sent.update(((node, i), g) for i, g in enumerate(grads_out))

    try:
        collected = walk(tensor, record) if tensor.numel() == 1 else {}
    except ValueError:  # a graph it cannot walk: gradients only where backward() left them in .grad
        collected = {}
    boxes, ids, stack = [], {}, [tensor.grad_fn]  # boxes: (id, lines of its label, dashed)
    while stack:  # depth first, root first; each node and each leaf gets one box
        node = stack.pop()
        if node in ids:
            continue
        ids[node] = f"n{len(ids)}"
        if hasattr(node, "variable"):  # AccumulateGrad: the leaf's box
            lines = leaf_box(node.variable, collected.get(node.variable, node.variable.grad))
        else:
            label, value = known.get(node, (None, None))
            lines = [name(node) + (f" ({label})" if label else "")]
            lines += [f"value {tensor_text(value)}"] if value is not None else []
            lines += [f"grad {numbers(into[node])}"] if node in into else []
        boxes.append((ids[node], lines, False))
        stack.extend(child for child, _ in reversed(node.next_functions) if child is not None)
    return draw(boxes, arrows(ids, boxes, sent))


def arrows(ids, boxes, sent):
    """[(from, to, the gradient the arrow carries)] for each edge between the boxes; a dashed box of its own
    for each input that does not require grad, added to boxes."""
    edges = []
    for node, node_id in ids.items():
        for i, (child, _) in enumerate(node.next_functions):
            if child is None:
                child_id = f"c{len(boxes) - len(ids)}"
                boxes.append((child_id, ["no grad: a constant or data"], True))
            grad = "" if sent.get((node, i)) is None else tensor_text(sent[node, i])
            edges.append((node_id, child_id if child is None else ids[child], grad))
    return edges


def tensor_text(value):
    """A tensor as the lesson prints it: one number as 7, a few as [7, 9, 11], more by their shape; None (no
    gradient) as -."""
    if value is None:
        return "-"
    if value.numel() > 4:
        return f"shape {list(value.shape)}"
    numbers = value.detach().flatten().tolist()
    return f"{numbers[0]:g}" if value.numel() == 1 else shown(numbers)


def numbers(values):
    """Tensors, and what else a node holds (an exponent, an alpha), as 4, 3, -: see tensor_text."""
    return ", ".join(tensor_text(v) if v is None or isinstance(v, torch.Tensor) else str(v) for v in values)


def mermaid(boxes, edges):
    """A Mermaid flowchart, top down. Labels are quoted, their # " < > written as Mermaid's #codes;."""

    def quoted(text):
        for char, code in (("#", "#35;"), ('"', "#quot;"), ("<", "#lt;"), (">", "#gt;")):
            text = text.replace(char, code)
        return f'"{text}"'

    lines = ["flowchart TD"]
    lines += [f"    {i}[{quoted(chr(10).join(text)).replace(chr(10), '<br/>')}]" for i, text, _ in boxes]
    lines += [f"    {a} -->|{quoted(label)}| {b}" if label else f"    {a} --> {b}" for a, b, label in edges]
    dashed = [i for i, _, is_dashed in boxes if is_dashed]
    if dashed:
        lines += ["    classDef nograd stroke-dasharray: 4 4", f"    class {','.join(dashed)} nograd"]
    return "\n".join(lines)


def dot(boxes, edges):
    """Graphviz DOT, top down. Labels are quoted, their \\ and " escaped, their lines joined by \\n."""

    def quoted(lines):
        return '"' + "\\n".join(line.replace("\\", "\\\\").replace('"', '\\"') for line in lines) + '"'

    lines = ["digraph backward {", "    node [shape=box];"]
    lines += [f"    {i} [label={quoted(text)}{', style=dashed' if dashed else ''}];" for i, text, dashed in boxes]
    lines += [f"    {a} -> {b}" + (f" [label={quoted([label])}]" if label else "") + ";" for a, b, label in edges]
    return "\n".join([*lines, "}"])
