"""Starflow's python operator runner: calls one function of a .py file.

Usage: python -u -B runner.py REQUEST RESULT

REQUEST is a JSON file written by the worker:
  {"root": dir, "module": "lib.transform", "function": "clean",
   "args": [...], "kwargs": {...}, "context": {...},
   "show_return_value": true}
RESULT receives one JSON object:
  {"return_value": value, "xcom": {key: value}}  on success,
  {"skip": message}                              for AirflowSkipException,
  {"error": message, "fail": bool}               for an exception.
The traceback of an exception goes to stderr, so into the task log.
"""

import datetime
import importlib
import inspect
import json
import os
import sys
import traceback
import types


def _datetime(s):
    if not s:
        return None
    return datetime.datetime.fromisoformat(s)


class _TaskInstance:
    """What task code may use of Airflow's TaskInstance."""

    def __init__(self, ctx, pushed):
        self.dag_id = ctx.get("dag_id")
        self.task_id = ctx.get("task_id")
        self.run_id = ctx.get("run_id")
        self.try_number = ctx.get("try_number")
        self.map_index = ctx.get("map_index")
        self.logical_date = _datetime(ctx.get("logical_date"))
        self._pushed = pushed
        self._upstream = ctx.get("upstream_xcoms") or {}
        self._upstream_ids = set(ctx.get("upstream_task_ids") or [])

    def xcom_push(self, key, value):
        """Pushes value under key once the function returns."""
        json.dumps(value, allow_nan=False)  # fail here, at the caller's line
        self._pushed[str(key)] = value

    def xcom_pull(self, task_ids=None, key="return_value", default=None, **kwargs):
        """Returns the return value of a direct upstream task (pre-fetched
        by Starflow), a list of them for a list of task ids."""
        if key != "return_value":
            raise ValueError(
                "ti.xcom_pull in python tasks reads the return values of upstream tasks only "
                "(key=%r); pass the value in op_args or op_kwargs instead" % (key,))
        if task_ids is None:
            raise ValueError("ti.xcom_pull in python tasks needs task_ids (an upstream task's id)")
        single = isinstance(task_ids, str)
        out = []
        for tid in ([task_ids] if single else list(task_ids)):
            if tid not in self._upstream_ids:
                raise ValueError(
                    "ti.xcom_pull(task_ids=%r): %r is not an upstream task of %r; python tasks can "
                    "pull the return values of their direct upstream tasks (add %s >> %s)"
                    % (tid, tid, self.task_id, tid, self.task_id))
            out.append(self._upstream.get(tid, default))
        return out[0] if single else out


def _context(raw, pushed):
    ctx = dict(raw)
    for k in ("logical_date", "data_interval_start", "data_interval_end"):
        ctx[k] = _datetime(raw.get(k))
    ti = _TaskInstance(raw, pushed)
    ctx.pop("upstream_xcoms", None)
    ctx.pop("upstream_task_ids", None)
    ctx["ti"] = ctx["task_instance"] = ti
    ctx["dag_run"] = types.SimpleNamespace(
        dag_id=raw.get("dag_id"), run_id=raw.get("run_id"), run_type=raw.get("run_type"),
        conf=raw.get("conf") or {}, logical_date=ctx["logical_date"],
        data_interval_start=ctx["data_interval_start"], data_interval_end=ctx["data_interval_end"])
    ctx["dag"] = types.SimpleNamespace(dag_id=raw.get("dag_id"))
    ctx["task"] = types.SimpleNamespace(task_id=raw.get("task_id"))
    return ctx


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
    for d in (module_dir, root):  # sys.path[0] is the DAG folder root
        if d not in sys.path:
            sys.path.insert(0, d)

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
        merged = _context(req.get("context") or {}, pushed)
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
        _write(res_path, {"return_value": value, "xcom": pushed})
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
