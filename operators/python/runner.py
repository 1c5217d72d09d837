"""Starflow's python operator runner: calls one function of a .py file.

Usage: python -u -B runner.py REQUEST RESULT

REQUEST is a JSON file written by the worker:
  {"root": dir, "lib": dir, "module": "lib.transform", "function": "clean",
   "args": [...], "kwargs": {...}, "context": {...},
   "show_return_value": true, "channel": [3, 4]}
lib holds the starflow module and the airflow package beside it; channel
names the file descriptors of the worker's channel (see starflow.py).
RESULT receives one JSON object:
  {"return_value": value}                        on success,
  {"skip": message}                              for AirflowSkipException,
  {"error": message, "fail": bool}               for an exception.
The traceback of an exception goes to stderr, so into the task log.
ti.xcom_push sends each XCom to the worker over the channel when it is
called, so a push stays even when the function raises afterwards.
"""

import importlib
import inspect
import json
import logging
import os
import sys
import traceback


def _kwargs(fn, args, merged):
    """Chooses the keyword arguments as Airflow's PythonOperator does: all
    of the context with **kwargs, otherwise the names the function takes
    that op_args does not fill."""
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return {}
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    taken = {p.name for p in positional[:len(args)]}
    if any(p.kind == p.VAR_KEYWORD for p in params):
        return {k: v for k, v in merged.items() if k not in taken}
    names = {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    return {k: v for k, v in merged.items() if k in names and k not in taken}


def _write(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, allow_nan=False)


def main():
    req_path, res_path = sys.argv[1], sys.argv[2]
    with open(req_path, encoding="utf-8") as f:
        req = json.load(f)
    os.remove(req_path)
    root = req["root"]
    module_dir = os.path.dirname(os.path.join(root, *req["module"].split(".")))
    # sys.path[0] is the DAG folder root, then the module's folder, then
    # Starflow's library (before site-packages: its airflow package wins).
    for d in (req["lib"], module_dir, root):
        if d not in sys.path:
            sys.path.insert(0, d)
    import starflow

    # As in Airflow, the task's loggers write INFO and above to the task
    # log (stderr); code that configures logging itself keeps its own.
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="{%(filename)s:%(lineno)d} %(levelname)s - %(message)s")

    pushed = {}
    try:
        module = importlib.import_module(req["module"])
        fn = getattr(module, req["function"], None)
        if fn is None or not callable(fn):
            names = sorted(n for n, v in vars(module).items()
                           if callable(v) and not n.startswith("_") and getattr(v, "__module__", None) == module.__name__)
            what = "no function" if fn is None else "no callable"
            raise AttributeError("%s.py defines %s %r (functions: %s)" % (
                req["module"].replace(".", "/"), what, req["function"], ", ".join(names) or "none"))
        args = list(req.get("args") or [])
        merged = starflow._context(req.get("context") or {}, pushed)
        starflow._setup(req.get("channel"), merged)
        merged.update(req.get("kwargs") or {})
        value = fn(*args, **_kwargs(fn, args, merged))
    except Exception as e:
        traceback.print_exc()
        name = type(e).__name__
        if name == "AirflowSkipException":
            _write(res_path, {"skip": str(e) or name})
            return 0
        _write(res_path, {"error": "%s: %s" % (name, e) if str(e) else name,
                          "fail": name == "AirflowFailException"})
        return 1

    try:
        _write(res_path, {"return_value": value})
    except (TypeError, ValueError) as e:
        print("%s returned a value that cannot be stored as an XCom (JSON): %s" % (req["function"], e), file=sys.stderr)
        _write(res_path, {"error": "%s returned a %s, which is not JSON-serialisable: %s" % (
            req["function"], type(value).__name__, e), "fail": False})
        return 1
    if req.get("show_return_value", True):
        print("Done. Returned value was: %r" % (value,))
    return 0


if __name__ == "__main__":
    sys.exit(main())
