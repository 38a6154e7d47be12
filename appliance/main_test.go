package appliance

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"testing"

	"github.com/recotem/recotem/format"
	"github.com/recotem/recotem/internal/apikey"
	"github.com/recotem/recotem/internal/logx"
)

// TestMain doubles as the server process of the SIGTERM test: with
// RECOTEM_TEST_SERVE_CHILD set, the test binary runs Run with signal
// handling like cmd/recotem does and exits with its code (style.md #16).
func TestMain(m *testing.M) {
	if os.Getenv("RECOTEM_TEST_SERVE_CHILD") == "1" {
		os.Exit(serveChild())
	}
	os.Exit(m.Run())
}

func serveChild() int {
	key := format.Key{ID: "k1", Secret: []byte(os.Getenv("CHILD_SECRET"))}
	ring, err := format.NewKeyRing(key)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	cfg := Config{
		RecipesDir:   os.Getenv("CHILD_RECIPES"),
		Loader:       yamlLoader{},
		Logger:       logx.New(os.Stderr, "json", slog.LevelInfo),
		APIKeys:      []apikey.Key{{Kid: "c", Digest: apikey.Digest([]byte(os.Getenv("CHILD_API_KEY")))}},
		KeyRing:      ring,
		DrainSeconds: 10,
		Ready: func(a net.Addr) {
			fmt.Printf("READY %s\n", a)
		},
	}
	if err := Run(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "Configuration error:", err)
		return 8
	}
	return 0
}
