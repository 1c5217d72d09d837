"""Starflow's stand-in for the airflow package in python tasks: the names
task code imports from Airflow, backed by the Starflow worker (see the
starflow module)."""
