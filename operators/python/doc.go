// Package python implements the python operator, Starflow's
// PythonOperator and @task.external_python: it calls a function of a .py
// file of the DAG folder in a Python interpreter subprocess (python3 from
// PATH, or the interpreter a task names, such as a virtualenv's), passing
// op_args, op_kwargs and the Airflow context as JSON, and pushes the
// function's JSON return value as the task's XCom.
//
// The .py file, and the modules of the DAG folder it imports, are read
// when the DAG file is parsed (operators.Spec.Files), so they are part of
// the DAG version: a worker without the DAG folder writes them to a
// private temporary folder before each try. The interpreter runs an
// embedded runner script (runner.py) under package subprocess, so its
// output streams to the task log, it gets a scrubbed environment, and it
// dies with a cancelled try or a killed worker.
package python
