"""airflow.sdk (Airflow 3) in Starflow's python tasks."""
from starflow import BaseHook, Connection, Variable, get_current_context  # noqa: F401
