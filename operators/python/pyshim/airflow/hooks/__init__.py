"""airflow.hooks in Starflow's python tasks."""
