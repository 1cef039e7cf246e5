"""Practice: questions on the five examples, with numbers drawn for you, each answer judged by running the code.

A question shows a few lines of Python that run as printed after `import torch` and asks what the last line prints;
practice.py runs those lines itself and judges your answer by what they printed. A formula question asks for a
derivative, judged in general by --mine's judge. Your answer is read, never run as Python. A wrong answer gets the
right one, the typical mistake it is where it is one, and the script and section to re-read.

Run it:  python practice.py [--example N ...] [--questions 10] [--seed S]    (answers one a line, typed or piped)
"""

import ast
import collections
import contextlib
import functools
import io
import math
import random
import re
import sys
import warnings

import torch

from expressions import parse_expression, plain
from lesson_tools import OneLineErrors, checked, coloured, exit_with, whole_number

EXAMPLES = {1: "01_basic_autograd.py", 2: "02_autograd_multiple_variables.py", 3: "03_gradient_accumulation.py"}
EXAMPLES |= {4: "04_disabling_gradients.py", 5: "05_optional_grad_fn.py"}
TITLES = {1: "basic autograd", 2: "several inputs", 3: "gradient accumulation", 4: "disabling gradients", 5: "grad_fn"}
Question = collections.namedtuple("Question", "example section shown printed truth mistakes")
Formula = collections.namedtuple("Formula", "expr along by_hand")  # a derivative to work out, and it by hand
OPS = {"*": "Mul", "+": "Add", "-": "Sub", "/": "Div"}  # an operation with a number, and the node it records
READS = 3  # an answer that cannot be read is asked for again, this many times in all; then it counts as wrong


class Node(str):
    """A backward node's name, as AddBackward0, or its stem, AddBackward, which stands for any variant number."""


def node(op):
    return Node(f"{OPS[op]}Backward")


def leaf(value, name="x"):
    return f"{name} = torch.tensor([{value!r}], requires_grad=True)"


def step(x, p, lr):
    """x after a step of descent on the lesson's y, near enough: x - lr * dy/dx."""
    return x - lr * (2 * x + p)


def numbers(r):
    """A question's numbers from r: x, a, b halves; p, k, m, n, j, i whole; lr; lists xs, v, s; ops o, o2, o3."""
    half, (o, o2, o3) = [k / 2 for k in range(-6, 7) if k], r.sample(list(OPS), 3)
    drawn = dict(x=r.choice(half), a=r.choice(half[2:-2]), b=r.choice(half[2:-2]), p=r.randint(2, 5), o=o, o2=o2, o3=o3)
    drawn |= dict(k=r.randint(2, 5), m=r.randint(2, 5), n=r.randint(2, 3), j=r.randint(1, 2), i=r.randint(0, 1))
    drawn |= dict(lr=r.choice([0.1, 0.25, 0.5]), xs=sorted(r.sample(half, 3)), v=r.choices([0.5, 2.0, 3.0], k=3))
    drawn |= dict(s=[float(r.randint(-3, 4)) for _ in range(4)])
    return drawn | {"X": leaf(drawn["x"]), "A": leaf(drawn["a"], "a"), "B": leaf(drawn["b"], "b")}


