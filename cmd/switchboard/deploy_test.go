package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/switchboard-im/switchboard/internal/testenv"
	"github.com/switchboard-im/switchboard/transport"
)

// make test needs no container engine and no cluster, so the image is not
// built and the manifests are not applied here. What can go wrong in them
// without either is tested: settings that name no flag or do not parse,
// ports that do not match, a Go version behind go.mod's, and how the
// image's own environment runs the binary.

// serveSetting checks that SWITCHBOARD_<FLAG>=value sets a flag of serve.
func serveSetting(t *testing.T, name, value string) {
	t.Helper()
	flag := strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(name, "SWITCHBOARD_"), "_", "-"))
	fs := newServeCmd().Flags()
	if fs.Lookup(flag) == nil {
		t.Errorf("%s names no flag of serve", name)
		return
	}
	if err := fs.Set(flag, value); err != nil {
		t.Errorf("%s=%s: %v", name, value, err)
	}
}

// portOf is the port of a host:port setting.
func portOf(t *testing.T, addr string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	n, err2 := strconv.Atoi(p)
	if err != nil || err2 != nil {
		t.Fatalf("address %q: %v %v", addr, err, err2)
	}
	return n
}

// dockerfile is what the tests read of the Dockerfile.
type dockerfile struct {
	from       []string
	env        map[string]string
	expose     []string
	entrypoint []string
	cmd        []string
}

func readDockerfile(t *testing.T) dockerfile {
	t.Helper()
	b, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	d := dockerfile{env: map[string]string{}}
	var logical []string
	cur := ""
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") || line == "" && cur == "" {
			continue
		}
		if l, ok := strings.CutSuffix(line, "\\"); ok {
			cur += l + " "
			continue
		}
		logical, cur = append(logical, cur+line), ""
	}
	for _, l := range logical {
		instr, args, _ := strings.Cut(l, " ")
		switch instr {
		case "FROM":
			d.from = append(d.from, strings.Fields(args)[0])
		case "ENV":
			for _, kv := range strings.Fields(args) {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					t.Fatalf("ENV %q: want NAME=value pairs", args)
				}
				d.env[k] = v
			}
		case "EXPOSE":
			d.expose = append(d.expose, strings.Fields(args)...)
		case "ENTRYPOINT", "CMD":
			var list []string
			if err := json.Unmarshal([]byte(args), &list); err != nil {
				t.Fatalf("%s %s: want the exec (JSON) form: %v", instr, args, err)
			}
			if instr == "CMD" {
				d.cmd = list
			} else {
				d.entrypoint = list
			}
		}
	}
	return d
}

