"""Every python block of the user guide runs as written."""

import re
from pathlib import Path

import pytest

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "guide.md"
BLOCKS = re.findall(r"```python\n(.*?)```", GUIDE.read_text(), re.S)


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_guide_block_runs(index):
    exec(compile(BLOCKS[index], f"docs/guide.md block {index}", "exec"), {})
