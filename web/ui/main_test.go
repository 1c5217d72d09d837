package ui_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that the tests leave no goroutine behind: the browser
// test runs a scheduler, a worker, the webserver and Chromium's driver.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
