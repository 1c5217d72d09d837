"""A helper module of the DAG folder, imported by orders.py: it travels with
the DAG version as orders.py does."""


def cents(amount):
    """Rounds an amount to cents."""
    return round(amount, 2)
