"""Task code of examples/example_branch_operator_decorator.star: the
functions of Airflow's example_branch_operator_decorator, run by Starflow's
python operator (branch = True for the @task.branch ones)."""

import random


def branching(choices: list[str]) -> str:
    return f"branch_{random.choice(choices)}"


def some_task():
    print("doing something in Python")


def branching_ext_python(choices) -> str:
    import random

    return f"ext_py_{random.choice(choices)}"


def some_ext_py_task():
    print("doing something in external Python")


def _numpy_stuff():
    # Deviation: Airflow installs numpy~=1.26.0 in the virtualenv; pip has
    # no package index here, so the port's virtualenv has no requirements
    # and a list stands in for numpy's arange when numpy is missing.
    try:
        import numpy as np
    except ImportError:
        return list(range(6))
    return np.arange(6)


def branching_virtualenv(choices) -> str:
    import random

    print(f"Some numpy stuff: {_numpy_stuff()}")
    return f"venv_{random.choice(choices)}"


def some_venv_task():
    print(f"Some numpy stuff: {_numpy_stuff()}")
