"""The README's Python example runs as written, and its Quick start has exactly two commands."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_example_runs():
    text = README.read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert blocks, "README has no python example"
    exec(compile(blocks[0], "README.md", "exec"), {})


def test_quick_start_has_two_commands():
    text = README.read_text()
    quick = text.split("## Quick start", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    lines = [line for line in quick.strip().splitlines() if line.strip()]
    assert len(lines) == 2
    assert "symmetries study" in lines[0] and "pytest" in lines[1]
    ci = (README.parent / ".ci" / "run").read_text()
    assert "pytest" in ci and "README.md" in ci
