"""Every run reads like the lesson: the plan's code on screen above what it prints, blank-line-separated numbered
sections (the plan's example first, what goes further titled so), one summary line last, colour only at a terminal."""

import contextlib
import functools
import io
import re
import sys

import pytest
from conftest import PLAN_CODE, PLAN_PRINTS, SCRIPTS, plan_output, script, sections

import lesson_tools


@functools.cache
def default_run(number):
    """(exit status, what the script's default run printed, in a pipe), run once for every test of its layout."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = script(number).main([])
    return code, printed.getvalue()


FIRST_SCREEN = {"01": 16, "02": 16, "03": 24, "04": 16, "05": 16}  # the lines that must hold the plan's code and output
HAND_CHECK = {"01": 2, "02": 2, "03": 2, "04": 2, "05": 2}  # the section that works the plan's example by hand


@pytest.mark.parametrize("number", SCRIPTS)
def test_the_plans_code_is_on_the_first_screen_verbatim_above_what_it_prints(number):
    code, out = default_run(number)
    assert code == 0
    head = out.split("\n")[: FIRST_SCREEN[number]]
    shown = ["    " + line for line in PLAN_CODE[number]]
    start = head.index(shown[0])
    assert head[start : start + len(shown)] == shown  # the lines, in order, as the plan writes them
    assert head[start + len(shown)] == "  prints:"
    printed = head[start + len(shown) + 1 : start + len(shown) + 1 + len(PLAN_PRINTS[number])]
    assert [line[: len(want) + 4] for line, want in zip(printed, PLAN_PRINTS[number], strict=True)] == [
        "    " + want for want in PLAN_PRINTS[number]
    ]
    assert plan_output(out)[: len(PLAN_PRINTS[number])][-1].startswith(PLAN_PRINTS[number][-1])


@pytest.mark.parametrize("number", SCRIPTS)
def test_each_run_has_numbered_sections_apart_the_plans_example_first_and_the_rest_titled_as_going_further(number):
    _, out = default_run(number)
    found = sections(out)
    title, numbers = found[0][2][0], [n for n, _, _ in found[1:]]
    assert title.startswith(f"Example {int(number)}, ") and found[0][2][1:] == [""]
    assert numbers == list(range(1, len(numbers) + 1)) and len(numbers) >= 4
    assert found[1][1] == "The plan's code, as the plan writes it"
    assert found[HAND_CHECK[number]][1].startswith("By hand")
    last_of_the_plans = found[HAND_CHECK[number]][2]
    assert last_of_the_plans[-3:] == ["", "Going further, beyond the plan's example (as the tutorial's Optional "
                                      "Reading goes beyond its own)", ""]  # fmt: skip
    assert out.count("Going further") == 1


@pytest.mark.parametrize("number", SCRIPTS)
def test_each_section_ends_with_its_checks_and_the_run_with_one_summary_line(number):
    _, out = default_run(number)
    lines = out.rstrip("\n").split("\n")
    checks = [line for line in lines[:-1] if re.search(r" (agree|DIFFER)$", line)]
    assert lines[-1] == f"Summary: {len(checks)} checks, all agree" and lines[-2] == ""
    for n, _, body in sections(out)[HAND_CHECK[number] :]:
        body = [line for line in body if line and not line.startswith("Going further") and not line.startswith("Sum")]
        assert body[-1].endswith(" agree"), (n, body[-1])


def test_the_summary_names_the_checks_that_differ_and_the_exit_status_is_1(run):
    code, out, _ = run("01", "--x", "1e20")  # y = 1e40 is beyond float32: the forward pass gives inf
    assert code == 1
    assert out.rstrip("\n").split("\n")[-1] == "Summary: 8 checks, 1 DIFFER: y"


def test_a_summary_counts_one_check_as_one():
    assert lesson_tools.summary([lesson_tools.Check("y", True)]) == "Summary: 1 check, all agree"
    assert lesson_tools.summary([]) == "Summary: 0 checks, all agree"


@pytest.mark.parametrize(
    ("environment", "terminal", "coloured"),
    [({}, True, True), ({}, False, False), ({"NO_COLOR": "1"}, True, False), ({"NO_COLOR": ""}, True, True),
     ({"TERM": "dumb"}, True, False)],
)  # fmt: skip
def test_agree_and_differ_are_in_colour_at_a_terminal_only_never_with_no_color(
    run, monkeypatch, environment, terminal, coloured
):
    for name in ("NO_COLOR", "TERM", "WT_SESSION"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: terminal)
    _, out, _ = run("01", "--x", "1e20")
    assert ("\033[32magree\033[0m" in out and "\033[31mDIFFER\033[0m" in out) is coloured
    assert ("\033[" in out) is coloured
    assert out.rstrip().endswith("1 \033[31mDIFFER\033[0m: y" if coloured else "1 DIFFER: y")


def test_on_windows_colour_only_in_windows_terminal(run, monkeypatch):
    monkeypatch.setattr(lesson_tools.os, "name", "nt")
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("WT_SESSION", raising=False)
    assert "\033[" not in run("04")[1]
    monkeypatch.setenv("WT_SESSION", "1")
    assert "\033[32magree" in run("04")[1]


@pytest.mark.parametrize(
    ("number", "options", "yours"),
    [("01", ["--x", "3"], "at your x = 3 (the plan's: x = 2)"),
     ("02", ["--a", "1.5", "--b=-2"], "at your a = 1.5, b = -2 (the plan's: a = 2, b = 3)"),
     ("03", ["--x", "3"], "at your x = 3 (the plan's: x = 2)"),
     ("04", ["--x", "1e-50"], "at your x = 1e-50, 0 in float32 (the plan's: x = 2)"),
     ("05", ["--x", "3"], "at your x = 3 (the plan's: x = 2)")],
)  # fmt: skip
def test_an_option_that_moves_the_input_leaves_the_plans_section_the_plans_and_the_next_says_so(
    run, number, options, yours
):
    _, moved, _ = run(number, *options)
    default = default_run(number)[1]
    assert sections(moved)[1] == sections(default)[1] or number == "05"  # 05 prints an address that differs
    assert plan_output(moved)[0].startswith(PLAN_PRINTS[number][0])
    assert f"the same steps {yours}, on cpu" in sections(moved)[HAND_CHECK[number]][2][0]
    assert "the same steps at the plan's " in sections(default)[HAND_CHECK[number]][2][0]
