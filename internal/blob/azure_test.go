package blob

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/recotem/recotem/internal/testenv"
)

// azureEnv clears every AZURE_STORAGE_* variable the azureblob driver
// reads, so only what a test sets next takes effect.
func azureEnv(t testing.TB) {
	t.Helper()
	for _, k := range []string{"AZURE_STORAGE_ACCOUNT", "AZURE_STORAGE_KEY", "AZURE_STORAGE_SAS_TOKEN",
		"AZURE_STORAGE_CONNECTION_STRING", "AZURE_STORAGEBLOB_CONNECTIONSTRING", "AZURE_STORAGE_DOMAIN",
		"AZURE_STORAGE_PROTOCOL", "AZURE_STORAGE_IS_CDN", "AZURE_STORAGE_IS_LOCAL_EMULATOR"} {
		t.Setenv(k, "")
	}
}

// azureSharedKey points the driver at the azurite of .ci/services/azure.sh
// with AZURE_STORAGE_ACCOUNT / AZURE_STORAGE_KEY and the emulator's domain
// and protocol, and returns "az://<container>/<unique prefix>"; it skips
// when azurite is not running.
func azureSharedKey(t testing.TB) string {
	t.Helper()
	ep := testenv.Getenv(t, testenv.Azure, "RECOTEM_TEST_AZURE_ENDPOINT")
	u, err := url.Parse(ep)
	if err != nil {
		t.Fatalf("RECOTEM_TEST_AZURE_ENDPOINT %q: %v", ep, err)
	}
	azureEnv(t)
	t.Setenv("AZURE_STORAGE_ACCOUNT", os.Getenv("RECOTEM_TEST_AZURE_ACCOUNT"))
	t.Setenv("AZURE_STORAGE_KEY", os.Getenv("RECOTEM_TEST_AZURE_KEY"))
	t.Setenv("AZURE_STORAGE_DOMAIN", u.Host)
	t.Setenv("AZURE_STORAGE_PROTOCOL", u.Scheme)
	t.Setenv("AZURE_STORAGE_IS_LOCAL_EMULATOR", "true")
	return fmt.Sprintf("az://%s/%s-%d", os.Getenv("RECOTEM_TEST_AZURE_CONTAINER"), t.Name(), time.Now().UnixNano())
}

// azureConnString does the same through AZURE_STORAGE_CONNECTION_STRING
// alone (its BlobEndpoint names the emulator).
func azureConnString(t testing.TB) string {
	t.Helper()
	cs := testenv.Getenv(t, testenv.Azure, "RECOTEM_TEST_AZURE_CONNECTION_STRING")
	azureEnv(t)
	t.Setenv("AZURE_STORAGE_CONNECTION_STRING", cs)
	return fmt.Sprintf("az://%s/%s-%d", os.Getenv("RECOTEM_TEST_AZURE_CONTAINER"), t.Name(), time.Now().UnixNano())
}

func TestAzureStoreSharedKey(t *testing.T) {
	base := azureSharedKey(t)
	s := NewStore()
	defer s.Close()
	exercise(t, s, base)

	info, err := s.Stat(context.Background(), base+"/data.csv")
	if err != nil {
		t.Fatal(err)
	}
	if info.ETag == "" || !strings.HasPrefix(info.Marker(), "e:") {
		t.Fatalf("Azure stat carries no ETag: %+v", info)
	}

	// az://container@account and abfss://container/... name the same
	// objects as az://container/...
	rest := strings.TrimPrefix(base, "az://"+os.Getenv("RECOTEM_TEST_AZURE_CONTAINER"))
	for _, alias := range []string{
		"az://" + os.Getenv("RECOTEM_TEST_AZURE_CONTAINER") + "@" + os.Getenv("RECOTEM_TEST_AZURE_ACCOUNT") + rest,
		"abfss://" + os.Getenv("RECOTEM_TEST_AZURE_CONTAINER") + rest,
		"abfs://" + os.Getenv("RECOTEM_TEST_AZURE_CONTAINER") + rest,
	} {
		got, err := s.Stat(context.Background(), alias+"/data.csv")
		if err != nil || got.Marker() != info.Marker() {
			t.Fatalf("Stat(%s) = %+v, %v; want marker %s", alias, got, err, info.Marker())
		}
	}

	// A missing container is a missing object.
	if _, err := s.Stat(context.Background(), "az://recotem-no-such-container/x.csv"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("absent container err = %v, want ErrNotFound", err)
	}

	// A wrong key is a permission error, not a missing object; the
	// environment is read again for every new store.
	t.Setenv("AZURE_STORAGE_KEY", "d3Jvbmcta2V5LWZvci10aGUtZW11bGF0b3I=")
	s2 := NewStore()
	defer s2.Close()
	_, err = s2.Stat(context.Background(), base+"/data.csv")
	if !errors.Is(err, ErrPermission) {
		t.Fatalf("wrong key: err = %v, want ErrPermission", err)
	}
}

func TestAzureStoreConnectionString(t *testing.T) {
	base := azureConnString(t)
	s := NewStore()
	defer s.Close()
	exercise(t, s, base)
}

func TestAzureSASOtherAccountRefused(t *testing.T) {
	azureEnv(t)
	t.Setenv("AZURE_STORAGE_ACCOUNT", "acctone")
	t.Setenv("AZURE_STORAGE_SAS_TOKEN", "sv=2021-10-04&sig=abc")
	s := NewStore()
	defer s.Close()
	_, err := s.Stat(context.Background(), "az://ctr@accttwo/x.csv")
	if !errors.Is(err, ErrPermission) || !strings.Contains(err.Error(), "az://ctr@accttwo/x.csv") || strings.Contains(err.Error(), "sig=") {
		t.Fatalf("SAS for another account: err = %v", err)
	}
}

func TestWriteArtifactAzure(t *testing.T) {
	base := azureSharedKey(t)
	s := NewStore()
	defer s.Close()
	testWriteArtifact(t, s, base)
	testWriteOrder(t, s, base)
}

func TestAzureLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("short: skips the 12 MiB block-upload round trip")
	}
	base := azureSharedKey(t)
	s := NewStore()
	defer s.Close()
	roundTripLarge(t, s, base)
}
