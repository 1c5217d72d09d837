"""airflow.operators in Starflow's python tasks."""
