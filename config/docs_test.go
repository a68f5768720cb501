package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestEverySettingIsDocumented: docs/configuration.md has a row for
// every setting of Config.
func TestEverySettingIsDocumented(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "docs", "configuration.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	rt := reflect.TypeOf(Config{})
	for i := 0; i < rt.NumField(); i++ {
		tag := rt.Field(i).Tag.Get("yaml")
		if tag == "" || tag == "-" {
			continue
		}
		if !strings.Contains(doc, "| `"+tag+"` |") {
			t.Errorf("setting %s is not in docs/configuration.md", tag)
		}
	}
}
