"""Example 5 (optional), grad_fn: the graph autograd records, and the chain rule that walks it.

y.grad_fn is the backward node of the operation that made y; each node's next_functions lead to the nodes of
its inputs. backward() is the chain rule run over this graph: from y, seeded with dy/dy = 1, each node passes
on the gradient it gets times its local derivative; where two paths meet, the gradients add. By hand:

    dy/dx = 1 * (1 * 2*x)  +  1 * (1 * 3)  =  2*x + 3  =  7 at x = 2
            via PowBackward0   via MulBackward0

Going further: the walk by hand, leaves, what the graph keeps, a picture (--graph), your own y's graph (--expr).

Run it:  python 05_optional_grad_fn.py [--x 2.0] [--graph text|mermaid|dot] [--expr Y] [--device cpu]
"""

import torch

from backward_graphs import GRAPH_STYLES, backward_graph, call_node, numbers, walk
from backward_graphs import input_shapes, summed_to_input, tensor_text  # noqa: F401 (names this script gave before)
from expressions import cut, expression, language, parse_expression, with_autograd
from lesson_tools import agree, at_inputs, checked, derivative, exit_with, leaf, name, num, options, polynomial
from lesson_tools import heading, raised, read_grad, run_lesson, summary
from your_function import NoDerivative, derivatives, reading


def the_plan():
    """The lesson plan's code for this example, as the plan writes it (with example 1's x and y)."""
    x = torch.tensor([2.0], requires_grad=True)
    y = x**2 + 3*x + 1  # fmt: skip
    print(y.grad_fn)


# The graph under y, root first. None marks an input that does not require grad, as 3 and 1 here, wrapped as tensors;
# the exponent 2 of x**2 is no input at all: PowBackward0 keeps it as a number (_saved_exponent, below).
def grad_fn_demo(x=2.0, device="cpu"):
    """Return (x, y) with y = x**2 + 3*x + 1 and no backward() yet: y.grad_fn is the node that made y."""
    x = leaf(x, device)
    return x, polynomial(x)


def recorded_steps(x=2.0, device="cpu"):
    """{name: tensor}: x, each step of y = ((x**2) + (3*x)) + 1 as autograd records it, and y."""
    x = leaf(x, device)
    squared, tripled = x**2, 3 * x
    summed = squared + tripled
    return {"x": x, "x**2": squared, "3*x": tripled, "x**2 + 3*x": summed, "y": summed + 1}


def show_graph(args):
    """By hand: y's last operation is the addition + 1, so y.grad_fn is AddBackward0"""
    x, y = grad_fn_demo(args.x, args.device)
    print(f"  the same steps {at_inputs(args)}, on {args.device}; x.grad_fn = {name(x.grad_fn)}: x is our own leaf")
    print(f"  y.grad_fn = {name(y.grad_fn)}; the backward graph under it (AccumulateGrad: the node that adds")
    print("  the gradient that reaches it into its leaf's .grad):")
    print("    " + backward_graph(y, {"x": x}).replace("\n", "\n    "))
    return [agree("x.grad_fn", name(x.grad_fn), "None"), agree("y.grad_fn", name(y.grad_fn), "AddBackward0")]


# The walk, by hand: each node passes on g times its local derivative (for a tensor, the vector-Jacobian product of
# example 1), by hand for the nodes of the lesson's y, example 2's c and the README's sin(x) * exp(-x/2); a node with
# no rule here is computed by PyTorch's node, and says so.
def times(g, t):
    return None if t is None else g * t  # None: the node saved no factor, as it needs none for a constant


HAND_RULES = {  # node: (what it does to the gradient g that reaches it, the gradient for each of its inputs)
    "AddBackward0": ("passes g on (times alpha, the 2nd input's factor: 1)", lambda n, g: (g, g * n._saved_alpha)),
    "MulBackward0": ("times the other factor", lambda n, g: (times(g, n._saved_other), times(g, n._saved_self))),
    "DivBackward0": (
        "a/b: g/b, -g*a/b**2",
        lambda n, g: (g / n._saved_other, times(-g / n._saved_other**2, n._saved_self)),
    ),
    "NegBackward0": ("-g", lambda n, g: (-g,)),
    "PowBackward0": ("x**n: times n*x**(n-1), 0 at n = 0", lambda n, g: (g * power_rule(n),)),
    "ExpBackward0": ("times exp(x), its result", lambda n, g: (g * n._saved_result,)),
    "SinBackward0": ("times cos(x)", lambda n, g: (g * n._saved_self.cos(),)),
}


