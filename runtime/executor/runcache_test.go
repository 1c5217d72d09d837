package executor

import (
	"strconv"
	"testing"

	"github.com/starflow-dev/starflow/operators"
)

func TestRunCacheForgetsTheLeastRecentlyUsed(t *testing.T) {
	t.Parallel()
	c := newRunCache()
	info := func(i int) operators.RunInfo {
		return operators.RunInfo{DAGID: "d", RunID: "r" + strconv.Itoa(i), Conf: map[string]any{"i": i}}
	}
	for i := range runCacheSize {
		c.put(info(i))
	}
	if _, ok := c.get("d", "r0"); !ok { // r0 becomes the most recently used
		t.Fatal("r0 forgotten before the cache was full")
	}
	c.put(info(runCacheSize)) // evicts r1, the least recently used
	for _, tc := range []struct {
		run  int
		want bool
	}{{0, true}, {1, false}, {2, true}, {runCacheSize, true}} {
		got, ok := c.get("d", "r"+strconv.Itoa(tc.run))
		if ok != tc.want {
			t.Errorf("get(r%d) found %v, want %v", tc.run, ok, tc.want)
		}
		if ok && got.Conf["i"] != tc.run {
			t.Errorf("get(r%d) = %+v", tc.run, got)
		}
	}
	if n := c.order.Len(); n != runCacheSize {
		t.Errorf("%d runs cached, want at most %d", n, runCacheSize)
	}
}
