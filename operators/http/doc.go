// Package http implements the http operator, Starflow's HttpOperator: one
// HTTP request per try, to a URL that is relative to a connection's base
// URL when http_conn_id is given (the connection's host, schema and port;
// its login and password as basic auth; its extras as headers).
//
// As in Airflow, a response with a status of 400 or more fails the try
// (the status and the first KiB of the body go to the task log), an
// optional response_check function must return a truthy value, and the
// task's XCom is the response text, or what the optional response_filter
// function returns. Both functions are Starlark functions of the DAG file,
// called through the call's FunctionRunner with the response as a dict.
//
// Do makes one request the same way for other callers, such as the http
// module of Starlark task functions. Connection passwords and
// Authorization headers are never written to the task log.
package http
