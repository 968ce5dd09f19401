// Package redistest starts real redis-server processes for tests. A missing
// redis-server fails the test: `make test` installs it, and a test that
// skipped would hide that.
package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"

	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// Server is a redis-server the test started on a free loopback port.
type Server struct {
	Addr string
	port int
	dir  string
	cmd  *exec.Cmd
	done chan struct{}
	// clusterNode starts the server with cluster mode on (NewCluster).
	clusterNode bool
	// companion is a Redis Cluster started beside this server the first
	// time a test asks (Companion), stopped with it.
	companionOnce sync.Once
	companion     *Cluster
	companionErr  error
}

// Start starts a redis-server for t and stops it when t ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s, err := New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// New starts a redis-server without a test (for TestMain); Close stops it.
func New() (*Server, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("redis-server is not installed (apt-get install redis-server; `make test` does it): %w", err)
	}
	dir, err := os.MkdirTemp("", "trackd-redis-")
	if err != nil {
		return nil, err
	}
	s := &Server{dir: dir}
	var lastErr error
	for range 5 {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		s.port = port
		s.Addr = "127.0.0.1:" + strconv.Itoa(port)
		if lastErr = s.start(bin); lastErr == nil {
			return s, nil
		}
	}
	os.RemoveAll(dir)
	return nil, fmt.Errorf("start redis-server: %w", lastErr)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (s *Server) start(bin string) error {
	args := []string{"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", s.dir,
		"--maxclients", "4000", "--loglevel", "warning"}
	if s.clusterNode {
		args = append(args, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
			"--cluster-node-timeout", "5000")
	}
	cmd := exec.Command(bin, args...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return err
	}
	s.cmd = cmd
	s.done = make(chan struct{})
	go func() { cmd.Wait(); close(s.done) }()
	c := redis.NewClient(&redis.Options{Addr: s.Addr, MaxRetries: -1})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case <-s.done:
			return fmt.Errorf("redis-server exited: %s", out.String())
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			s.kill()
			return fmt.Errorf("redis-server on %s not answering: %v", s.Addr, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (s *Server) kill() {
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Kill()
		<-s.done
	}
}

// Stop kills the server, as a crash would; Restart brings it back on the
// same address, empty.
func (s *Server) Stop() { s.kill() }

// Restart starts a stopped server again on its address.
func (s *Server) Restart() error {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return err
	}
	return s.start(bin)
}

// Close stops the server (and its companion cluster) and removes its files.
func (s *Server) Close() {
	s.kill()
	os.RemoveAll(s.dir)
	if s.companion != nil {
		s.companion.Close()
	}
}

// Companion is a 3-node Redis Cluster that lives as long as s: started
// the first time a test asks, so a package's contract tests share one and
// packages that never ask start none.
func (s *Server) Companion(t testing.TB) *Cluster {
	t.Helper()
	s.companionOnce.Do(func() { s.companion, s.companionErr = NewCluster(3) })
	if s.companionErr != nil {
		t.Fatal(s.companionErr)
	}
	return s.companion
}

// Client returns a client for the server, closed when t ends.
func (s *Server) Client(t testing.TB) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: s.Addr, PoolSize: 64})
	t.Cleanup(func() { c.Close() })
	return c
}

// Prefix returns a key prefix unique to t, so tests share one server.
func Prefix(t testing.TB) string {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	name := strings.NewReplacer("/", ".", "{", "", "}", "", " ", "_").Replace(t.Name())
	return name + "." + hex.EncodeToString(b) + ":"
}

// Main is a package's TestMain: it starts one redis-server for every test
// of the package (each under its own Prefix), stores it in *srv, runs the
// tests and stops it. A redis-server that will not start fails the run.
func Main(m *testing.M, srv **Server) {
	s, err := New()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	*srv = s
	code := m.Run()
	s.Close()
	os.Exit(code)
}

// Backend is a Redis a contract test runs against.
type Backend struct {
	Name   string
	Client func(t *testing.T) redis.UniversalClient
}

