"""airflow.models.variable in Starflow's python tasks."""
from starflow import Variable  # noqa: F401
