"""Example 5 (optional), grad_fn: the graph autograd records, and the chain rule that walks it.

Every tensor made by a recorded operation points back to it: y.grad_fn is the backward node of the
operation that made y. y = x**2 + 3*x + 1 is recorded as

    y = ((x**2) + (3*x)) + 1

    AddBackward0                 y = (...) + 1, the last operation: y.grad_fn
      AddBackward0               (x**2) + (3*x)
        PowBackward0             x**2
          AccumulateGrad  (x)    where x's gradient is collected into x.grad
        MulBackward0             3*x
          AccumulateGrad  (x)    x again: a leaf reached along two paths
          None                   the constant 3
      None                       the constant 1

Each node's next_functions lead to the nodes of its inputs. None marks an input that does not require
grad, a constant here, data such as a model's input elsewhere: no gradient flows to it.

backward() is the chain rule run over this graph. From the root, seeded with dy/dy = 1, each node
receives the gradient of y with respect to its output, multiplies it by its local derivative, and
passes the product to each input; where two paths meet, the gradients add:

    dy/dx = 1 * (1 * 2*x)  +  1 * (1 * 3)  =  2*x + 3  =  7 at x = 2
            via PowBackward0   via MulBackward0

chain_rule_by_hand() walks the graph by hand, in plain Python and without backward(): the order of
the nodes and the sums where paths meet are its own; each step is computed by the node autograd
recorded, which holds PyTorch's formula for its local derivative. The derivation above, 1*(1*2*x) +
1*(1*3), is the part done truly by hand.

Leaves. By PyTorch's definition every tensor that does not require grad is a leaf (z = x * 3 under
no_grad, x.detach()), and a tensor that requires grad is a leaf when no recorded operation made it,
as x: its grad_fn is None. backward() fills .grad for leaves that require grad, and for other tensors
only where retain_grad() was called on them before it. A tensor made by a recorded operation from a leaf
that requires grad is not a leaf, even one meant as a parameter, such as
torch.rand(3, requires_grad=True) * 1 or such a leaf moved with .to("cuda"): its .grad stays None (and
PyTorch warns when it is read). y is such a tensor too.

What the graph keeps. To compute its local derivative later, a node saves what it needs from the
forward pass: PowBackward0 saved x itself (and the exponent 2), MulBackward0 the constant 3. PyTorch
names them in the node's _saved_ attributes (private, shown in its notes on autograd). A tensor
counts its in-place changes in its version counter (x._version, private too: it goes up with each
one), and a saved tensor remembers the version it was saved at. Change in place a tensor the graph
saved (here x, which PowBackward0 saved) between y = ... and y.backward(), even under no_grad, and
backward() raises "one of the variables needed for gradient computation has been modified by an
inplace operation"; a tensor no node saved may change. Change x after backward(), or rebuild y.
x.detach() and views of x share its counter; x.data does not, so a change through x.data goes
unnoticed and backward() returns a wrong gradient (one reason to leave .data alone).
backward() also frees what the graph saved, which is why example 3's second y.backward() on one y
needs retain_graph=True on the first.

The graph as a picture: backward_graph(y, names, style="mermaid") writes it as a Mermaid flowchart,
which GitHub draws from a ```mermaid block, and style="dot" as Graphviz DOT, one box for each node and
each leaf, with the value and the gradient where they are known, and the gradient on each arrow:

    python 05_optional_grad_fn.py --graph mermaid
    python 05_optional_grad_fn.py --graph dot | dot -Tsvg > graph.svg      (where Graphviz is installed)

Your own function: --expr "sin(x) * exp(-x/2)" draws the graph autograd records for your expression in x
(the language of example 1), walks it, and sets the walk's result beside autograd's and the rules'.

Run it:  python 05_optional_grad_fn.py [--x 2.0] [--graph text|mermaid|dot] [--expr EXPR] [--device cpu]
"""

import argparse
import collections
import math
import operator
import re
import sys
import warnings

import torch


def polynomial(x):
    """The lesson's y = x**2 + 3*x + 1, for a tensor x or a plain number."""
    return x**2 + 3 * x + 1


def derivative(x):
    """dy/dx worked by hand, by the power rule and the sum rule: 2*x + 3, for a tensor x or a plain number."""
    return 2 * x + 3


def leaf(x, device):
    """x as a one-element leaf that requires grad."""
    return torch.tensor([real_number("x", x)], device=usable_device(device), requires_grad=True)


def grad_fn_demo(x=2.0, device="cpu"):
    """Return (x, y) with y = x**2 + 3*x + 1 and no backward() yet: y.grad_fn is the node that made y."""
    x = leaf(x, device)
    return x, polynomial(x)


def recorded_steps(x=2.0, device="cpu"):
    """{name: tensor}: x, each intermediate result of y = ((x**2) + (3*x)) + 1 as autograd records it, and y.
    The same graph as grad_fn_demo's y, with each step named: as names, backward_graph shows their values."""
    x = leaf(x, device)
    squared, tripled = x**2, 3 * x
    summed = squared + tripled
    return {"x": x, "x**2": squared, "3*x": tripled, "x**2 + 3*x": summed, "y": summed + 1}


GRAPH_STYLES = ("text", "mermaid", "dot")


