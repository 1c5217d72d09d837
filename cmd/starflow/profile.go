package main

import (
	"fmt"
	"os"
	"runtime/pprof"

	"github.com/urfave/cli/v2"
)

// withCPUProfile adds --cpuprofile FILE to a command: the command's CPU
// profile is written to FILE (read it with `go tool pprof -top starflow
// FILE`) until the command returns, a daemon after SIGTERM drains it.
func withCPUProfile(cmd *cli.Command) *cli.Command {
	cmd.Flags = append(cmd.Flags, &cli.PathFlag{Name: "cpuprofile", Usage: "write a CPU profile of this command to `FILE` (go tool pprof)"})
	action := cmd.Action
	cmd.Action = func(c *cli.Context) (err error) {
		path := c.Path("cpuprofile")
		if path == "" {
			return action(c)
		}
		f, err := os.Create(path)
		if err != nil {
			return usageError("--cpuprofile: %v", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return usageError("--cpuprofile: %v", err)
		}
		defer func() {
			pprof.StopCPUProfile()
			if cerr := f.Close(); cerr != nil && err == nil {
				err = fmt.Errorf("--cpuprofile: write %s: %w", path, cerr)
			}
		}()
		return action(c)
	}
	return cmd
}