# The kinds of question, by example: (example, where to re-read it, make). Where to re-read: the numbered section of
# the example's script as its run heads it (or of the script named, or its option). make(**numbers) gives the code
# (or a Formula) and the typical mistakes, [(the answer each gives, its name)]; X, A, B write x, a, b as leaves. The
# right answer is what the code prints. Y is the lesson's y, near enough; its dy/dx is 2*x + p.
Y = "y = x**2 + {}*x"
# fmt: off
KINDS = [
    # Example 1: x.grad after y.backward(), dy/dx as a formula, several outputs
    (1, "2. By hand", lambda X, x, p, k, **_: (f"{X}\ny = x**2 + {p}*x + {k}\ny.backward()\nprint(x.grad)", [
        (x * x + p * x + k, "that is y, not its slope dy/dx"),
        (x + p, "the power rule's factor 2 not brought down: d(x**2)/dx = 2*x")])),
    (1, "2. By hand", lambda X, x, p, **_: (f"{X}\n{Y.format(p)}\nprint(x.grad)", [
        (2 * x + p, "no backward() yet: x.grad is None until backward() fills it"), (0, "None, not 0: no gradient")])),
    (1, "--mine, and the README's Check your own derivative", lambda m, n, p, **_: (
        Formula(f"{m}*x**{n + 1} + {p}*x", "x", f"{m * (n + 1)}*x**{n} + {p}"), [
        (f"{m * (n + 1)}*x**{n + 1} + {p}", "the power rule's exponent not lowered: d(x**n)/dx = n*x**(n-1)"),
        (f"{m}*x**{n} + {p}", f"the power rule's factor {n + 1} not brought down")])),
    (1, "4. Several outputs", lambda xs, p, **_: (
        f"xs = torch.tensor({xs}, requires_grad=True)\nys = xs**2 + {p}*xs\nys.sum().backward()\nprint(xs.grad)", [
        ([v * v + p * v for v in xs], "those are ys, not their slopes"),
        ([sum(2 * v + p for v in xs)] * 3, "each x gets its own slope, not their sum: ys[j] depends on xs[j] alone")])),
    (1, "4. Several outputs", lambda xs, v, **_: (
        f"xs = torch.tensor({xs}, requires_grad=True)\nys = xs**2\nv = torch.tensor({v})\n"
        "(v * ys).sum().backward()  # what ys.backward(v) computes\nprint(xs.grad)", [
        ([2 * x for x in xs], "the weights dropped: v[j] multiplies dys[j]/dxs[j]"),
        (v, "the slopes dropped: dys[j]/dxs[j] = 2*xs[j], times v[j]")])),
    # Example 2: a.grad and b.grad of a product of powers, each partial as a formula, torch.autograd.grad
    (2, "2. By hand", lambda A, B, a, b, n, **_: (
        f"{A}\n{B}\nc = a**{n} * b**2\nc.backward()\nprint(a.grad, b.grad)", [
        ((2 * a**n * b, n * a ** (n - 1) * b**2), "the two swapped: a.grad holds dc/da, b.grad dc/db"),
        ((n * a ** (n - 1), 2 * b), f"dc/da without the factor b**2, dc/db without a**{n}: a constant factor stays")])),
    (2, "05_optional_grad_fn.py, 4. Leaves", lambda A, a, b, n, **_: (
        f"{A}\nb = torch.tensor([{b!r}])\nc = a**{n} * b\nc.backward()\nprint(a.grad, b.grad)", [
        ((n * a ** (n - 1) * b, a**n), "b does not require grad: backward() fills .grad only for leaves that do"),
        ((n * a ** (n - 1), None), "dc/da without the factor b, which stays")])),
    (2, "--mine-a, and the README's Check your own derivative", lambda n, p, **_: (
        Formula(f"a**{n}*b**2 + {p}*a", "a", f"{n}*a**{n - 1}*b**2 + {p}"), [
        (f"{n}*a**{n - 1} + {p}", "dc/da without the factor b**2, which stays"), (f"2*a**{n}*b", "that is dc/db")])),
    (2, "--mine-b, and the README's Check your own derivative", lambda n, p, **_: (
        Formula(f"a**{n}*b**2 + {p}*a", "b", f"2*a**{n}*b"), [
        ("2*b", f"dc/db without the factor a**{n}, which stays"),
        (f"2*a**{n}*b + {p}", f"{p}*a has no b in it: its partial along b is 0")])),
    (2, "3. torch.autograd.grad", lambda A, B, a, b, n, **_: (
        f"{A}\n{B}\nc = a**{n} * b\n(g,) = torch.autograd.grad(c, a)\nprint(a.grad, g)", [
        ((n * a ** (n - 1) * b,) * 2, "torch.autograd.grad returns the gradient, and leaves a.grad None"),
        ((None, a**n), "that is dc/db: grad(c, a) is dc/da")])),
    (2, "4. A derivative of a derivative", lambda A, B, a, b, n, **_: (
        f"{A}\n{B}\nc = a**{n} * b**2\n(g,) = torch.autograd.grad(c, a, create_graph=True)\n"
        "(h,) = torch.autograd.grad(g, a)\nprint(h)", [
        (n * a ** (n - 1) * b**2, "that is g, dc/da: grad(g, a) differentiates it again"),
        (2 * n * a ** (n - 1) * b, "that is d/db of dc/da: grad(g, a) goes along a again")])),
    # Example 3: x.grad after backward() calls, with and without zero_(); descent; a batch in halves
    (3, "2. By hand", lambda X, x, p, k, **_: (
        f"{X}\n{Y.format(p)}\nfor call in range({k}):\n    y.backward(retain_graph=True)\nprint(x.grad)", [
        (2 * x + p, f"one backward()'s gradient where {k} accumulated: each adds dy/dx into .grad"),
        (2 ** (k - 1) * (2 * x + p), "doubled at each call: each call adds dy/dx, not the .grad so far")])),
    (3, "2. By hand", lambda X, x, p, j, n, **_: (
        f"{X}\n{Y.format(p)}\n" + "y.backward(retain_graph=True)\n" * j + "x.grad.zero_()\n"
        + "y.backward(retain_graph=True)\n" * n + "print(x.grad)", [
        ((j + n) * (2 * x + p), "the sum where zero_() reset it: only the calls after it count"),
        (j * (2 * x + p), "the calls before zero_(), which it wiped: only the calls after it count")])),
    (3, "4. Two ways to reset x.grad", lambda X, x, p, **_: (
        f"{X}\n{Y.format(p)}\ny.backward(retain_graph=True)\nx.grad = None\ny.backward()\nprint(x.grad)", [
        (4 * x + 2 * p, "= None drops the old gradient: the next backward() makes a new one"),
        (None, "backward() after = None fills .grad again")])),
    (3, "5. The gradient at work", lambda X, x, p, lr, **_: (
        f"{X}\n{Y.format(p)}\ny.backward()\nwith torch.no_grad():\n    x -= {lr} * x.grad\nprint(x)", [
        (2 * x - step(x, p, lr), "a step uphill: descent subtracts lr * x.grad"),
        (step(x, p, 1), f"the learning rate {lr} left out")])),
    (3, "5. The gradient at work", lambda X, x, p, lr, **_: (
        f"{X}\nfor step in range(2):\n    {Y.format(p)}\n    y.backward()\n    with torch.no_grad():\n"
        f"        x -= {lr} * x.grad\nprint(x)", [
        (step(step(x, p, lr), p, lr), "as if zeroed: without zero_(), the 2nd step takes the sum of both gradients"),
        (step(x, p, lr), "x after one step: the loop runs twice")])),
    (3, "3. Why gradients add", lambda X, x, s, **_: (
        f"{X}\ns = torch.tensor({s})\n((x - s[:2])**2).sum().backward()\n((x - s[2:])**2).sum().backward()\n"
        "print(x.grad)", [
        (4 * x - 2 * (s[2] + s[3]), "the 2nd half's alone: the 1st half's stays in .grad, and the 2nd adds to it"),
        ((4 * x - sum(s)) / 2, "the mean's: these losses are sums (.sum()), and so are their gradients")])),
    # Example 4: requires_grad and grad_fn under no_grad, detach(), set_grad_enabled(False), enable_grad(); .grad of
    # a tensor made in no_grad, and of one that is no leaf
    (4, "2. By hand", lambda X, o, o2, k, m, **_: (
        f"{X}\ny = x {o} {k}\nwith torch.no_grad():\n    z = x {o2} {m}\nprint(y.requires_grad, z.requires_grad)", [
        ((True, True), "True where no_grad made it False: nothing computed inside no_grad is recorded"),
        ((False, False), "y is computed outside no_grad, from x that requires grad: recorded, True")])),
    (4, "4. Other ways", lambda X, o, k, **_: (
        f"{X}\nd = x.detach()\nz = d {o} {k}\nprint(z.requires_grad, z.grad_fn)", [
        ((True, node(o)), "x.detach() is x's data outside the graph: z, made from it, is not recorded"),
        ((False, node(o)), "not recorded, so there is no node: grad_fn is None")])),
    (4, "4. Other ways", lambda X, o, k, **_: (
        f"{X}\nwith torch.set_grad_enabled(False):\n    z = x {o} {k}\nprint(z.requires_grad, z.grad_fn)", [
        ((True, node(o)), "set_grad_enabled(False) turns grad mode off, as no_grad does: nothing is recorded"),
        ((False, node(o)), "not recorded, so there is no node: grad_fn is None")])),
    (4, "4. Other ways", lambda X, o, k, **_: (
        f"{X}\nwith torch.no_grad():\n    with torch.enable_grad():\n        z = x {o} {k}\n"
        "print(z.requires_grad, z.grad_fn)", [
        ((False, None), "enable_grad() turns grad mode back on inside no_grad, for its own block: z is recorded"),
        ((True, None), "recorded, so z.grad_fn is the node of its operation")])),
    (4, "3. What no_grad restores, and what it leaves alone", lambda x, o, k, **_: (
        f"with torch.no_grad():\n    {leaf(x, 'w')}\n    z = w {o} {k}\nprint(w.requires_grad, z.requires_grad)", [
        ((False, False), "no_grad stops the recording of operations, nothing else: w is made to require grad"),
        ((True, True), "z is computed inside no_grad: not recorded, False")])),
    (4, "05_optional_grad_fn.py, 4. Leaves", lambda X, k, m, **_: (
        f"{X}\ny = x * {k}\nz = y * {m}\nz.backward()\nprint(y.grad, x.grad)", [
        ((m, k * m), "y, made by an operation, is no leaf: backward() fills .grad of leaves (and after retain_grad())"),
        ((None, m), f"a chain factor dropped: dz/dx = dz/dy * dy/dx = {m} * {k}")])),
    # Example 5: the node of y.grad_fn and of its inputs (next_functions), what x collects from two paths, leaves
    (5, "2. By hand", lambda X, o, o2, k, m, **_: (f"{X}\ny = (x {o} {k}) {o2} {m}\nprint(y.grad_fn)", [
        (node(o), "the node of the first operation instead of the last: y.grad_fn is the node that made y"),
        (Node("AccumulateGrad"), "AccumulateGrad is x's node, at the bottom of the graph; y.grad_fn is at its top")])),
    (5, "2. By hand", lambda X, o, o2, o3, k, m, i, **_: (
        f"{X}\ny = (x {o} {k}) {o2} (x {o3} {m})\nprint(y.grad_fn.next_functions[{i}][0])", [
        (node((o3, o)[i]), f"the other input's node: next_functions[{i}] leads to input {i}, counted from 0"),
        (node(o2), "y.grad_fn itself: its next_functions lead to the nodes of its inputs")])),
    (5, "3. The chain rule", lambda X, x, k, p, **_: (f"{X}\ny = (x * {k}) * (x + {p})\ny.backward()\nprint(x.grad)", [
        (k * (x + p), f"the path through x * {k} only: x reaches y by two paths, and their gradients add"),
        (k * x, f"the path through x + {p} only: x reaches y by two paths, and their gradients add")])),
    (5, "3. The chain rule", lambda X, x, k, p, **_: (
        f"{X}\nu = x * {k} + {p}\ny = u**2\ny.backward()\nprint(x.grad)", [
        (2 * (k * x + p), f"a chain factor dropped: du/dx = {k}"), ((k * x + p) ** 2, "that is y, not dy/dx")])),
    (5, "4. Leaves", lambda X, k, m, **_: (
        f"{X}\ny = x * {k}\nwith torch.no_grad():\n    z = x * {m}\nprint(x.is_leaf, y.is_leaf, z.is_leaf)", [
        ((True, False, False), "z does not require grad, and every tensor that does not is a leaf"),
        ((True, True, True), "y is made by a recorded operation: no leaf")])),
]
# fmt: on


