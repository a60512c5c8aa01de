import pytest


@pytest.fixture(autouse=True)
def _one_thread(one_thread):
    """Every test here trains small models: see the root conftest's ``one_thread``."""
