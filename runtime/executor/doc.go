// Package executor runs task tries: it turns a task instance into an
// operators.Call, runs the operator under the task's execution_timeout,
// recovers from panics, decides the state the try ends in (success,
// skipped, up_for_retry or failed) and runs the task's callbacks.
//
// It records nothing itself: the caller (the in-process runner of
// test-dag, the local executor's worker loop, a distributed worker) writes
// the Outcome to wherever it keeps state.
package executor