# Answers, read as a learner types them and as print() shows them; never run as Python
NODE = r"[A-Z]\w*(?:Backward\d*|Grad)"


def atoms(answer):
    """The numbers, names, True, False and None of answer, in order, whatever holds them (a tensor, a list, a line)."""
    return [atom for part in answer for atom in atoms(part)] if isinstance(answer, (list, tuple)) else [answer]


def read(text):
    """atoms() of what text says, as print() shows it (numbers, tensors, lists, True, False, None, node names), or
    ValueError: the text, put in the form of Python's literals, is read by ast.literal_eval, which runs nothing."""
    text = re.sub(r"<\s*(\w+)[^<>]*>", r"'\1'", text.strip()[:200])  # <AddBackward0 object at 0x...>: its name
    text = re.sub(r",\s*(?:requires_grad|grad_fn)=[^,()]*|\btensor(?=\()", "", text)  # a tensor: its numbers
    text = re.sub(rf"(?<!')\b({NODE})\b(?!')", r"'\1'", text)  # a node's name, as a string
    text = re.sub(r"(?<=[\w.\])'])\s+(?=[\w\[('+-])", ", ", text)  # print() puts a space between values
    try:
        found = atoms(ast.literal_eval(text))
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        found = []
    if not found or not all(a is None or type(a) in (bool, int, float) or re.fullmatch(NODE, str(a)) for a in found):
        raise ValueError("cannot read it: answer with what print() shows (tensor([7.]), 7, [7, 9], True, AddBackward0)")
    return [Node(a) if isinstance(a, str) else a for a in found]


