"""Task code of examples/example_python_decorator.star: the functions of
Airflow's example_python_decorator, unchanged but for the colorama import
(see callable_virtualenv), run by Starflow's python operator."""

import logging
import time
from pprint import pprint

log = logging.getLogger(__name__)


def print_context(ds=None, **kwargs):
    """Print the Airflow context and ds variable from the context."""
    pprint(kwargs)
    print(ds)
    return "Whatever you return gets printed in the logs"


def log_sql(**kwargs):
    log.info("Python task decorator query: %s", str(kwargs["templates_dict"]["query"]))


def my_sleeping_function(random_base):
    """This is a function that will run within the DAG execution."""
    time.sleep(random_base)


def callable_virtualenv():
    """
    Example function that will be performed in a virtual environment.

    Importing at the function level ensures that it will not attempt to import the
    library before it is installed.
    """
    from time import sleep

    # Deviation: Airflow installs colorama==0.4.0 in the virtualenv; pip has
    # no package index here, so the port's virtualenv has no requirements and
    # the text goes uncoloured when colorama is missing.
    try:
        from colorama import Back, Fore, Style
    except ImportError:
        Back = Fore = Style = type("NoColour", (), {"RED": "", "GREEN": "", "DIM": "", "RESET_ALL": ""})

    print(Fore.RED + "some red text")
    print(Back.GREEN + "and with a green background")
    print(Style.DIM + "and in dim text")
    print(Style.RESET_ALL)
    for _ in range(4):
        print(Style.DIM + "Please wait...", flush=True)
        sleep(1)
    print("Finished")


def callable_external_python():
    """
    Example function that will be performed using an external
    Python interpreter.
    """
    import sys
    from time import sleep

    print(f"Running task via {sys.executable}")
    print("Sleeping")
    for _ in range(4):
        print("Please wait...", flush=True)
        sleep(1)
    print("Finished")
