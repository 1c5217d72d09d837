"""airflow.models in Starflow's python tasks: Variable and Connection."""
from starflow import Connection, Variable  # noqa: F401