def power_rule(node):
    """d(x**n)/dx by hand: n*x**(n-1); 0 where n = 0, x**0 = 1 being constant (PyTorch's node too, not 0*0**-1)."""
    x, n = node._saved_self, node._saved_exponent
    return n * x ** (n - 1) if n != 0 else torch.zeros_like(x)


def by_hand(node, grads_in):
    """node's gradients for its inputs by its hand rule (None for a constant input); None without a rule or _saved_."""
    try:
        grads_out = HAND_RULES[name(node)][1](node, grads_in[0])
    except (KeyError, AttributeError):
        return None
    return tuple(None if child is None else g for (child, _), g in zip(node.next_functions, grads_out, strict=True))


call_by_hand = call_node  # the name this script gave PyTorch's node, called from Python, before HAND_RULES


def chain_rule_by_hand(output, on_step=None):
    """{leaf: d(output)/d(leaf)} without backward(): walk(), each step by its hand rule, else by PyTorch's node."""
    return walk(output, on_step, lambda node, grads_in: by_hand(node, grads_in) or call_node(node, grads_in))


def walk_shown(y, x):
    """Print chain_rule_by_hand's walk of the graph under y, node by node, each step beside PyTorch's node for
    the same input. Returns (the gradient x collects, (the steps by a hand rule that agreed, the steps by one))."""
    into_x, agreed = [], []

    def show_step(node, grads_in, grads_out):
        hand, torch_says = by_hand(node, grads_in), call_node(node, grads_in)
        same = hand is None or all(a is b or torch.allclose(a, b) for a, b in zip(hand, torch_says, strict=True))
        agreed.extend([same] * (hand is not None))
        rule = HAND_RULES.get(name(node), ("",))[0]
        how = f"by hand: {rule}; PyTorch's node on g: ({numbers(torch_says)})" if hand else "by PyTorch's node"
        print(f"  {name(node):<14} g = {numbers(grads_in)} -> ({numbers(grads_out)})   {how}")
        edges = zip(node.next_functions, grads_out, strict=True)
        into_x.extend(g.item() for (child, _), g in edges if getattr(child, "variable", None) is x)

    print("  chain_rule_by_hand(y): each node gets g, the gradient of y with respect to its output, and passes g")
    print("  times its local derivative (its own operation's) to each input; - : none, for one not requiring grad")
    walked = chain_rule_by_hand(y, show_step)[x].item()
    collected = " + ".join(f"{g:g}" if i == 0 else num(g) for i, g in enumerate(into_x))
    print(f"  x collects {cut(collected, 160)} = {walked:g}")
    return walked, (sum(agreed), len(agreed))


def show_walk(args):
    """The chain rule, walked by hand node by node"""
    x, y = grad_fn_demo(args.x, args.device)
    at = x.item()
    walked, agreed = walk_shown(y, x)
    print(f"  truly by hand: dy/dx = 1*(1*2*x) + 1*(1*3) = 2*{num(at)} + 3 = {derivative(at):g}")
    print(f"  x.grad before backward(): {x.grad}")
    y.backward()
    print(f"  after y.backward(): x.grad = {x.grad.item():g}")
    return [
        agree("y", y.item(), polynomial(at), how="forward"),
        agree("hand steps = PyTorch's node", *agreed, how="walk", against="of"),
        agree("walk = dy/dx", walked, derivative(at), how="walk"),
        agree("x.grad = dy/dx", x.grad.item(), derivative(at)),
    ]


# Leaves, by PyTorch's definition, and .grad: backward() fills it for leaves that require grad, and for other tensors
# only where retain_grad() came first. A tensor an operation made from a leaf that requires grad is no leaf, even one
# meant as a parameter: w * 1, or w moved with .to("cuda"); its .grad stays None.
def leaves_by_definition(x=2.0, device="cpu"):
    """{a tensor made from x: (its requires_grad, its grad_fn's class name, its is_leaf)}."""
    x, y = grad_fn_demo(x, device)
    with torch.no_grad():
        z = x * 3
    w = torch.tensor([x.item()], device=x.device, requires_grad=True) * 1  # meant as a parameter?
    made = {"x": x, "y": y, "z = x*3 in no_grad": z, "x.detach()": x.detach(), "w = leaf*1": w}
    return {how: (t.requires_grad, name(t.grad_fn), t.is_leaf) for how, t in made.items()}


