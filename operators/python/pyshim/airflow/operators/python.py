"""airflow.operators.python in Starflow's python tasks: get_current_context."""
from starflow import get_current_context  # noqa: F401
