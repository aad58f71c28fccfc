package catalog

import (
	"context"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"mtm/internal/testenv/postgres"
)

type smokeArgs struct{ N int }

func (smokeArgs) Kind() string { return "mtm_smoke" }

type smokeWorker struct {
	river.WorkerDefaults[smokeArgs]
	done chan int
}

func (w *smokeWorker) Work(_ context.Context, j *river.Job[smokeArgs]) error {
	w.done <- j.Args.N
	return nil
}

// TestRiverOnTheCatalog: migration 4 gives a PostgreSQL catalog River's
// schema, and a River client on the catalog's pool works a job inserted in
// it (the ground the jobs of docs/design.md, "Jobs and nodes", stand on).
func TestRiverOnTheCatalog(t *testing.T) {
	pg := postgres.Start(t)
	ctx := context.Background()
	c, err := OpenPostgres(ctx, pg.OwnedDatabase(t, "mtm", "secret"), 4, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close() //nolint:errcheck // test
	var version int
	if err := c.r.QueryRowContext(ctx, `SELECT max(version) FROM river_migration`).Scan(&version); err != nil ||
		version != riverSchemaVersion {
		t.Fatalf("River's schema version %d (%v), want %d", version, err, riverSchemaVersion)
	}
	w := &smokeWorker{done: make(chan int, 1)}
	workers := river.NewWorkers()
	river.AddWorker(workers, w)
	client, err := river.NewClient(riverpgxv5.New(c.pool), &river.Config{
		Queues: map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 1}}, Workers: workers})
	if err != nil {
		t.Fatal(err)
	}
	if err := client.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stopCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := client.Stop(stopCtx); err != nil {
			t.Error(err)
		}
	}()
	if _, err := client.Insert(ctx, smokeArgs{N: 42}, nil); err != nil {
		t.Fatal(err)
	}
	select {
	case n := <-w.done:
		if n != 42 {
			t.Errorf("the job worked had N = %d", n)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the job was not worked within 30 s")
	}
}
