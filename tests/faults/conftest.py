"""The fault suite's repeat count: each scenario runs `--fault-repeats` times."""

import pytest


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "fault_run" in metafunc.fixturenames:
        repeats = metafunc.config.getoption("fault_repeats")
        metafunc.parametrize("fault_run", range(1, repeats + 1),
                             ids=[f"run{i}" for i in range(1, repeats + 1)])
