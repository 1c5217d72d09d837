"""Starflow's library for code run by the python operator.

Task code reaches the worker through it while it runs: Variable.get,
BaseHook.get_connection (Connection.get) and ti.xcom_pull ask the worker,
one name at a time, over the channel the worker gives the interpreter
(file descriptors 3 and 4, one JSON line per request and per response).
The airflow package beside this module re-exports these names under
Airflow's import paths, so that unchanged Airflow task code runs:

    from airflow.models import Variable
    from airflow.hooks.base import BaseHook
    from airflow.sdk import Variable, Connection, get_current_context
    from airflow.exceptions import AirflowSkipException
"""

import datetime
import json
import os
import threading
import types
from urllib.parse import parse_qsl, quote, urlencode

__all__ = [
    "AirflowException", "AirflowFailException", "AirflowNotFoundException", "AirflowSkipException",
    "BaseHook", "Connection", "TaskInstance", "Variable", "get_current_context",
]


class AirflowException(Exception):
    """Base class of the exceptions Airflow's task code raises."""


class AirflowSkipException(AirflowException):
    """Raise to end the task as skipped."""


class AirflowFailException(AirflowException):
    """Raise to fail the task without using its retries."""


class AirflowNotFoundException(AirflowException):
    """A connection (or another named thing) does not exist."""


_NOTSET = object()
_lock = threading.Lock()
_channel = None
_context = None


class _Channel:
    """The interpreter's end of the worker's channel."""

    def __init__(self, write_fd, read_fd):
        for fd in (write_fd, read_fd):
            os.set_inheritable(fd, False)  # not for the task's own subprocesses
        self._w = os.fdopen(write_fd, "w", encoding="utf-8")
        self._r = os.fdopen(read_fd, "r", encoding="utf-8")

    def call(self, request):
        with _lock:
            self._w.write(json.dumps(request) + "\n")
            self._w.flush()
            line = self._r.readline()
        if not line:
            raise AirflowException("the Starflow worker closed the channel of this task")
        response = json.loads(line)
        if response.get("error"):
            raise AirflowException("Starflow worker: %s" % response["error"])
        return response.get("found", False), response.get("value")


def _setup(channel_fds, context):
    """Called by Starflow's runner before the task function."""
    global _channel, _context
    if channel_fds:
        _channel = _Channel(channel_fds[0], channel_fds[1])
    _context = context


def _ask(request):
    if _channel is None:
        raise AirflowException(
            "%s needs the Starflow worker: it works in code run by Starflow's python operator" % request["op"])
    return _channel.call(request)


def get_current_context():
    """Returns the context of the running task, as Airflow's does."""
    if _context is None:
        raise AirflowException(
            "Current context was requested but no context was found! Are you running within a Starflow task?")
    return _context


class Variable:
    """Airflow's Variable: reads a Starflow variable (STARFLOW_VAR_<NAME>,
    then the metadata database) when asked for it."""

    @classmethod
    def get(cls, key, default_var=_NOTSET, deserialize_json=False, *, default=_NOTSET):
        """Returns the variable's value, JSON-decoded with deserialize_json;
        default_var (Airflow 3's airflow.sdk names it default) when it does
        not exist, else KeyError as Airflow raises."""
        if default is not _NOTSET:
            default_var = default
        found, value = _ask({"op": "variable", "key": str(key)})
        if not found:
            if default_var is not _NOTSET:
                return default_var
            raise KeyError("Variable %s does not exist" % key)
        if deserialize_json:
            return json.loads(value)
        return value

    @classmethod
    def set(cls, key, value, *args, **kwargs):
        raise AirflowException(
            "Variable.set(%r) is not available in Starflow task code: variables are set with "
            "`starflow variables set`, the REST API or the UI; pass values between tasks as XComs" % (key,))


class Connection:
    """Airflow's Connection: the fields of a Starflow connection."""

    def __init__(self, conn_id=None, conn_type=None, description=None, host=None, login=None,
                 password=None, schema=None, port=None, extra=None):
        self.conn_id = conn_id
        self.conn_type = conn_type
        self.description = description
        self.host = host
        self.login = login
        self.password = password
        self.schema = schema
        self.port = port
        if isinstance(extra, dict):
            extra = json.dumps(extra) if extra else None
        self.extra = extra

    @classmethod
    def _from_worker(cls, d):
        def s(k):
            return d.get(k) or None
        return cls(conn_id=d.get("conn_id"), conn_type=s("conn_type"), description=s("description"),
                   host=s("host"), login=s("login"), password=s("password"), schema=s("schema"),
                   port=d.get("port") or None, extra=d.get("extra") or None)

    @classmethod
    def get(cls, conn_id):
        """Returns connection conn_id (Airflow 3's Connection.get)."""
        found, value = _ask({"op": "connection", "conn_id": str(conn_id)})
        if not found:
            raise AirflowNotFoundException("The conn_id `%s` isn't defined" % conn_id)
        return cls._from_worker(value)

    get_connection_from_secrets = get

    @property
    def extra_dejson(self):
        """The extra field as a dict."""
        if not self.extra:
            return {}
        try:
            v = json.loads(self.extra)
        except ValueError:
            return {}
        return v if isinstance(v, dict) else {}

    def get_password(self):
        return self.password

    def get_extra(self):
        return self.extra

    def get_uri(self):
        """The connection in Airflow's URI form."""
        scheme = (self.conn_type or "").lower().replace("_", "-")
        uri = scheme + "://" if scheme else "//"
        host = self.host
        if host and "://" in host:
            protocol, host = host.split("://", 1)
            uri += protocol + "://"
        auth = ""
        if self.login is not None:
            auth += quote(self.login, safe="")
        if self.password is not None:
            auth += ":" + quote(self.password, safe="")
        if auth:
            uri += auth + "@"
        hostpart = quote(host, safe="") if host else ""
        if self.port:
            hostpart += ("@:%s" if not hostpart and not auth else ":%s") % self.port
        if self.schema:
            hostpart += "/" + quote(self.schema, safe="")
        uri += hostpart
        if self.extra:
            sep = "?" if self.schema else "/?"
            extra = self.extra_dejson
            try:
                query = urlencode(extra)
            except TypeError:
                query = None
            if query and extra == dict(parse_qsl(query, keep_blank_values=True)):
                uri += sep + query
            else:
                uri += sep + urlencode({"__extra__": self.extra})
        return uri

    def __repr__(self):
        return self.conn_id or ""


