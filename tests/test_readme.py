"""README.md shows each script's real output: rerun every script and compare, so the README cannot go stale.

After changing a script, rewrite the README's output blocks with:  python tests/test_readme.py
"""

import re
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
# An output block: the marker naming the command, then a fenced text block with what it printed.
BLOCK = re.compile(r"<!-- output of: python (?P<script>\S+\.py) -->\n```text\n(?P<output>.*?)```\n", re.DOTALL)


def normalise(text):
    """Blank out what changes from run to run: object addresses."""
    return re.sub(r"0x[0-9a-fA-F]+", "0x...", text)


def blocks():
    return {match["script"]: match["output"] for match in BLOCK.finditer(README.read_text())}


def test_the_readme_shows_the_output_of_every_script():
    assert sorted(blocks()) == sorted(path.name for path in ROOT.glob("0[1-5]_*.py"))


@pytest.mark.parametrize("script", sorted(blocks()))
def test_the_readme_output_is_what_the_script_prints_today(capsys, monkeypatch, script):
    monkeypatch.setattr(sys, "argv", [str(ROOT / script)])
    with pytest.raises(SystemExit) as exited:  # the file run as __main__, as `python 0N_....py` runs it
        runpy.run_path(str(ROOT / script), run_name="__main__")
    out, err = capsys.readouterr()
    assert (exited.value.code, err) == (0, "")
    assert normalise(out) == normalise(blocks()[script]), "README is stale: run `python tests/test_readme.py`"


def rewrite():
    """Put each script's present output into its README block."""

    def fresh(match):
        script = match["script"]
        printed = subprocess.run([sys.executable, script], cwd=ROOT, capture_output=True, text=True, check=True)
        return f"<!-- output of: python {script} -->\n```text\n{printed.stdout}```\n"

    README.write_text(BLOCK.sub(fresh, README.read_text()))


if __name__ == "__main__":
    rewrite()