def leaf_by_definition(requires_grad, grad_fn):
    """By hand, PyTorch's definition: a leaf does not require grad, or no recorded operation made it."""
    return not requires_grad or grad_fn == "None"


def non_leaf_gradient(x=2.0, device="cpu"):
    """After y.backward(): x.grad, y.grad and the warning reading it gave; then y.grad with y.retain_grad() before."""
    x, y = grad_fn_demo(x, device)
    y.backward()
    plain, warning = read_grad(y)
    _, kept = grad_fn_demo(x.item(), device)
    kept.retain_grad()  # ask autograd to keep this non-leaf's gradient too
    kept.backward()
    return x.grad.item(), plain, warning, kept.grad.item()


def parameter_made_by_an_operation(x=2.0, device="cpu"):
    """w = leaf * 1, meant as a parameter: after (w * w).backward(), (w.grad, its warning, the leaf behind's .grad)."""
    behind = leaf(x, device)
    w = behind * 1  # an operation: w is not a leaf
    (w * w).backward()
    return (*read_grad(w), behind.grad.item())


def show_leaves(args):
    """Leaves, and which tensors backward() gives a .grad"""
    x, device = args.x, args.device
    table = leaves_by_definition(x, device)
    print("  a leaf, by PyTorch's definition: a tensor that does not require grad, or one that does and that no")
    print("  recorded operation made (grad_fn None)")
    for how, (requires_grad, grad_fn, is_leaf) in table.items():
        print(f"  {how:<20} requires_grad={requires_grad!s:<5}  grad_fn={grad_fn:<13}  is_leaf={is_leaf}")
    _, y_grad, warning, kept = non_leaf_gradient(x, device)
    w_grad, _, behind = parameter_made_by_an_operation(x, device)
    print("  backward() fills .grad for leaves that require grad, and for others only after retain_grad():")
    print(f"  y.grad = {y_grad}; reading it warns: {warning.split('. ')[0] if warning else None}.")
    print(f"  w = leaf*1 is not a leaf: after (w * w).backward(), w.grad = {w_grad}; the leaf behind it got {behind:g}")
    print(f"  with y.retain_grad() before backward(): y.grad = {kept:g}   (dy/dy)")
    return [
        *[agree(f"leaf? {how}", leaf, leaf_by_definition(r, g)) for how, (r, g, leaf) in table.items()],
        agree("[y.grad, w.grad]", [y_grad, w_grad], [None, None], against="expected"),
        agree("y.grad, retained: dy/dy", kept, 1.0),
    ]


