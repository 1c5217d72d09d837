"""Task code of examples/python_etl.star, run by the python operator.

Plain Python with the standard library only: the python operator runs it in
a python3 subprocess (or the interpreter a task names), so a real DAG folder
may import pandas or its own libraries the same way.
"""

import statistics

from pylib.money import cents


def extract(ds, params):
    """Builds the day's orders; ds and params come from the Airflow context."""
    print("extracting orders of", ds)
    return [{"id": i, "amount": cents(i * params["unit_price"])} for i in range(1, params["orders"] + 1)]


def summarise(orders, currency="EUR", **context):
    """Summarises the orders pulled from extract's XCom (op_args)."""
    amounts = [o["amount"] for o in orders]
    ti = context["ti"]
    ti.xcom_push("largest", max(amounts))
    day = context["logical_date"]
    print("summarising %d orders of %s (a %s)" % (len(orders), day.date(), day.strftime("%A")))
    return {
        "count": len(amounts),
        "total": sum(amounts),
        "mean": statistics.mean(amounts),
        "currency": currency,
        "run_id": context["run_id"],
    }
