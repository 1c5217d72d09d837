"""Airflow's exceptions that task code raises (Starflow's stand-in)."""
from starflow import (  # noqa: F401
    AirflowException, AirflowFailException, AirflowNotFoundException, AirflowSkipException)