# What the graph keeps: a saved tensor remembers its version counter's count, so an in-place change to it between
# y = ... and y.backward(), even under no_grad, makes backward() raise (one no node saved may change). x.detach() and
# views of x share its counter; x.data does not: a change through it goes unnoticed, and backward() may return a wrong
# gradient (leave .data alone). backward() frees what was saved: why example 3's second call needs retain_graph=True.
def saved_for_backward(tensor):
    """[(node's class name, {attribute: value})] for each node under tensor that saved something, root first, by
    its _saved_ names (underscored; checked on 2.0.1 to 2.15.0: a release without them leaves its nodes out)."""
    found, seen, stack = [], set(), [tensor.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        values = {a: getattr(node, a) for a in sorted(dir(node)) if a.startswith("_saved_")}
        if values := {a: v for a, v in values.items() if v is not None}:  # None: not needed, so not saved
            found.append((name(node), values))
        stack.extend(child for child, _ in reversed(node.next_functions))
    return found


def version_counter(x=2.0, device="cpu"):
    """x._version (private: None where absent) after y = ..., after x.add_(1) under no_grad; what backward() raises."""
    x, y = grad_fn_demo(x, device)
    before = getattr(x, "_version", None)
    with torch.no_grad():
        x.add_(1)  # an in-place change to a tensor PowBackward0 saved
    said = raised(y.backward)
    return before, getattr(x, "_version", None), None if said == "ran" else said.removeprefix("raises RuntimeError: ")


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


def show_saved(args):
    """What the graph saves for backward(), and the version counter that guards it"""
    x, device = args.x, args.device
    fresh_x, fresh_y = grad_fn_demo(x, device)
    at = fresh_x.item()
    saved = saved_for_backward(fresh_y)
    print("  each node saves what its local derivative needs from the forward pass, under _saved_ names (underscored:")
    print("  PyTorch's autograd notes show them for exploring); alpha is add's factor for its 2nd input:")
    for node_name, values in saved:
        parts = [f"{a} = {v!r}" + (" (x itself)" if v is fresh_x else "") for a, v in values.items()]
        print(f"  {node_name:<14} {', '.join(parts)}")
    saved_x = dict(saved).get("PowBackward0", {}).get("_saved_self")
    before, after, error = version_counter(x, device)
    grad_then, x_then, grad_rebuilt = change_after_backward(x, device)
    print("  x._version, x's version counter (underscored too), counts the in-place changes made to x:")
    print(f"  {before} after y = ..., {after} after x.add_(1) under no_grad;")
    print(f"  {'PowBackward0 saved x, so ' if saved_x is fresh_x else ''}y.backward() raises RuntimeError:")
    print(f"  {error.split(' Hint')[0] if error else None}")
    print(f"  change x after backward(): x.grad = {grad_then:g}, then x = {x_then:g};")
    print(f"  or rebuild y from the changed x: x.grad = {grad_rebuilt:g}")
    checks = [
        agree("[x.grad, x after add_(1)]", [grad_then, x_then], [derivative(at), at + 1]),
        agree("rebuilt: dy/dx at x+1", grad_rebuilt, derivative(at + 1)),
    ]
    if saved_x is not None:  # private names: checked where this torch has them
        checks.append(agree("PowBackward0 saved x", saved_x is fresh_x, True, against="expected"))
    if before is not None:
        checks.append(agree("x._version went up by 1", after, before + 1, how="torch"))
    return checks


# Your own y (--expr): its graph, the walk through it, and the walk's result beside autograd's and the rules'
def your_own_graph(expr, x, device, style=None):
    """main's run with --expr: the graph of your own y, the walk through it, and its result beside autograd's
    and the rules'; with style, only the graph in that style. Returns 0 where they agree, 1 where not."""
    x = leaf(x, device)
    y = with_autograd(parse_expression(expr), x)
    if style:
        print(backward_graph(y, {"x": x, "y": y}, style))
        return 0
    try:
        found = derivatives(expr, x.item(), device)  # first: a refusal by the rules is one line, exit 2
    except NoDerivative as reason:
        found = reason
    print(f"Example 5, your own function on {device}: y = {cut(expr, 120)}, at x = {x.item():g}")
    print(reading(expr, "x", "y"))
    heading(1, "The backward graph under y, root first")
    print("  " + backward_graph(y, {"x": x}).replace("\n", "\n  "))
    if isinstance(found, NoDerivative):
        print(f"\nSummary: no check ran: {found}, nothing to walk")
        return 1
    heading(2, "The chain rule, walked by hand node by node")
    if y.grad_fn is None:  # y = x: a leaf, with no node to walk
        walked, agreed = None, print("  y is x itself, a leaf: no node to walk, and x collects dy/dy itself")
    else:
        walked, agreed = walk_shown(y, x)
    y.backward()
    print(f"  after y.backward(): x.grad = {x.grad.item():.8g}")
    formula = cut(found["formula"], 120)  # the rules' formula can swell far beyond y: its start
    print(f"  by the rules (sympy): dy/dx = {formula} = {found['symbolic']:.8g} at x = {x.item():g}")
    checks = [agree("x.grad = dy/dx", x.grad.item(), found["symbolic"], against="rules")]
    if walked is not None:
        checks.append(agree("hand steps = PyTorch's node", *agreed, how="walk", against="of"))
        checks.append(agree("walk = dy/dx", walked, found["symbolic"], how="walk", against="rules"))
    print(f"\n{summary(checks)}")
    return 0 if all(checks) else 1


def main(argv=None):
    parser = options(__doc__, x=2.0)
    parser.add_argument("--graph", choices=GRAPH_STYLES, help="print only y's graph: a text tree, Mermaid or DOT")
    parser.add_argument("--expr", type=checked(expression), help=f"your own y instead: an expression with {language()}")
    args = parser.parse_args(argv)
    try:  # the rules may refuse a part too long to compute exactly: bad input, as when parsed
        if args.expr is not None:
            return your_own_graph(args.expr, args.x, args.device, args.graph)
    except ValueError as error:
        parser.error(str(error))
    if args.graph:  # python 05_optional_grad_fn.py --graph dot | dot -Tsvg > graph.svg
        steps = recorded_steps(args.x, args.device)
        print(backward_graph(steps["y"], steps, style=args.graph))
        return 0
    return run_lesson("Example 5, grad_fn", the_plan, args, [show_graph], [show_walk, show_leaves, show_saved])


if __name__ == "__main__":
    exit_with(main)