def same(answer, truth):
    """Whether two lists of atoms say the same: numbers within float32's rounding (so tensor([7.]) is 7), a node's
    name with its variant number or without it (AddBackward), True, False and None as themselves."""

    def alike(a, t):
        if isinstance(a, Node) and isinstance(t, Node):
            return a == t or (a.rstrip("0123456789") == t.rstrip("0123456789") and (a.isalpha() or t.isalpha()))
        if {type(a), type(t)} <= {int, float}:
            return math.isclose(a, t, rel_tol=1e-4, abs_tol=1e-4)
        return type(a) is type(t) and a == t

    return len(answer) == len(truth) and all(map(alike, answer, truth))


def agree(tree, other, variables):
    """Whether two expressions agree at four points: enough to name a typical mistake, not to judge an answer."""
    points = [dict(zip(variables, p, strict=False)) for p in ((0.5, 1.5), (1.5, -2.5), (-2.5, 3.25), (3.25, 0.5))]
    try:
        return all(math.isclose(plain(tree, p), plain(other, p), rel_tol=1e-9) for p in points)
    except ValueError:
        return False


def judged(formula, text, variables):
    """(whether text is the formula's derivative, the rules' derivative), by --mine's judge: practice's one call."""
    from your_function import judge

    verdict = judge(formula.expr, text, {v: 2.0 for v in variables}, formula.along)
    return verdict["right"], verdict["rules"]