def backward_graph(tensor, names=None, style="text"):
    """The backward graph under tensor: an indented text tree, root first, one node a line (style "text"),
    or a picture: a Mermaid flowchart ("mermaid", which GitHub draws from a ```mermaid block) or Graphviz
    DOT ("dot"). Leaves are named from names ({"x": x, ...}) where given, else by their shape.

    In a picture each node and each leaf is one box, arrows run the way the gradient flows, and an input
    that does not require grad is a dashed box. A box shows the value of its tensor where it is known (the
    tensor itself, a leaf, or a tensor in names) and the gradient that flows into it, computed by
    chain_rule_by_hand where it can walk the graph, else read from a leaf's .grad after backward(); each
    arrow shows the gradient it carries. A tensor with no graph under it (a leaf) is a picture of one box,
    and a line of text saying so.
    """
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
        indent = "  " * depth
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


def chain_rule_by_hand(output, on_step=None):
    """Return {leaf: d(output)/d(leaf)} for every leaf under output that requires grad, without backward().

    The walk through the graph is done by hand, in plain Python, keeping backward()'s rule (its order may
    differ where two nodes are ready at once): a node runs once every path into it has delivered its
    gradient, and gradients meeting at an input add up. Each step is computed by the node autograd
    recorded: called with the gradient that reached it, a node returns the gradients for its inputs, the
    incoming gradient times its local derivative by PyTorch's own formula.
    .grad is never touched. on_step(node, gradients in, gradients out), if given, sees each node as it runs.

    It walks graphs of dense tensors whose nodes can be called from Python: those of PyTorch's operations
    that have a derivative, and Functions written in Python. Anything else raises ValueError: a sparse
    gradient (an embedding with sparse=True), reentrant checkpointing (its node runs backward() itself), a
    node with no backward to call, or one that fails when called (its saved tensors freed, say).
    """
    if output.grad_fn is None:
        raise ValueError("output has no grad_fn: autograd recorded no graph under it")
    if output.numel() != 1:
        raise ValueError(f"output must hold one element, as for backward() without a gradient, not {output.numel()}")
    # How many edges lead into each node (it may run only when all of them have delivered), and the
    # highest input number they feed (how many gradients it takes, where this torch does not say).
    waiting, feeds, stack = collections.Counter(), {output.grad_fn: output.output_nr + 1}, [output.grad_fn]
    while stack:
        for child, number in stack.pop().next_functions:
            if child is not None:
                waiting[child] += 1
                feeds[child] = max(feeds.get(child, 0), number + 1)
                if waiting[child] == 1:  # first visit
                    stack.append(child)
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
            grads_out = call_by_hand(node, grads_in) if grads else (None,) * len(node.next_functions)
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


def input_shapes(node):
    """The shape of each gradient node takes, one per output of its operation; None where torch does not say.

    Node._input_metadata is private: torch.autograd's own Python code reads it. Found on 2.7.1, 2.11.0,
    2.13.0 and 2.15.0; 2.0.1 and 2.3.1 lack it (checked). There chain_rule_by_hand counts a node's
    gradients by the edges into it and sums a broadcast gradient back at its leaf. That walks this lesson's
    graphs and its tests' (broadcasting, several outputs of one node, Functions written in Python) as on
    later releases; a graph that leaves the last output of an operation unused is refused: the node counts
    its gradients itself.
    """
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
        raise ValueError(f"chain_rule_by_hand cannot fit a gradient of shape {list(grad.shape)} to {shape}") from None


def call_by_hand(node, grads_in):
    """node's gradients for its inputs, given the gradients for its outputs; ValueError where it has none to give."""
    if type(node).__name__ == "CheckpointFunctionBackward":
        raise ValueError("chain_rule_by_hand cannot walk reentrant checkpointing: its node runs backward() itself")
    step = node if callable(node) else getattr(node, "apply", None)  # a Function written in Python runs through apply
    if step is None:
        raise ValueError(f"chain_rule_by_hand cannot call {name(node)}: it has no backward callable from Python")
    try:
        grads_out = step(*grads_in)
    except (RuntimeError, TypeError, NotImplementedError) as error:
        first = str(error).strip().split("\n")[0]
        raise ValueError(f"chain_rule_by_hand cannot call {name(node)}: {first}") from None
    grads_out = grads_out if isinstance(grads_out, tuple) else (grads_out,)  # one input: one gradient
    if any(grad is not None and grad.layout != torch.strided for grad in grads_out):
        raise ValueError(f"chain_rule_by_hand cannot walk the sparse gradient that {name(node)} returns")
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
        collected = chain_rule_by_hand(tensor, record) if tensor.numel() == 1 else {}
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
    edges = []  # (from, to, the gradient the arrow carries)
    for node, node_id in ids.items():
        for i, (child, _) in enumerate(node.next_functions):
            if child is None:  # an input that does not require grad: a box of its own for each
                child_id = f"c{len(boxes) - len(ids)}"
                boxes.append((child_id, ["no grad: a constant or data"], True))
            grad = sent.get((node, i))
            edges.append(
                (node_id, child_id if child is None else ids[child], "" if grad is None else tensor_text(grad))
            )
    return draw(boxes, edges)


