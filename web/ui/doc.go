// Package ui serves Starflow's web pages: the DAG list, the grid and graph
// views of a DAG, task instance pages with their logs, the trigger form, the
// DAG source, and the variables, connections, pools and workers pages.
//
// Pages are rendered on the server with html/template. The little
// JavaScript they need is vendored and embedded with the binary: htmx for
// partial updates (live grid and DAG list, the task details panel, the live
// log) and dagre to lay out the graph view, drawn into SVG by graph.js. No
// Node is needed to build.
//
// The handler expects the web server's session middleware in front of it:
// it reads the user with auth.UserFrom, hides the buttons of actions the
// user's role may not take, refuses those actions with 403, and embeds the
// session's CSRF token in every form and in htmx's request headers.
package ui
