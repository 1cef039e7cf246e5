"""Run each lesson as a reader runs it, `python 0N_....py` with no options, and fail unless every one exits 0
with nothing at all on stderr (no warning either). .ci/run and the noxfile's sessions run it after the suite."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main():
    failed = []
    for lesson in sorted(ROOT.glob("0[1-5]_*.py")):
        done = subprocess.run([sys.executable, lesson.name], cwd=ROOT, capture_output=True, text=True)
        if done.returncode != 0 or done.stderr:
            print(done.stdout + done.stderr, end="")
            failed.append(f"{lesson.name} exit {done.returncode}{', stderr not empty' * bool(done.stderr)}")
        else:
            print(f"run_lessons: {lesson.name} exit 0, stderr empty")
    sys.exit(f"run_lessons: {'; '.join(failed)}" if failed else 0)


if __name__ == "__main__":
    main()
