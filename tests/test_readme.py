"""README.md shows each script's real output: rerun every script and compare, so the README cannot go stale.

An output block is a marker naming the command, `<!-- output of: python 0N_....py [ARGS] -->`, or
`<!-- output of: the code above -->` after a python block, then a fenced text or mermaid block with
what it printed. A command that reads answers from standard input (practice.py) names them as a shell
pipes them in, one a line: `<!-- output of: printf '%s\\n' ANSWER ... | python practice.py [ARGS] -->`,
each ANSWER a word or in quotes, none with a | or a >. After changing a script, rewrite the blocks with:
python tests/test_readme.py
"""

import contextlib
import io
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
FENCE = r"```(?P<lang>text|mermaid)\n(?P<output>.*?)```\n"
PIPED = r"(?:printf '%s\\n' (?P<answers>[^|>]*?) \| )?"  # answers piped in, one a line
BLOCK = re.compile(
    rf"<!-- output of: (?P<shown>{PIPED}python (?P<command>\S+\.py[^>]*?))(?: \(exit (?P<status>\d)\))? -->\n" + FENCE,
    re.DOTALL,
)
CODE = re.compile(r"```python\n(?P<code>(?:(?!```).)*?)```\n\n<!-- output of: the code above -->\n" + FENCE, re.DOTALL)


def normalise(text):
    """Blank out what changes from run to run, object addresses, and from release to release: the number of a
    backward node's variant (SqueezeBackward4 on one release may be SqueezeBackward3 on another)."""
    return re.sub(r"(?<=Backward)\d+", "#", re.sub(r"0x[0-9a-fA-F]+", "0x...", text))


def blocks():
    """{command, after the answers piped in where it takes some: (the command, what is piped in or None, its exit
    status, what it printed)}; the status is 0 unless the marker says (exit N)."""
    found = BLOCK.finditer(README.read_text())
    return {
        m["shown"].removeprefix("python "): (m["command"], piped(m["answers"]), int(m["status"] or 0), m["output"])
        for m in found
    }


def piped(answers):
    """What `printf '%s\\n' ANSWERS` writes: each answer on a line of its own (None where there are none)."""
    return None if answers is None else "".join(f"{answer}\n" for answer in shlex.split(answers))


def snippets():
    return [(match["code"], match["output"]) for match in CODE.finditer(README.read_text())]


def test_the_readme_shows_the_output_of_every_script():
    shown = {shlex.split(command)[0] for command, *_ in blocks().values()}
    assert sorted(shown) == sorted(path.name for path in [*ROOT.glob("0[1-5]_*.py"), ROOT / "practice.py"])
    assert "05_optional_grad_fn.py --graph mermaid" in blocks()  # the picture GitHub draws


# The default run keeps the five lessons' own runs; -m thorough, every block (--expr, --mine, --graph, practice)
@pytest.mark.parametrize(
    "block",
    [
        pytest.param(b, marks=[pytest.mark.thorough] * (not re.fullmatch(r"0[1-5]_\w+\.py", b)))
        for b in sorted(blocks())
    ],
)
def test_the_readme_output_is_what_the_script_prints_today(capsys, monkeypatch, block):
    from conftest import run_file  # here, not above: `python tests/test_readme.py` runs without conftest

    command, answers, status, shown = blocks()[block]
    script, *args = shlex.split(command)
    monkeypatch.setattr(sys, "argv", [str(ROOT / script), *args])
    if answers is not None:  # as the shell pipes them in
        monkeypatch.setattr(sys, "stdin", io.StringIO(answers))
    with pytest.raises(SystemExit) as exited:  # the file run as __main__, as `python 0N_....py` runs it
        run_file(script)
    out, err = capsys.readouterr()
    assert (exited.value.code, err) == (status, "")
    assert normalise(out) == normalise(shown), "README is stale: run `python tests/test_readme.py`"


@pytest.mark.parametrize("number", range(len(snippets())))
def test_each_readme_snippet_prints_what_the_readme_shows(number):
    code, output = snippets()[number]
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, f"README.md snippet {number}", "exec"), {})
    assert normalise(printed.getvalue()) == normalise(output), "README is stale: run `python tests/test_readme.py`"


def test_the_readme_says_where_ci_gets_its_torch_as_ci_run_does():
    ci, readme = (ROOT / ".ci" / "run").read_text(), README.read_text()
    assert "cannot be reached from this CI's machines" in ci
    assert "CI's machines cannot reach PyTorch's CPU index: there pip takes" in readme
    assert "and CI this +cpu build" not in readme


@pytest.mark.thorough
@pytest.mark.skipif(shutil.which("uv") is None, reason="tests/uv_indexes.py needs uv on PATH")
def test_uv_resolves_what_pip_resolves_in_an_environment_that_holds_the_pinned_numpy_already():
    pytest.importorskip("numpy")  # the case where a dry run into this environment would have nothing to do
    done = subprocess.run(
        [sys.executable, "tests/uv_indexes.py"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "uv, its default              numpy refused: error: No solution found" in done.stdout


def rewrite():
    """Put each command's and each snippet's present output into its README block."""

    def fresh(command, code=None, answers=None):
        argv = [sys.executable, "-c", code] if code else [sys.executable, *shlex.split(command)]
        return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, input=piped(answers)).stdout

    def block(m):
        status = f" (exit {m['status']})" if m["status"] else ""
        output = fresh(m["command"], answers=m["answers"])
        return f"<!-- output of: {m['shown']}{status} -->\n```{m['lang']}\n{output}```\n"

    text = BLOCK.sub(block, README.read_text())
    text = CODE.sub(
        lambda m: (
            f"```python\n{m['code']}```\n\n<!-- output of: the code above -->\n```{m['lang']}\n"
            f"{fresh(None, m['code'])}```\n"
        ),
        text,
    )
    README.write_text(text)


if __name__ == "__main__":
    rewrite()
