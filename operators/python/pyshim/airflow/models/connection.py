"""airflow.models.connection in Starflow's python tasks."""
from starflow import Connection  # noqa: F401
