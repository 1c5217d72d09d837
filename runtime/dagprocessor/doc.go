// Package dagprocessor keeps the metadata store in step with the DAG
// folder, as Airflow's DAG processor does. Processor.Sync parses the folder
// through a Parser (the loader's Bag behind an interface, so the runtime
// never imports starlark/*) and writes only what changed since the last
// Sync: source versions of new hashes, DAG rows, import errors, the DAGs a
// file no longer defines, and the next scheduled run of each new or
// changed DAG. Processor.Watch runs Sync when files change (fsnotify) and
// on a rescan interval.
//
// A file that breaks records its import errors and leaves its DAGs active
// at their last good version, so their runs go on; only removing a DAG
// from a file that loads, or deleting the file, deactivates it. When two
// files define the same DAG id, the first by name keeps it and the other
// records an import error, as the loader's Bag does.
package dagprocessor
