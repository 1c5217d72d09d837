package e2e

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// deployDir is the repository's deploy folder.
const deployDir = "../deploy"

// composeFile is the part of deploy/docker-compose.yml the test reads.
type composeFile struct {
	Services map[string]struct {
		Image       string            `yaml:"image"`
		Command     []string          `yaml:"command"`
		Environment map[string]string `yaml:"environment"`
		DependsOn   map[string]struct {
			Condition string `yaml:"condition"`
		} `yaml:"depends_on"`
	} `yaml:"services"`
}

// starflowHelp runs `starflow ARGS... --help` and returns its output; an
// unknown command or flag makes it fail.
func starflowHelp(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(starflowBin, append(args, "--help")...).CombinedOutput()
	if err != nil {
		t.Errorf("starflow %s --help: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestDockerComposeRunsRealCommands(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join(deployDir, "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatalf("docker-compose.yml is not valid YAML: %v", err)
	}
	var names []string
	for name := range c.Services {
		names = append(names, name)
	}
	sort.Strings(names)
	if got, want := strings.Join(names, " "), "init postgres redis scheduler webserver worker-1 worker-2"; got != want {
		t.Errorf("services %s, want %s", got, want)
	}
	for _, name := range names {
		s := c.Services[name]
		if s.Image != "starflow:latest" {
			continue
		}
		if len(s.Command) == 0 {
			t.Errorf("service %s has no command", name)
			continue
		}
		starflowHelp(t, s.Command...)
		for _, v := range []string{"STARFLOW_DATABASE_URL", "STARFLOW_REDIS_URL", "STARFLOW_SECRET_KEY"} {
			if s.Environment[v] == "" {
				t.Errorf("service %s does not set %s", name, v)
			}
		}
		if name != "init" && s.DependsOn["init"].Condition != "service_completed_successfully" {
			t.Errorf("service %s does not wait for init to migrate the database", name)
		}
	}
}

func TestDockerfileMatchesGoMod(t *testing.T) {
	t.Parallel()
	df, err := os.ReadFile(filepath.Join(deployDir, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	mod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	goVersion := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(mod)
	if goVersion == nil {
		t.Fatal("no go directive in go.mod")
	}
	if !bytes.Contains(df, []byte("FROM golang:"+string(goVersion[1])+"-")) {
		t.Errorf("the Dockerfile's build stage is not golang:%s, the go.mod's version", goVersion[1])
	}
	build := regexp.MustCompile(`go build .* (\./\S+)`).FindSubmatch(df)
	if build == nil {
		t.Fatal("the Dockerfile builds no package")
	}
	if fi, err := os.Stat(filepath.Join("..", string(build[1]))); err != nil || !fi.IsDir() {
		t.Errorf("the Dockerfile builds %s, which is not a package folder", build[1])
	}
}

// unit is a systemd unit file: its sections' keys and values.
type unit map[string]map[string][]string

func readUnit(t *testing.T, path string) unit {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	u := unit{}
	section := ""
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = strings.Trim(line, "[]")
			u[section] = map[string][]string{}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Errorf("%s:%d: not a key=value line in a section: %q", path, n, line)
				continue
			}
			u[section][k] = append(u[section][k], v)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return u
}

func TestSystemdUnitsRunRealCommands(t *testing.T) {
	t.Parallel()
	paths, err := filepath.Glob(filepath.Join(deployDir, "systemd", "*.service"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range paths {
		names = append(names, filepath.Base(p))
	}
	if got, want := strings.Join(names, " "), "starflow-scheduler.service starflow-webserver.service starflow-worker@.service"; got != want {
		t.Errorf("units %s, want %s", got, want)
	}
	for _, p := range paths {
		u := readUnit(t, p)
		for _, need := range [][2]string{{"Unit", "Description"}, {"Service", "ExecStart"}, {"Service", "EnvironmentFile"}, {"Install", "WantedBy"}} {
			if len(u[need[0]][need[1]]) != 1 {
				t.Errorf("%s: want one %s= in [%s]", filepath.Base(p), need[1], need[0])
			}
		}
		if ef := u["Service"]["EnvironmentFile"]; len(ef) == 1 && ef[0] != "/etc/starflow/starflow.env" {
			t.Errorf("%s: EnvironmentFile=%s, want /etc/starflow/starflow.env", filepath.Base(p), ef[0])
		}
		for _, exe := range u["Service"]["ExecStart"] {
			fields := strings.Fields(strings.NewReplacer("%H", "host", "%i", "1").Replace(exe))
			if len(fields) < 2 || fields[0] != "/usr/local/bin/starflow" {
				t.Errorf("%s: ExecStart=%s does not run /usr/local/bin/starflow", filepath.Base(p), exe)
				continue
			}
			starflowHelp(t, fields[1:]...)
		}
	}
}

func TestSystemdEnvironmentNamesRealVariables(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join(deployDir, "systemd", "starflow.env.example"))
	if err != nil {
		t.Fatal(err)
	}
	var help strings.Builder
	for _, cmd := range []string{"scheduler", "worker", "webserver"} {
		help.WriteString(starflowHelp(t, cmd))
	}
	seen := 0
	for n, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, _, ok := strings.Cut(line, "=")
		if !ok || !strings.HasPrefix(k, "STARFLOW_") {
			t.Errorf("starflow.env.example:%d: want STARFLOW_NAME=value, got %q", n+1, line)
			continue
		}
		seen++
		// Help lists a flag's variables as [$A] or [$A, $B].
		reads := strings.Contains(help.String(), "$"+k+"]") || strings.Contains(help.String(), "$"+k+",")
		if k != "STARFLOW_SECRET_KEY" && !reads {
			t.Errorf("starflow.env.example:%d: no flag of scheduler, worker or webserver reads %s", n+1, k)
		}
	}
	if seen < 3 {
		t.Errorf("starflow.env.example sets %d variables, want the database, the queue and the key at least", seen)
	}
}