// Backends are the package's real redis-server (*srv, read when a test
// asks, so after Main has started it), a real 3-node Redis Cluster beside
// it, and the embedded Redis `make run` uses: what trackd stores must
// behave the same on all three.
func Backends(srv **Server) []Backend {
	return []Backend{
		{"redis-server", func(t *testing.T) redis.UniversalClient { return (*srv).Client(t) }},
		{"cluster", func(t *testing.T) redis.UniversalClient { return (*srv).Companion(t).Client(t) }},
		{"embedded", func(t *testing.T) redis.UniversalClient {
			mr := miniredis.RunT(t)
			c := redis.NewClient(&redis.Options{Addr: mr.Addr()})
			t.Cleanup(func() { c.Close() })
			return c
		}},
	}
}

// Cluster is a Redis Cluster of real redis-server processes, every node a
// primary holding a share of the slots (no replicas).
type Cluster struct {
	Nodes []*Server
}

// StartCluster starts an n-node Redis Cluster for t, waits until every
// node says the cluster is ok, and stops it when t ends.
func StartCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	cl, err := NewCluster(n)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// NewCluster starts an n-node Redis Cluster without a test; Close stops it.
func NewCluster(n int) (*Cluster, error) {
	cl := &Cluster{}
	for range n {
		s, err := newNode()
		if err != nil {
			cl.Close()
			return nil, err
		}
		cl.Nodes = append(cl.Nodes, s)
	}
	ctx := context.Background()
	per := 16384 / n
	for i, s := range cl.Nodes {
		c := redis.NewClient(&redis.Options{Addr: s.Addr})
		last := (i+1)*per - 1
		if i == n-1 {
			last = 16383
		}
		err := c.ClusterAddSlotsRange(ctx, i*per, last).Err()
		if err == nil && i > 0 {
			err = c.ClusterMeet(ctx, "127.0.0.1", strconv.Itoa(cl.Nodes[0].port)).Err()
		}
		c.Close()
		if err != nil {
			cl.Close()
			return nil, fmt.Errorf("set up cluster node %s: %w", s.Addr, err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, s := range cl.Nodes {
		c := redis.NewClient(&redis.Options{Addr: s.Addr})
		for {
			info, err := c.ClusterInfo(ctx).Result()
			if err == nil && strings.Contains(info, "cluster_state:ok") && strings.Contains(info, fmt.Sprintf("cluster_known_nodes:%d", n)) {
				break
			}
			if time.Now().After(deadline) {
				c.Close()
				cl.Close()
				return nil, fmt.Errorf("cluster node %s not ok after 30s: %s %v", s.Addr, info, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
		c.Close()
	}
	return cl, nil
}

// Close stops every node and removes their files.
func (cl *Cluster) Close() {
	for _, s := range cl.Nodes {
		s.Close()
	}
}

// Client returns a cluster client, closed when t ends.
func (cl *Cluster) Client(t testing.TB) *redis.ClusterClient {
	addrs := make([]string, len(cl.Nodes))
	for i, s := range cl.Nodes {
		addrs[i] = s.Addr
	}
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, PoolSize: 32})
	t.Cleanup(func() { c.Close() })
	return c
}

// newNode starts a cluster-enabled redis-server on a port whose cluster
// bus port (port+10000) is free too.
func newNode() (*Server, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("redis-server is not installed (apt-get install redis-server; `make test` does it): %w", err)
	}
	dir, err := os.MkdirTemp("", "trackd-redis-cluster-")
	if err != nil {
		return nil, err
	}
	s := &Server{dir: dir, clusterNode: true}
	var lastErr error
	for range 20 {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		if port+10000 > 65535 || !portFree(port+10000) {
			continue
		}
		s.port = port
		s.Addr = "127.0.0.1:" + strconv.Itoa(port)
		if lastErr = s.start(bin); lastErr == nil {
			return s, nil
		}
	}
	os.RemoveAll(dir)
	return nil, fmt.Errorf("start cluster redis-server: %v", lastErr)
}

func portFree(port int) bool {
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		return false
	}
	l.Close()
	return true
}
