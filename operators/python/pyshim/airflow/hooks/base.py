"""airflow.hooks.base in Starflow's python tasks: BaseHook.get_connection."""
from starflow import BaseHook  # noqa: F401
