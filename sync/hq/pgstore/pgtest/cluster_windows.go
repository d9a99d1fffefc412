//go:build windows

package pgtest

import "context"

// Cluster is not available on Windows: the tests use HQ_TEST_PG_DSN there.
type Cluster struct{}

// BinDir reports that no throwaway cluster can be started here.
func BinDir() (string, error) { return "", ErrNotInstalled }

// StartCluster reports that no throwaway cluster can be started here.
func StartCluster(ctx context.Context, opts Options) (*Cluster, error) { return nil, ErrNotInstalled }

// Start does nothing.
func (c *Cluster) Start(ctx context.Context) error { return ErrNotInstalled }

// StopServer does nothing.
func (c *Cluster) StopServer() {}

// Stop does nothing.
func (c *Cluster) Stop() {}

// DSN is empty.
func (c *Cluster) DSN(name string) string { return "" }

// LogFile is empty.
func (c *Cluster) LogFile() string { return "" }