# A session
def run(code):
    """What code prints, run after `import torch`; its warnings silenced (reading a non-leaf's .grad warns)."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exec(code, {"torch": torch})
    return printed.getvalue().strip()


def question(kind, r):
    """A question of kind, its numbers drawn from r, its code run; drawn again where the right answer and the named
    mistakes are not all different (where one mistake would be right, or two the same)."""
    example, section, make = kind
    while True:
        shown, mistakes = make(**numbers(r))
        if isinstance(shown, Formula):
            return Question(example, section, shown, None, None, mistakes)
        printed = run(shown)
        answers = [read(printed), *(atoms(mistake) for mistake, _ in mistakes)]
        if not any(same(a, b) for i, a in enumerate(answers) for b in answers[:i]):
            return Question(example, section, shown, printed, answers[0], mistakes)


def session(seed, examples, count):
    """The count questions a session asks, each drawn as it comes: the examples in turn, each one's kinds in an
    order shuffled by seed (all before any again), then sorted by example."""
    r = random.Random(seed)
    decks = {example: [kind for kind in KINDS if kind[0] == example] for example in examples}
    decks = {example: r.sample(deck, len(deck)) for example, deck in decks.items()}
    for example, turn in sorted((examples[i % len(examples)], i // len(examples)) for i in range(count)):
        yield question(decks[example][turn % len(decks[example])], r)


def verdict(question, text):
    """(whether text is right, the right answer, the typical mistake it is or None); ValueError where text cannot
    be read: by read(), or for a formula by the expression language, as --mine reads it."""
    shown = question.shown
    if not isinstance(shown, Formula):
        answer = read(text)
        named = [why for mistake, why in question.mistakes if same(answer, atoms(mistake))]
        return same(answer, question.truth), f"it prints {question.printed}", next(iter(named), None)
    variables = ("a", "b") if shown.along in "ab" else ("x",)
    tree, (right, rules) = parse_expression(text, variables), judged(shown, text, variables)
    named = [why for mistake, why in question.mistakes if agree(tree, parse_expression(mistake, variables), variables)]
    return right, f"d{'cy'[variables == ('x',)]}/d{shown.along} = {rules}", None if right else next(iter(named), None)


def ask(number, count, question):
    """Ask question number of count and read answers till one can be read (READS at most); print what it was.
    Returns whether it was right."""
    shown, output = question.shown, "c" if question.example == 2 else "y"
    print(f"\nQuestion {number} of {count} (example {question.example}: {TITLES[question.example]})")
    formula = isinstance(shown, Formula)
    print(f"    {output} = {shown.expr}" if formula else "    " + shown.replace("\n", "\n    "))
    for attempt in range(1, READS + 1):
        text = input(f"d{output}/d{shown.along} = " if formula else "What does the last line print? ")
        if not sys.stdin.isatty():  # piped: the answer beside its prompt, as a terminal shows it
            print(text if len(text) <= 120 else text[:119] + "…")
        try:
            right, answer, mistake = verdict(question, text)
            break
        except ValueError as error:
            print(f"{error}; " + ("asked again" if attempt < READS else "counted wrong"))
    else:
        right, answer, mistake = False, verdict(question, shown.by_hand if formula else question.printed)[1], None
    print(f"{coloured('right' if right else 'wrong', right)}: {answer}" + f"\n  {mistake}" * bool(mistake))
    if not right:
        where = question.section if ".py, " in question.section else f"{EXAMPLES[question.example]}, {question.section}"
        print(f"  re-read: {where}")
    return right


def whole(name, low, high):
    """An option's type: a whole number from low to high, or argparse's one-line error naming it."""
    return checked(functools.partial(whole_number, low=low, high=high), name)


def main(argv=None):
    parser = OneLineErrors(description=__doc__.split("\n")[0])
    add = parser.add_argument
    add("--example", action="append", type=whole("example", 1, 5), metavar="N", help="1 to 5, again for more (all)")
    add("--questions", type=whole("questions", 1, 100), default=10, metavar="N", help="how many (default: 10)")
    add("--seed", type=whole("seed", 0, 10**9), metavar="S", help="draws the same questions again (default: random)")
    args = parser.parse_args(argv)
    examples, seed = sorted(set(args.example or EXAMPLES)), random.randrange(10**6) if args.seed is None else args.seed
    again = "".join(f" --example {e}" for e in examples if args.example) + f" --questions {args.questions}"
    plural = "s" * (len(examples) > 1)
    print(f"Practice: {args.questions} question{'s' * (args.questions > 1)} on example{plural} {str(examples)[1:-1]}")
    print(f"seed {seed}: python practice.py{again} --seed {seed} asks the same questions again")
    results = []
    try:
        for number, question in enumerate(session(seed, examples, args.questions), 1):
            results.append((question.example, ask(number, args.questions, question)))
    except (EOFError, KeyboardInterrupt):  # the score so far
        print(f"\n\nthe session ends after {len(results)} of {args.questions} questions")
    per = {example: [ok for e, ok in results if e == example] for example, _ in results}
    by_example = ", ".join(f"example {e} {sum(oks)} of {len(oks)}" for e, oks in per.items())
    print(f"\nScore: {sum(ok for _, ok in results)} of {len(results)} right" + f"; {by_example}" * bool(results))
    return 0


if __name__ == "__main__":
    exit_with(main)