// TestDockerfile: the build stage's Go is go.mod's; the image's settings
// are flags of serve that parse; it exposes the ports they listen on; and
// the binary run with the image's environment and command (a dev node
// listening on every interface) serves, and the CLI run beside it, as
// `docker exec` would, reaches it.
func TestDockerfile(t *testing.T) {
	d := readDockerfile(t)
	mod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	goVersion := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(mod)
	if goVersion == nil || len(d.from) != 2 || d.from[0] != "golang:"+string(goVersion[1]) {
		t.Fatalf("FROM %v, go.mod's go %s: want the build stage on golang:%[2]s", d.from, goVersion)
	}
	for name, value := range d.env {
		serveSetting(t, name, value)
	}
	listen, admin := d.env["SWITCHBOARD_LISTEN"], d.env["SWITCHBOARD_ADMIN"]
	for _, want := range []string{fmt.Sprintf("%d/udp", portOf(t, listen)), fmt.Sprintf("%d/tcp", portOf(t, admin))} {
		if !slices.Contains(d.expose, want) {
			t.Errorf("EXPOSE %v: want %s", d.expose, want)
		}
	}
	if !slices.Equal(d.entrypoint, []string{"/usr/local/bin/switchboard"}) || len(d.cmd) == 0 || d.cmd[0] != "serve" {
		t.Fatalf("ENTRYPOINT %v CMD %v: want the binary and serve", d.entrypoint, d.cmd)
	}

	// The container, as a process: the image's environment, free ports
	// for its fixed ones, and a data directory of the test's.
	bin := binary(t)
	// A container's environment: none of the test run's SWITCHBOARD_
	// variables, the image's, and the dev default's fixed WebTransport
	// port off.
	env := append(containerEnviron(), "SWITCHBOARD_WEBTRANSPORT=")
	adminPort := testenv.FreePort(t)
	for name, value := range d.env {
		switch name {
		case "SWITCHBOARD_LISTEN":
			value = fmt.Sprintf("0.0.0.0:%d", testenv.FreePort(t))
		case "SWITCHBOARD_ADMIN":
			value = fmt.Sprintf("0.0.0.0:%d", adminPort)
		case "SWITCHBOARD_DATA_DIR":
			value = t.TempDir()
		}
		env = append(env, name+"="+value)
	}
	node := exec.Command(bin, d.cmd...)
	node.Env = env
	log := startNodeProcess(t, node, fmt.Sprintf("127.0.0.1:%d", adminPort))
	beside := func(args ...string) string {
		var out, stderr bytes.Buffer
		var err error
		for range 50 { // server.json comes right after /healthz
			out.Reset()
			stderr.Reset()
			cmd := exec.Command(bin, args...)
			cmd.Env, cmd.Stdout, cmd.Stderr = env, &out, &stderr
			if err = cmd.Run(); err == nil || !strings.Contains(stderr.String(), "no dev node found") {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil {
			t.Fatalf("switchboard %v beside the image's node: %v\n%s", args, err, stderr.String())
		}
		return out.String()
	}
	beside("send", "--user", "alice", "--to", "user:bob", "--text", "hello from the container")
	if h := beside("history", "--user", "bob", "--conv", "d:alice:bob"); !strings.Contains(h, "hello from the container") {
		t.Fatalf("bob's history: %q", h)
	}
	if v := beside("version"); !strings.HasPrefix(v, "switchboard ") || !strings.Contains(v, runtime.Version()) {
		t.Fatalf("switchboard version: %q", v)
	}
	if st := beside("cluster", "status"); !regexp.MustCompile(`(?m)^builds +\S.* on 1$`).MatchString(st) {
		t.Fatalf("cluster status says no build:\n%s", st)
	}
	if strings.Contains(log.String(), "name no flag") {
		t.Fatalf("the node found stray settings in the image's environment:\n%s", log.String())
	}
}

// k8sObject is what the tests read of the manifests' objects.
type k8sObject struct {
	Kind     string `yaml:"kind"`
	Metadata struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Spec struct {
		// Service
		ClusterIP                string         `yaml:"clusterIP"`
		PublishNotReadyAddresses bool           `yaml:"publishNotReadyAddresses"`
		Selector                 map[string]any `yaml:"selector"` // a StatefulSet's: matchLabels
		Ports                    []struct {
			Name       string `yaml:"name"`
			Port       int    `yaml:"port"`
			TargetPort any    `yaml:"targetPort"`
			Protocol   string `yaml:"protocol"`
		} `yaml:"ports"`
		// StatefulSet
		ServiceName string `yaml:"serviceName"`
		Replicas    int    `yaml:"replicas"`
		Template    struct {
			Metadata struct {
				Labels map[string]string `yaml:"labels"`
			} `yaml:"metadata"`
			Spec struct {
				Containers []k8sContainer `yaml:"containers"`
				Volumes    []struct {
					Name string `yaml:"name"`
				} `yaml:"volumes"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

type k8sProbe struct {
	HTTPGet struct {
		Path string `yaml:"path"`
		Port any    `yaml:"port"`
	} `yaml:"httpGet"`
}

type k8sContainer struct {
	Args []string `yaml:"args"`
	Env  []struct {
		Name  string `yaml:"name"`
		Value string `yaml:"value"`
	} `yaml:"env"`
	Ports []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
		Protocol      string `yaml:"protocol"`
	} `yaml:"ports"`
	ReadinessProbe  k8sProbe `yaml:"readinessProbe"`
	LivenessProbe   k8sProbe `yaml:"livenessProbe"`
	SecurityContext struct {
		ReadOnlyRootFilesystem bool `yaml:"readOnlyRootFilesystem"`
	} `yaml:"securityContext"`
	VolumeMounts []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
	} `yaml:"volumeMounts"`
}

// TestKubernetesManifest: the StatefulSet's settings are flags of serve
// that parse; its container ports are the ones those settings listen on,
// with the right protocols; each Service reaches a container port of its
// protocol on the pods it selects; the join list names every pod through
// the headless Service; the probes ask the admin port's /readyz
// (readiness) and /healthz (liveness); and
// every file the node reads or writes is on a volume (the root file
// system is read-only).
func TestKubernetesManifest(t *testing.T) {
	b, err := os.ReadFile("../../deploy/kubernetes/switchboard.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var services []k8sObject
	var sts *k8sObject
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for {
		var doc yaml.Node
		if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		var o k8sObject
		var head struct{ Kind string }
		if err := doc.Decode(&head); err != nil {
			t.Fatal(err)
		}
		if head.Kind != "Service" && head.Kind != "StatefulSet" {
			continue // read only for its YAML
		}
		if err := doc.Decode(&o); err != nil {
			t.Fatalf("%s: %v", head.Kind, err)
		}
		switch o.Kind {
		case "Service":
			services = append(services, o)
		case "StatefulSet":
			sts = &o
		}
	}
	if sts == nil || len(sts.Spec.Template.Spec.Containers) != 1 || len(services) < 2 {
		t.Fatalf("want a StatefulSet of one container and its Services; got %d services, %+v", len(services), sts)
	}
	c := sts.Spec.Template.Spec.Containers[0]
	if !slices.Equal(c.Args, []string{"serve"}) {
		t.Fatalf("args %v: want serve", c.Args)
	}
	env := map[string]string{}
	for _, e := range c.Env {
		if !strings.HasPrefix(e.Name, "SWITCHBOARD_") {
			continue
		}
		value := strings.ReplaceAll(e.Value, "$(POD_IP)", "10.0.0.7") // what Kubernetes puts there
		env[e.Name] = value
		serveSetting(t, e.Name, value)
	}

	// Ports: name → containerPort/protocol.
	ports := map[string]string{}
	numbers := map[string]bool{}
	for _, p := range c.Ports {
		ports[p.Name] = fmt.Sprintf("%d/%s", p.ContainerPort, p.Protocol)
		numbers[ports[p.Name]] = true
	}
	for setting, want := range map[string][]string{
		"SWITCHBOARD_LISTEN": {"UDP"}, "SWITCHBOARD_ADMIN": {"TCP"}, "SWITCHBOARD_GOSSIP": {"TCP", "UDP"}, "SWITCHBOARD_CLUSTER_ADDR": {"TCP"},
	} {
		for _, proto := range want {
			if p := fmt.Sprintf("%d/%s", portOf(t, env[setting]), proto); !numbers[p] {
				t.Errorf("%s=%s: the container has no port %s (%v)", setting, env[setting], p, ports)
			}
		}
	}
	for _, s := range services {
		for k, v := range s.Spec.Selector {
			if sts.Spec.Template.Metadata.Labels[k] != fmt.Sprint(v) {
				t.Errorf("service %s selects %s=%s, which the pods do not carry", s.Metadata.Name, k, v)
			}
		}
		for _, p := range s.Spec.Ports {
			target := fmt.Sprint(p.Port)
			if p.TargetPort != nil {
				target = fmt.Sprint(p.TargetPort)
			}
			if named, ok := ports[target]; ok {
				target = strings.TrimSuffix(named, "/"+p.Protocol)
			}
			if !numbers[target+"/"+p.Protocol] {
				t.Errorf("service %s port %s (%v/%s) reaches no container port", s.Metadata.Name, p.Name, p.TargetPort, p.Protocol)
			}
		}
	}

	// Joining: every pod by its stable name, through the headless Service.
	i := slices.IndexFunc(services, func(s k8sObject) bool { return s.Metadata.Name == sts.Spec.ServiceName })
	if i < 0 || services[i].Spec.ClusterIP != "None" || !services[i].Spec.PublishNotReadyAddresses {
		t.Fatalf("serviceName %q: want a headless Service publishing pods before they are ready", sts.Spec.ServiceName)
	}
	var want []string
	for n := range sts.Spec.Replicas {
		want = append(want, fmt.Sprintf("%s-%d.%s:%d", sts.Metadata.Name, n, sts.Spec.ServiceName, portOf(t, env["SWITCHBOARD_GOSSIP"])))
	}
	if got := strings.Split(env["SWITCHBOARD_JOIN"], ","); !slices.Equal(got, want) {
		t.Errorf("SWITCHBOARD_JOIN %v: want every pod, %v", got, want)
	}

	for probe, path := range map[*k8sProbe]string{&c.ReadinessProbe: "/readyz", &c.LivenessProbe: "/healthz"} {
		if probe.HTTPGet.Path != path || fmt.Sprint(probe.HTTPGet.Port) != "admin" {
			t.Errorf("probe %+v: want %s on the admin port", probe.HTTPGet, path)
		}
	}

	// Files: on a mounted volume, which the pod defines.
	mounted := func(path string) bool {
		for _, m := range c.VolumeMounts {
			if path == m.MountPath || strings.HasPrefix(path, m.MountPath+"/") {
				return slices.ContainsFunc(sts.Spec.Template.Spec.Volumes, func(v struct {
					Name string `yaml:"name"`
				}) bool {
					return v.Name == m.Name
				})
			}
		}
		return false
	}
	if !c.SecurityContext.ReadOnlyRootFilesystem {
		t.Error("want a read-only root file system")
	}
	for _, setting := range []string{"SWITCHBOARD_TLS_CERT", "SWITCHBOARD_TLS_KEY", "SWITCHBOARD_AUTH_SECRET_FILE", "SWITCHBOARD_ADMIN_TOKEN_FILE", "SWITCHBOARD_DATA_DIR"} {
		if p := env[setting]; !filepath.IsAbs(p) || !mounted(p) {
			t.Errorf("%s=%q is on no mounted volume", setting, p)
		}
	}

	// The binary's own check of the whole environment, with credential
	// files where the secret's are mounted (the secret's keys: the file's
	// header) and the pod's IP filled in.
	creds := writeCredentials(t)
	podEnv := containerEnviron()
	for name, value := range env {
		value = strings.Replace(value, "/etc/switchboard", creds, 1)
		if name == "SWITCHBOARD_DATA_DIR" {
			value = t.TempDir()
		}
		podEnv = append(podEnv, name+"="+value)
	}
	check := exec.Command(binary(t), append(c.Args, "--check")...)
	check.Env = podEnv
	if out, err := check.CombinedOutput(); err != nil || !strings.Contains(string(out), "settings are good") {
		t.Fatalf("serve --check with the manifest's environment: %v\n%s", err, out)
	}
}

// TestStrayEnvironment: a SWITCHBOARD_ variable that names no flag of
// serve (a misspelt setting) is found, one that does or that names a
// secret the node reads is not.
func TestStrayEnvironment(t *testing.T) {
	got := strayEnv(newServeCmd().Flags(), []string{
		"SWITCHBOARD_CQL_HOSTS=a:9042", "SWITCHBOARD_CQL_HOST=a:9042", "SWITCHBOARD_PUSH_WEBHOOK_SECRET=s",
		"SWITCHBOARD_ADMIN_TOKEN=t", "HOME=/root", "SWITCHBOARD_LOG_JSON=true", "SWITCHBOARD_LISTN=:4433",
	})
	if !slices.Equal(got, []string{"SWITCHBOARD_CQL_HOST", "SWITCHBOARD_LISTN"}) {
		t.Fatalf("stray: %v", got)
	}
}

// TestServeCheck: `serve --check` says whether the settings are good
// without opening the store or binding a port; a bad setting fails at
// once, with or without --check, even when the database is unreachable
// (the store used to open first, retrying for a minute, before the
// later settings were read); a misspelt variable fails the check.
func TestServeCheck(t *testing.T) {
	bin := binary(t)
	run := func(env []string, args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Env = append(containerEnviron(), env...)
		out, err := cmd.CombinedOutput()
		if ctx.Err() != nil {
			t.Fatalf("switchboard %v did not end in 20 s:\n%s", args, out)
		}
		return string(out), err
	}
	dir := t.TempDir()
	if out, err := run(nil, "serve", "--check", "--dev", "--data-dir", dir); err != nil || !strings.Contains(out, "settings are good") {
		t.Fatalf("good settings: %v\n%s", err, out)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 || entries[0].Name() != "dev" {
		t.Fatalf("the check left %v in the data dir: want only the dev credentials, no store", entries)
	}
	unreachable := []string{"--dev", "--data-dir", t.TempDir(), "--store", "cql", "--cql-hosts", "127.0.0.1:1", "--direct-from", "bogus"}
	for _, args := range [][]string{append([]string{"serve", "--check"}, unreachable...), append([]string{"serve"}, unreachable...)} {
		if out, err := run(nil, args...); err == nil || !strings.Contains(out, `--direct-from "bogus"`) {
			t.Errorf("switchboard %v: %v\n%s; want the setting named, at once", args, err, out)
		}
	}
	if out, err := run([]string{"SWITCHBOARD_CQL_HOST=db:9042"}, "serve", "--check", "--dev", "--data-dir", dir); err == nil || !strings.Contains(out, "SWITCHBOARD_CQL_HOST") {
		t.Errorf("a misspelt variable: %v\n%s; want the check to fail naming it", err, out)
	}
	// The files the admin API reads (a token too short, a keys file
	// that does not parse), a previous token secret too short, a
	// negative reload interval.
	short, keys := filepath.Join(dir, "short-token"), filepath.Join(dir, "api-keys")
	if err := os.WriteFile(short, []byte("admintok\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keys, []byte("shop messages sha256:nothex\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for flag, want := range map[string]string{"--admin-token-file=" + short: "shorter than 16", "--api-keys-file=" + keys: "--api-keys-file",
		"--auth-previous-secret-file=" + short: "--auth-previous-secret-file", "--tls-reload-interval=-1s": "--tls-reload-interval -1s is negative"} {
		if out, err := run(nil, "serve", "--check", "--dev", "--data-dir", dir, flag); err == nil || !strings.Contains(out, want) {
			t.Errorf("%s: %v\n%s; want the check to fail saying %q", flag, err, out, want)
		}
	}
}

// TestSystemdUnit: systemd finds nothing to say of the unit (run on the
// built binary), it checks the settings before each start and then
// serves, and the binary's own check passes its environment file with
// credential files where systemd hands them over.
func TestSystemdUnit(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		testenv.Missing(t, "systemd-analyze not found (Debian's systemd package; .ci/run installs it)")
	}
	unit, err := os.ReadFile("../../deploy/systemd/switchboard.service")
	if err != nil {
		t.Fatal(err)
	}
	var execs []string
	for _, line := range strings.Split(string(unit), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && strings.HasPrefix(k, "Exec") {
			execs = append(execs, k+"="+v)
		}
	}
	if want := []string{"ExecStartPre=/usr/local/bin/switchboard serve --check", "ExecStart=/usr/local/bin/switchboard serve"}; !slices.Equal(execs, want) {
		t.Fatalf("the unit runs %v, want %v", execs, want)
	}
	bin := binary(t)
	dir := t.TempDir()
	local := filepath.Join(dir, "switchboard.service")
	if err := os.WriteFile(local, bytes.ReplaceAll(unit, []byte("/usr/local/bin/switchboard"), []byte(bin)), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(analyze, "verify", local).CombinedOutput(); err != nil || strings.Contains(string(out), local) {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}

	envFile, err := os.ReadFile("../../deploy/systemd/switchboard.env")
	if err != nil {
		t.Fatal(err)
	}
	creds := writeCredentials(t)
	env := containerEnviron()
	for _, line := range strings.Split(string(envFile), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		if !ok || strings.Contains(value, "$") {
			t.Fatalf("%q: want NAME=value, nothing to expand (systemd expands nothing in an environment file)", line)
		}
		serveSetting(t, name, value)
		value = strings.Replace(value, "/run/credentials/switchboard.service", creds, 1)
		if name == "SWITCHBOARD_DATA_DIR" {
			value = t.TempDir()
		}
		env = append(env, name+"="+value)
	}
	check := exec.Command(bin, "serve", "--check")
	check.Env = env
	if out, err := check.CombinedOutput(); err != nil || !strings.Contains(string(out), "settings are good") {
		t.Fatalf("serve --check with the unit's environment file: %v\n%s", err, out)
	}
}

// TestAdminURL: the admin commands take a URL, or the host:port serve's
// --admin takes (one SWITCHBOARD_ADMIN serves both, as in the image).
func TestAdminURL(t *testing.T) {
	for in, want := range map[string]string{
		"": "", "http://10.0.0.5:8080": "http://10.0.0.5:8080", "https://admin.example.com": "https://admin.example.com",
		"10.0.0.5:8080": "http://10.0.0.5:8080", "0.0.0.0:8080": "http://127.0.0.1:8080", ":8080": "http://127.0.0.1:8080", "[::]:8080": "http://127.0.0.1:8080",
	} {
		if got := adminURL(in); got != want {
			t.Errorf("adminURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestEnvironmentSetsNoAction: the node's defaults in the environment
// (SWITCHBOARD_DIRECT_FROM, as a container sets them for serve) set
// serve's flags, never the privacy command's flags of the same names,
// which would change a user's settings on every run.
func TestEnvironmentSetsNoAction(t *testing.T) {
	t.Setenv("SWITCHBOARD_DIRECT_FROM", "nobody")
	t.Setenv("SWITCHBOARD_GROUP_ADD_FROM", "nobody")
	privacy, serve := newPrivacyCmd().Flags(), newServeCmd().Flags()
	if err := flagsFromEnv(privacy); err != nil {
		t.Fatal(err)
	}
	if err := flagsFromEnv(serve); err != nil {
		t.Fatal(err)
	}
	if privacy.Changed("direct-from") || privacy.Changed("group-add-from") {
		t.Fatal("the environment set the privacy command's flags")
	}
	if v, _ := serve.GetString("direct-from"); v != "nobody" {
		t.Fatalf("serve's --direct-from from the environment: %q", v)
	}
}

// startNodeProcess starts a node's command, stops it with the test (its
// log shown if the test failed), and waits until /healthz at admin says
// it serves.
func startNodeProcess(t *testing.T, node *exec.Cmd, admin string) *lockedBuffer {
	t.Helper()
	log := &lockedBuffer{}
	node.Stdout, node.Stderr = log, log
	if err := node.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = node.Process.Kill()
		_ = node.Wait()
		if t.Failed() {
			t.Logf("node log:\n%s", log.String())
		}
	})
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		res, err := http.Get("http://" + admin + "/healthz")
		if err == nil {
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return log
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the node did not serve: %v\n%s", err, log.String())
		}
	}
}

// containerEnviron is this process's environment without the test run's
// SWITCHBOARD_ variables: what a node in a container or a unit starts
// with before its own settings.
func containerEnviron() []string {
	return slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "SWITCHBOARD_") })
}

// writeCredentials writes a node's credential files, under the names the
// deployments use (the Kubernetes secret's keys, the unit's credentials),
// into a new directory: a certificate for chat.example.com and localhost,
// a token secret and an admin token, each of the length the node wants.
func writeCredentials(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	cert, key, err := transport.SelfSignedCert("chat.example.com")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{"tls.crt": cert, "tls.key": key, "token-secret": bytes.Repeat([]byte("s"), transport.MinSecretBytes),
		"admin-token": []byte("an-admin-token-of-the-test")}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