class BaseHook:
    """Airflow's BaseHook, for its get_connection."""

    def __init__(self, *args, **kwargs):
        pass

    @classmethod
    def get_connection(cls, conn_id):
        """Returns connection conn_id; AirflowNotFoundException when there is none."""
        return Connection.get(conn_id)


def _datetime(s):
    if not s:
        return None
    return datetime.datetime.fromisoformat(s)


class TaskInstance:
    """What task code may use of Airflow's TaskInstance (ti)."""

    def __init__(self, ctx, pushed):
        self.dag_id = ctx.get("dag_id")
        self.task_id = ctx.get("task_id")
        self.run_id = ctx.get("run_id")
        self.try_number = ctx.get("try_number")
        self.map_index = ctx.get("map_index")
        self.logical_date = _datetime(ctx.get("logical_date"))
        self._pushed = pushed

    def xcom_push(self, key, value):
        """Pushes value under key at once, as Airflow's: the XCom is stored
        by the worker before this returns, and stays if the task fails."""
        json.dumps(value, allow_nan=False)  # fail here, at the caller's line
        _ask({"op": "xcom_push", "key": str(key), "value": value})
        self._pushed[str(key)] = value

    def xcom_pull(self, task_ids=None, dag_id=None, key="return_value", include_prior_dates=False, *,
                  map_indexes=None, default=None, run_id=None):
        """Returns the XCom task_ids pushed under key in this run, a list of
        them for a list of task ids, as Airflow's: task_ids None means this
        task, key None any key (the latest pushed); default when there is
        none."""
        if dag_id not in (None, self.dag_id) or run_id not in (None, self.run_id):
            raise AirflowException("ti.xcom_pull in Starflow reads the XComs of this DAG run only")
        single = task_ids is None or isinstance(task_ids, str)
        if task_ids is None:
            task_ids = [self.task_id]
        elif single:
            task_ids = [task_ids]
        out = []
        for tid in task_ids:
            if key is None and tid == self.task_id and self._pushed:
                out.append(list(self._pushed.values())[-1])
                continue
            if tid == self.task_id and key in self._pushed:
                out.append(self._pushed[key])
                continue
            found, value = _ask({"op": "xcom_pull", "task_id": str(tid), "key": key})
            out.append(value if found else default)
        return out[0] if single else out


def _context(raw, pushed):
    """Builds Airflow's context from the JSON one the worker sends."""
    ctx = dict(raw)
    for k in ("logical_date", "data_interval_start", "data_interval_end"):
        ctx[k] = _datetime(raw.get(k))
    ti = TaskInstance(raw, pushed)
    ctx["ti"] = ctx["task_instance"] = ti
    ctx["dag_run"] = types.SimpleNamespace(
        dag_id=raw.get("dag_id"), run_id=raw.get("run_id"), run_type=raw.get("run_type"),
        conf=raw.get("conf") or {}, logical_date=ctx["logical_date"],
        data_interval_start=ctx["data_interval_start"], data_interval_end=ctx["data_interval_end"])
    ctx["dag"] = types.SimpleNamespace(dag_id=raw.get("dag_id"))
    ctx["task"] = types.SimpleNamespace(task_id=raw.get("task_id"))
    ctx["var"] = {"value": _VarAccessor(False), "json": _VarAccessor(True)}
    ctx["conn"] = _ConnAccessor()
    return ctx


class _VarAccessor:
    """context["var"]["value"] and ["json"]: var.value.name, var.value.get(name, default)."""

    def __init__(self, deserialize_json):
        self._json = deserialize_json

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return Variable.get(name, deserialize_json=self._json)

    def get(self, name, default_var=_NOTSET):
        return Variable.get(name, default_var, deserialize_json=self._json)


class _ConnAccessor:
    """context["conn"]: conn.my_conn_id, conn.get(conn_id)."""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return Connection.get(name)

    def get(self, conn_id, default_conn=None):
        try:
            return Connection.get(conn_id)
        except AirflowNotFoundException:
            return default_conn