def tensor_text(value):
    """A tensor as the lesson prints it: one number as 7, a few as [7, 9, 11], more by their shape; None (no
    gradient) as -."""
    if value is None:
        return "-"
    if value.numel() > 4:
        return f"shape {list(value.shape)}"
    numbers = value.detach().flatten().tolist()
    return f"{numbers[0]:g}" if value.numel() == 1 else shown(numbers)


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


# Leaves, and .grad


def leaves_by_definition(x=2.0, device="cpu"):
    """{a tensor made from x: (its requires_grad, its grad_fn's class name, its is_leaf)}."""
    x, y = grad_fn_demo(x, device)
    with torch.no_grad():
        z = x * 3
    made = {
        "x": x,
        "y": y,
        "z = x*3 in no_grad": z,
        "x.detach()": x.detach(),
        "w = leaf*1": torch.tensor([x.item()], device=x.device, requires_grad=True) * 1,  # meant as a parameter?
    }
    return {how: (t.requires_grad, name(t.grad_fn), t.is_leaf) for how, t in made.items()}


def leaf_by_definition(requires_grad, grad_fn):
    """By hand, PyTorch's definition: a leaf does not require grad, or no recorded operation made it."""
    return not requires_grad or grad_fn == "None"


def read_grad(tensor):
    """(tensor.grad, the warning reading it gave, or None): PyTorch warns when a non-leaf's .grad is read."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        grad = tensor.grad
    return grad, str(caught[0].message) if caught else None


def non_leaf_gradient(x=2.0, device="cpu"):
    """After y.backward(): x.grad, y.grad as read and the warning reading it gave; then y.grad had
    y.retain_grad() come before backward()."""
    x, y = grad_fn_demo(x, device)
    y.backward()
    plain, warning = read_grad(y)
    _, kept = grad_fn_demo(x.item(), device)
    kept.retain_grad()  # ask autograd to keep this non-leaf's gradient too
    kept.backward()
    return x.grad.item(), plain, warning, kept.grad.item()


def parameter_made_by_an_operation(x=2.0, device="cpu"):
    """w = torch.tensor([x], requires_grad=True) * 1, meant as a parameter: after (w * w).backward(), return
    (w.grad as read, the warning reading it gave, the .grad of the leaf behind w)."""
    behind = leaf(x, device)
    w = behind * 1  # an operation: w is not a leaf
    (w * w).backward()
    return (*read_grad(w), behind.grad.item())


# What the graph keeps: saved tensors and the version counter


def saved_for_backward(tensor):
    """[(node's class name, {attribute: value})] for each node under tensor that saved something, root first.

    The _saved_<name> attributes are private; PyTorch's notes on autograd show them. Checked on 2.0.1 to
    2.15.0; a release without them leaves a node's dict empty, and such a node out.
    """
    found, seen, stack = [], set(), [tensor.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        values = {a: getattr(node, a) for a in sorted(dir(node)) if a.startswith("_saved_")}
        values = {a: v for a, v in values.items() if v is not None}  # None: not needed, so not saved
        if values:
            found.append((name(node), values))
        stack.extend(child for child, _ in reversed(node.next_functions))
    return found


def version_counter(x=2.0, device="cpu"):
    """x._version after y = x**2 + 3*x + 1, and after x.add_(1) under no_grad; then the RuntimeError's
    message that y.backward() raises (None if it ran). x._version is private: getattr with None where absent."""
    x, y = grad_fn_demo(x, device)
    before = getattr(x, "_version", None)
    with torch.no_grad():
        x.add_(1)  # an in-place change to a tensor PowBackward0 saved
    after = getattr(x, "_version", None)
    try:
        y.backward()
        return before, after, None
    except RuntimeError as error:
        return before, after, str(error)


def change_after_backward(x=2.0, device="cpu"):
    """The fixes: (x.grad, x) with x.add_(1) after y.backward(); then x.grad with y rebuilt after x.add_(1)."""
    x, y = grad_fn_demo(x, device)
    y.backward()  # the saved x is used, then freed: now x may change
    with torch.no_grad():
        x.add_(1)
    after = (x.grad.item(), x.item())
    x.grad = None
    polynomial(x).backward()  # a new graph, which saves the changed x
    return (*after, x.grad.item())


# Your own function, the same in 01 and 05: an expression in x, read by a small parser (never run as
# Python), and built from the one tree three ways: torch operations for autograd, sympy's for the rules of
# calculus, plain floats for the central difference.

LONGEST, DEEPEST, LARGEST_EXPONENT = 200, 30, 1024
FUNCTIONS = {  # name: (torch's, in plain floats, sympy's, sympy given as s: it is imported for an expression only)
    "sin": (torch.sin, math.sin, lambda s, u: s.sin(u)),
    "cos": (torch.cos, math.cos, lambda s, u: s.cos(u)),
    "tan": (torch.tan, math.tan, lambda s, u: s.tan(u)),
    "exp": (torch.exp, math.exp, lambda s, u: s.exp(u)),
    "log": (torch.log, math.log, lambda s, u: s.log(u)),
    "sqrt": (torch.sqrt, math.sqrt, lambda s, u: s.sqrt(u)),
    "tanh": (torch.tanh, math.tanh, lambda s, u: s.tanh(u)),
    "sigmoid": (
        torch.sigmoid,
        lambda u: math.exp(min(u, 0)) / (1 + math.exp(-abs(u))),
        lambda s, u: 1 / (1 + s.exp(-u)),
    ),
    "abs": (torch.abs, abs, lambda s, u: s.Abs(u)),
}
LANGUAGE = f"numbers, x, + - * / **, parentheses and {', '.join(FUNCTIONS)}"
TOKEN = re.compile(r"\s*(?:(\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)|([A-Za-z_]\w*)|(\*\*|[-+*/(),]))")
OPERATIONS = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv, "**": operator.pow}
NOT_IN_LANGUAGE = {".": "an attribute (.)", "'": "a string", '"': "a string", "[": "a [", "{": "a {", "=": "an ="}


def parse_expression(text):
    """The tree of an expression in x: ("x",), ("number", its text), ("-", a), (operator, a, b) or
    (function, a), with Python's precedence (-x**2 is -(x**2), 2**-x is 2**(-x)). It is only parsed,
    never run as Python; ValueError names what is not in the language."""
    if not isinstance(text, str):
        raise TypeError(f"expr must be a str, got {text!r}")
    if len(text) > LONGEST:
        raise ValueError(f"the expression is {len(text)} characters long, more than {LONGEST}")
    tokens, end = [], len(text.rstrip())  # (kind: 1 number, 2 name, 3 operator; its text; where it starts)
    while (tokens[-1][3] if tokens else 0) < end:
        start = tokens[-1][3] if tokens else 0
        match = TOKEN.match(text, start)
        if match is None:  # a name the language lacks says more than the character after it: __import__('os')
            unknown_names(tokens)
            where = len(text) - len(text[start:].lstrip())
            what = NOT_IN_LANGUAGE.get(text[where], repr(text[where]))
            raise ValueError(f"{what} at character {where + 1} is not part of the language: {LANGUAGE}")
        tokens.append((match.lastindex, match[match.lastindex], match.start(match.lastindex) + 1, match.end()))
    if not tokens:
        raise ValueError("the expression is empty")
    unknown_names(tokens)
    tree, rest = parse_sum(tokens, 0)
    if rest:
        raise ValueError(f"{rest[0][1]!r} at character {rest[0][2]} cannot follow what comes before it")
    constant_value(tree)
    return tree


def unknown_names(tokens):
    """ValueError for the first name that is neither x nor a function of the language."""
    for i, (kind, token, _, _) in enumerate(tokens):
        if kind == 2 and token != "x" and token not in FUNCTIONS:
            called = i + 1 < len(tokens) and tokens[i + 1][1] == "("
            raise ValueError(f"unknown {'function' if called else 'name'} {token!r}: the language has {LANGUAGE}")


def parse_sum(tokens, depth):
    tree, tokens = parse_product(tokens, depth)
    while tokens and tokens[0][1] in ("+", "-"):
        right, rest = parse_product(tokens[1:], depth)
        tree, tokens = (tokens[0][1], tree, right), rest
    return tree, tokens


def parse_product(tokens, depth):
    tree, tokens = parse_unary(tokens, depth)
    while tokens and tokens[0][1] in ("*", "/"):
        right, rest = parse_unary(tokens[1:], depth)
        tree, tokens = (tokens[0][1], tree, right), rest
    return tree, tokens


def parse_unary(tokens, depth):
    if tokens and tokens[0][1] in ("-", "+"):
        operand, rest = parse_unary(tokens[1:], depth)
        return (("-", operand) if tokens[0][1] == "-" else operand), rest
    base, tokens = parse_atom(tokens, depth)
    if tokens and tokens[0][1] == "**":  # right to left, and tighter than a minus before it
        exponent, tokens = parse_unary(tokens[1:], depth)
        return ("**", base, exponent), tokens
    return base, tokens


def parse_atom(tokens, depth):
    if not tokens:
        raise ValueError("the expression ends too soon")
    (kind, token, where, _), rest = tokens[0], tokens[1:]
    if kind == 1:  # 1e-999999999 would be a long wait for its exact value: its exponent is checked
        if abs(int(token.lower().partition("e")[2] or 0)) > LARGEST_EXPONENT:
            raise ValueError(f"{token} is written with an exponent beyond {LARGEST_EXPONENT}")
        return ("number", token), rest
    if kind == 3 and token != "(":
        raise ValueError(f"{token!r} at character {where} stands where a number, x or a function should")
    called = token == "(" or (bool(rest) and rest[0][1] == "(")
    if token == "x" and called:
        raise ValueError("x is not a function")
    if token == "x":
        return ("x",), rest
    if not called:
        raise ValueError(f"{token} needs its argument in parentheses, as {token}(x)")
    if depth >= DEEPEST:
        raise ValueError(f"parentheses are nested deeper than {DEEPEST}")
    arguments, rest = [], rest if token == "(" else rest[1:]
    while True:  # arguments separated by commas, counted to name a wrong count
        argument, rest = parse_sum(rest, depth + 1)
        arguments.append(argument)
        if not rest or rest[0][1] not in (",", ")"):
            raise ValueError(f"a ( at character {where} is not closed by )")
        if rest[0][1] == ")":
            break
        rest = rest[1:]
    if token == "(":
        if len(arguments) != 1:
            raise ValueError(f"a , at character {where} is not part of the language outside a function's ( )")
        return arguments[0], rest[1:]
    if len(arguments) != 1:
        raise ValueError(f"{token} takes one argument, got {len(arguments)}")
    return (token, arguments[0]), rest[1:]


def constant_value(tree):
    """The value of a part without x, checked: ValueError where it is not a finite number, or has an
    exponent too large to compute exactly (9**9**9**9), as the rules of calculus would. None for a part with x."""
    values = [constant_value(part) for part in tree[1:] if isinstance(part, tuple)]
    if tree[0] == "x" or None in values:
        return None
    if tree[0] == "**" and abs(values[1]) > LARGEST_EXPONENT:
        raise ValueError(f"{unparse(tree)} is too large to compute exactly: its exponent is beyond {LARGEST_EXPONENT}")
    try:
        return plain(tree, math.nan)
    except ValueError:
        raise ValueError(f"{unparse(tree)} is not a finite number") from None


def unparse(tree):
    """The tree written back as text, each operation in parentheses."""
    if tree[0] in ("x", "number"):
        return tree[-1]
    if tree[0] in FUNCTIONS:
        return f"{tree[0]}({unparse(tree[1])})"
    return f"(-{unparse(tree[1])})" if len(tree) == 2 else f"({unparse(tree[1])} {tree[0]} {unparse(tree[2])})"


def build(tree, x, number, function, power=operator.pow):
    """The tree computed with x: each number made by number(its text), each function applied as function(name, u),
    each ** as power(base, exponent)."""
    if tree[0] == "x":
        return x
    if tree[0] == "number":
        return number(tree[1])
    parts = [build(part, x, number, function, power) for part in tree[1:]]
    if tree[0] in FUNCTIONS:
        return function(tree[0], parts[0])
    if tree[0] == "**":
        return power(*parts)
    return -parts[0] if len(parts) == 1 else OPERATIONS[tree[0]](*parts)


def plain(tree, x):
    """The tree in plain floats at x; ValueError where that is not a finite real number."""
    try:
        value = build(tree, x, float, lambda name, u: FUNCTIONS[name][1](u))
    except (ArithmeticError, ValueError, TypeError):  # 1/0, log(0), exp(1000), a complex number met by sin
        value = math.nan
    if isinstance(value, complex) or not math.isfinite(value):  # (-8)**(1/3) is complex in Python
        raise ValueError(f"{unparse(tree)} is not a finite real number at x = {x:g}")
    return value


def depends_on_x(tree):
    return tree[0] == "x" or any(depends_on_x(part) for part in tree[1:] if isinstance(part, tuple))


def undefined_at(tree, x):
    """Why the expression has no finite value or derivative at x, naming the step; None where it has both."""
    if tree[0] == "x" or not depends_on_x(tree):  # a constant is checked when parsed; its derivative is 0
        return None
    for part in tree[1:]:
        if isinstance(part, tuple) and (reason := undefined_at(part, x)):
            return reason
    values = [plain(part, x) for part in tree[1:] if isinstance(part, tuple)]  # each checked above
    u, name = values[0], tree[0]
    if name == "/" and values[1] == 0:
        return f"{unparse(tree)} divides by 0"
    if (name == "log" and u <= 0) or (name == "sqrt" and u < 0):
        return f"{unparse(tree)} needs a positive argument, and {unparse(tree[1])} is {u:g}"
    if name in ("sqrt", "abs") and u == 0:
        return f"{unparse(tree)} has no derivative where its argument is 0"
    if name == "**" and u <= 0 and (depends_on_x(tree[2]) or (u == 0 and 0 < values[1] < 1)):
        return f"{unparse(tree)} has no derivative here: its base is {u:g}"
    try:
        plain(tree, x)  # overflow, a negative number to a fractional power, 0 to a negative one
    except ValueError as error:
        return str(error)
    return None


def with_autograd(tree, x):
    """The tree as torch operations on the tensor x, recorded by autograd; a part without x in plain floats."""
    y = build(tree, x, float, lambda name, u: FUNCTIONS[name][0 if isinstance(u, torch.Tensor) else 1](u))
    return y if isinstance(y, torch.Tensor) else x * 0 + y  # an expression without x: a constant, slope 0


def expression(text):
    """text if it is an expression of the language (an argparse type); otherwise ValueError naming why."""
    parse_expression(text)
    return text


def exact_power(base, exponent):
    """base**exponent in sympy, which computes a number to a number exactly: ValueError where that would take
    long, as for a constant when parsed. sympy finds such a part where x cancels: (x - x + 1.5)**(x - x + 10**8)."""
    if base.is_Number and exponent.is_Number and abs(base) not in (0, 1) and abs(exponent) > LARGEST_EXPONENT:
        too_large = f"its exponent is beyond {LARGEST_EXPONENT}"  # as the parser says of a constant
        raise ValueError(f"the rules would compute {float(base):.8g} ** {exponent} exactly: {too_large}")
    return base**exponent


class NoDerivative(ArithmeticError):
    """The expression has no finite derivative at x: the message says why."""


def central_difference_of(tree, at):
    """(slope, h): (y(x + h) - y(x - h)) / (2*h) in plain floats. h is a rule of thumb, float64's cube-root
    epsilon times max(1, |x|), not the best step for every y; it is made 10 times smaller while x - h or x + h
    falls outside where y is defined."""
    h = 6.0554544523933395e-06 * max(1.0, abs(at))
    for _ in range(12):
        try:
            return (plain(tree, at + h) - plain(tree, at - h)) / (2 * h), h
        except ValueError:
            h /= 10
    return math.nan, h


def derivatives(expr="x**2 + 3*x + 1", x=2.0, device="cpu"):
    """dy/dx of the expression y at x (as float32 holds it) three ways: {"value": y, "autograd": from
    backward(), "symbolic": the rules of calculus applied by sympy, then evaluated, "numeric": the central
    difference, "formula": the rules' dy/dx as text}. NoDerivative where there is no finite one."""
    tree = parse_expression(expr)
    leaf = torch.tensor([real_number("x", x)], device=usable_device(device), requires_grad=True)
    at = leaf.item()  # the float32 value autograd works with: the other two ways work at it too
    reason = undefined_at(tree, at)
    if reason:
        raise NoDerivative(f"at x = {at:g}, {reason}")
    y = with_autograd(tree, leaf)
    y.backward()
    import sympy  # for the rules only: torch depends on it, but the lesson's default run needs none of it

    symbol = sympy.Symbol("x", real=True)
    exact = build(tree, symbol, sympy.Rational, lambda f, u: FUNCTIONS[f][2](sympy, u), exact_power)
    formula = sympy.diff(exact, symbol)
    try:  # x as a 30-digit number evaluates each step as it is put in: quick, where evalf(subs=...) is not
        symbolic = complex(formula.xreplace({symbol: sympy.Float(at, 30)}))
    except TypeError:  # sympy's infinities and nan
        symbolic = math.nan
    try:
        text = str(formula)
    except ValueError:  # a number of more digits than Python writes out (x*1e-300*...*1e-300): in floating point
        text = str(formula.evalf(15))
    found = {
        "value": y.item(),
        "autograd": leaf.grad.item(),
        "symbolic": symbolic.real if symbolic.imag == 0 else math.nan,
        "numeric": central_difference_of(tree, at)[0],
        "formula": text,
    }
    ways = {
        "value": "y",
        "autograd": "autograd's dy/dx",
        "symbolic": "the rules' dy/dx",
        "numeric": "the slope measured",
    }
    bad = [way for way in ways if not math.isfinite(found[way])]
    if bad:
        verb = "is not a finite number" if len(bad) == 1 else "are not finite numbers"
        why = f" in float32, which holds at most {torch.finfo(torch.float32).max:.3g}"  # y is finite in float64
        why = why if set(bad) <= {"value", "autograd"} else ""
        raise NoDerivative(f"at x = {at:g}, {' and '.join(ways[way] for way in bad)} {verb}{why}")
    return found


def main(argv=None):
    parser = options(__doc__, x=2.0)
    parser.add_argument(
        "--graph", choices=GRAPH_STYLES, help="print only the backward graph of y: a text tree, Mermaid or Graphviz DOT"
    )
    parser.add_argument("--expr", type=checked(expression), help=f"your own y instead: an expression with {LANGUAGE}")
    args = parser.parse_args(argv)
    if args.expr is not None:
        try:
            return your_own_graph(args.expr, args.x, args.device, args.graph)
        except ValueError as error:  # a part too long to compute exactly, found by the rules: bad input, as parsed
            parser.error(str(error))
    if args.graph:  # python 05_optional_grad_fn.py --graph dot | dot -Tsvg > graph.svg
        steps = recorded_steps(args.x, args.device)
        print(backward_graph(steps["y"], steps, style=args.graph))
        return 0
    x, y = grad_fn_demo(args.x, args.device)
    at = x.item()  # the float32 value autograd worked with
    print(f"Example 5, grad_fn on {args.device}: y = x**2 + 3*x + 1")
    print(f"x = {at:g}   x.grad_fn = {name(x.grad_fn)}, x.is_leaf = {x.is_leaf}   (made by us, not by an operation)")
    print(
        f"y = {y.item():g}   y.grad_fn = {name(y.grad_fn)}, y.is_leaf = {y.is_leaf}   (made by the last operation, + 1)"
    )
    print("the backward graph under y, root first (backward_graph(y)):")
    print("  " + backward_graph(y, {"x": x}).replace("\n", "\n  "))

    # The walk, by hand
    walked = walk_shown(y, x)
    print(f"truly by hand: dy/dx = 1*(1*2*x) + 1*(1*3) = 2*{num(at)} + 3 = {derivative(at):g}")
    print(f"x.grad before backward(): {x.grad}")
    y.backward()
    print(f"after y.backward(): x.grad = {x.grad.item():g}")

    # Leaves, and .grad
    print("leaves, by PyTorch's definition: a tensor that does not require grad, or one that does and that no")
    print("recorded operation made (grad_fn None)")
    table = leaves_by_definition(args.x, args.device)
    for how, (requires_grad, grad_fn, is_leaf) in table.items():
        print(f"  {how:<20} requires_grad={requires_grad!s:<5}  grad_fn={grad_fn:<13}  is_leaf={is_leaf}")
    _, y_grad, warning, kept = non_leaf_gradient(args.x, args.device)
    print("backward() fills .grad for leaves that require grad, and for others only after retain_grad():")
    print(f"  y.grad = {y_grad}; reading it warns: {warning.split('. ')[0] if warning else None}.")
    w_grad, _, behind = parameter_made_by_an_operation(args.x, args.device)
    print(f"  w = leaf*1 is not a leaf: after (w * w).backward(), w.grad = {w_grad}; the leaf behind it got {behind:g}")
    print(f"  with y.retain_grad() before backward(): y.grad = {kept:g}   (dy/dy)")

    # What the graph keeps
    fresh_x, fresh_y = grad_fn_demo(args.x, args.device)
    print("what y's graph saved for backward, node by node (its _saved_ attributes):")
    saved = saved_for_backward(fresh_y)
    for node_name, values in saved:
        parts = [f"{a} = {numbers([v])}" + (" (x itself)" if v is fresh_x else "") for a, v in values.items()]
        print(f"  {node_name:<14} {', '.join(parts)}")
    saved_x = dict(saved).get("PowBackward0", {}).get("_saved_self")
    before, after, error = version_counter(args.x, args.device)
    print(f"x._version goes up with in-place changes: {before} after y = ..., {after} after x.add_(1) under no_grad;")
    print(f"  {'PowBackward0 saved x, so ' if saved_x is fresh_x else ''}y.backward() raises RuntimeError:")
    print(f"  {error.split(' Hint')[0] if error else None}")
    grad_then, x_then, grad_rebuilt = change_after_backward(args.x, args.device)
    print(f"  change x after backward(): x.grad = {grad_then:g}, then x = {x_then:g};")
    print(f"  or rebuild y from the changed x: x.grad = {grad_rebuilt:g}")

    print("checks:")
    ok = [
        agree("y", y.item(), polynomial(at), how="forward"),
        agree("x.grad_fn", name(x.grad_fn), "None"),
        agree("y.grad_fn", name(y.grad_fn), "AddBackward0"),
        agree("walk = dy/dx", walked, derivative(at), how="walk"),
        agree("x.grad = dy/dx", x.grad.item(), derivative(at)),
        *[agree(f"leaf? {how}", leaf, leaf_by_definition(r, g)) for how, (r, g, leaf) in table.items()],
        agree("[y.grad, w.grad]", [y_grad, w_grad], [None, None]),
        agree("y.grad, retained", kept, 1.0),
        agree("after backward: dy/dx, x+1", [grad_then, x_then], [derivative(at), at + 1]),
        agree("rebuilt: dy/dx at x+1", grad_rebuilt, derivative(at + 1)),
    ]
    # Private names (see saved_for_backward): checked where this torch has them
    if saved_x is not None:
        ok.append(agree("PowBackward0 saved x", saved_x is fresh_x, True))
    if before is not None:
        ok.append(agree("x._version went up", after > before, True, how="torch"))
    return 0 if all(ok) else 1


def walk_shown(y, x):
    """Print chain_rule_by_hand's walk of the graph under y, node by node; return the gradient x collects."""
    print("the walk through the graph by hand (chain_rule_by_hand(y)), each step computed by the node autograd")
    print("recorded: the gradient that reached it * its local derivatives = the gradients it passes on")
    print("(- : no gradient, for an input that does not require grad)")
    into_x = []

    def show_step(node, grads_in, grads_out):
        local = node(*[None if g is None else torch.ones_like(g) for g in grads_in])  # for an incoming 1
        print(f"  {name(node):<14} {numbers(grads_in)} * ({numbers(local)}) = ({numbers(grads_out)})")
        into_x.extend(
            g.item() for (child, _), g in zip(node.next_functions, grads_out, strict=True) if hasattr(child, "variable")
        )

    walked = chain_rule_by_hand(y, show_step)[x].item()
    print(f"  x collects {' + '.join(f'{g:g}' if i == 0 else num(g) for i, g in enumerate(into_x))} = {walked:g}")
    return walked


def your_own_graph(expr, x, device, style=None):
    """main's run with --expr: the graph of your own y, the walk through it, and its result beside autograd's
    and the rules'; with style, only the graph in that style. Returns 0 where they agree, 1 where not."""
    tree = parse_expression(expr)
    x = leaf(x, device)
    y = with_autograd(tree, x)
    if style:
        print(backward_graph(y, {"x": x, "y": y}, style))
        return 0
    print(f"Example 5, your own function on {device}: y = {expr}, at x = {x.item():g}")
    print("the backward graph under y, root first:")
    print("  " + backward_graph(y, {"x": x}).replace("\n", "\n  "))
    try:
        found = derivatives(expr, x.item(), device)
    except NoDerivative as reason:
        print(f"{reason}; nothing to walk")
        return 1
    walked = walk_shown(y, x)
    y.backward()
    print(f"after y.backward(): x.grad = {x.grad.item():.8g}")
    print(f"by the rules (sympy): dy/dx = {found['formula']} = {found['symbolic']:.8g} at x = {x.item():g}")
    print("checks:")
    ok = [
        agree("walk = dy/dx", walked, found["symbolic"], how="walk", against="rules"),
        agree("x.grad = dy/dx", x.grad.item(), found["symbolic"], against="rules"),
    ]
    return 0 if all(ok) else 1


def name(node):
    """A grad_fn's class name (AddBackward0), or None: stable across versions, unlike its repr."""
    return type(node).__name__ if node is not None else "None"


def numbers(values):
    """Tensors, and what else a node holds (an exponent, an alpha), as 4, 3, -: see tensor_text."""
    return ", ".join(tensor_text(v) if v is None or isinstance(v, torch.Tensor) else str(v) for v in values)


# Plumbing, the same in each script of the lesson: check inputs, read options, compare results.

# One clear line on an older Python, not a traceback deep in the lesson (zip(strict=True), ...); ruff's
# target is 3.10, so it takes this check for dead code.
if sys.version_info < (3, 10):  # noqa: UP036
    sys.exit(f"this lesson needs Python 3.10 or newer, not {sys.version_info[0]}.{sys.version_info[1]}")


def real_number(name, value):
    """value as a float if it is an int or float that float32 holds; otherwise TypeError/ValueError."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be an int or float, got {value!r}")
    if not abs(value) <= torch.finfo(torch.float32).max:  # False for nan too
        raise ValueError(f"{name} must be a finite number within float32 range, got {value!r}")
    return float(value)


def device_count(kind):
    """(how many devices of kind, such as "cuda" or "mps", this torch can use here; why none, if torch said).

    Asked of kind's own module, which every release since 2.0 has: torch.accelerator is 2.6+, and on 2.7's
    CUDA builds without an NVIDIA driver its device_count() raises. What torch warns or raises is the why.
    """
    module = torch.backends.mps if kind == "mps" else getattr(torch, kind, None)  # one Apple GPU at most
    if not hasattr(module, "is_available"):
        return 0, ""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            count = (1 if kind == "mps" else module.device_count()) if module.is_available() else 0
        except Exception as error:  # a build that cannot count its devices has none to use
            return 0, str(error).split("\n")[0]
    return count, str(caught[0].message).split("\n")[0] if caught else ""


def usable_device(device):
    """device as a torch.device if this machine can compute on it; otherwise TypeError/ValueError naming it."""
    if not isinstance(device, (str, torch.device)):
        raise TypeError(f"device must be a str or torch.device, got {device!r}")
    try:
        wanted = torch.device(device)
    except RuntimeError:
        raise ValueError(f"device {str(device)!r} is not a device torch knows (cpu, cuda, cuda:1, mps, ...)") from None
    if wanted.type == "cpu":  # always there: no accelerator is asked about
        return wanted
    # Check before use: cuda on a CPU-only build, or cuda:7 on one GPU, fails with pages of text.
    count, why = device_count(wanted.type)
    if not 0 <= (wanted.index or 0) < count:
        kind, names = wanted.type.upper(), ", ".join(f"{wanted.type}:{i}" for i in range(count))
        has = f"{count} usable {kind} device{'s' * (count > 1)}, {names}" if count else f"no usable {kind} device"
        raise ValueError(f"device {str(device)!r} is not available: this machine has {has}" + (f" ({why})" * bool(why)))
    return wanted


class OneLineErrors(argparse.ArgumentParser):
    def error(self, message):  # one line and exit status 2, without argparse's usage block
        self.exit(2, f"{self.prog}: error: {message}\n")


def checked(check, *name):
    """check as an argparse type: it gets the text (as a float, after the name, where a name is given), and
    its TypeError or ValueError becomes argparse's one-line error."""

    def parse(text):
        try:
            return check(*name, float(text)) if name else check(text)
        except (TypeError, ValueError) as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return parse


def options(doc, **inputs):
    """A parser with --NAME for each lesson input (default as given) and --device; a bad value exits 2."""
    parser = OneLineErrors(description=doc.split("\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    for name, default in inputs.items():
        text = f"{name}; a negative one as --{name}=-1e5"
        parser.add_argument(f"--{name}", type=checked(real_number, name), default=default, help=text)
    parser.add_argument("--device", type=checked(usable_device), default="cpu", help="cpu, cuda, cuda:1, mps, ...")
    return parser


def num(v):
    """v as written in a substituted formula: 2 stays 2, -1.5 becomes (-1.5)."""
    return f"({v:g})" if v < 0 else f"{v:g}"


def shown(value):
    """A value as the lesson prints it: 7.0 as 7, a list of numbers as [7, 9, 11], anything else as str() has it."""
    if isinstance(value, list):
        return "[" + ", ".join(map(shown, value)) + "]"
    return f"{value:g}" if isinstance(value, float) else str(value)


def agree(label, value, by_hand, how="autograd", against="by hand"):
    """Print a value computed how (by autograd, by the forward pass, ...) beside the one worked out against it
    (by hand, by the rules, ...); True when they agree: numbers to float32 precision, lists element by element."""

    def close(a, b):
        if isinstance(b, list):
            return isinstance(a, list) and len(a) == len(b) and all(map(close, a, b))
        return math.isclose(a, b, rel_tol=1e-5, abs_tol=1e-5) if isinstance(b, float) else a == b

    ok = close(value, by_hand)
    print(f"  {label:<26} {how:>8} {shown(value):<12} {against:>7} {shown(by_hand):<12} {'agree' if ok else 'DIFFER'}")
    return ok


if __name__ == "__main__":
    sys.exit(main())
