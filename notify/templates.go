package notify

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	texttemplate "text/template"
)

//go:embed templates
var builtinTemplates embed.FS

// Languages the built-in templates come in; English is the default.
var Languages = []string{"en", "zh-CN"}

// DefaultLanguage is used when none is set or a template is missing in
// the language asked for.
const DefaultLanguage = "en"

var templateName = regexp.MustCompile(`^[a-z][a-z0-9_.-]*$`)

// Templates renders messages from templates: DIR/LANG/EVENT.tmpl in the
// data directory when it exists, else the built-in one. A template file
// defines "subject", "text" and optionally "html"; the HTML part is
// executed with html/template, so data in it is escaped.
type Templates struct {
	// Dir is the override folder (DATA/templates); "" for none.
	Dir string
	// Language is en or zh-CN.
	Language string
}

// Render renders the template of event into a Mail to to.
func (t Templates) Render(event, to string, data any) (Mail, error) {
	src, err := t.source(event)
	if err != nil {
		return Mail{}, err
	}
	text, err := texttemplate.New(event).Option("missingkey=error").Parse(src)
	if err != nil {
		return Mail{}, fmt.Errorf("template %s: %w", event, err)
	}
	m := Mail{To: to}
	if m.Subject, err = execText(text, "subject", data); err != nil {
		return Mail{}, err
	}
	m.Subject = strings.Join(strings.Fields(m.Subject), " ")
	if m.Text, err = execText(text, "text", data); err != nil {
		return Mail{}, err
	}
	if text.Lookup("html") == nil {
		return m, nil
	}
	html, err := htmltemplate.New(event).Option("missingkey=error").Parse(src)
	if err != nil {
		return Mail{}, fmt.Errorf("template %s: %w", event, err)
	}
	var b bytes.Buffer
	if err := html.ExecuteTemplate(&b, "html", data); err != nil {
		return Mail{}, fmt.Errorf("template %s: %w", event, err)
	}
	m.HTML = strings.TrimSpace(b.String())
	return m, nil
}

func execText(t *texttemplate.Template, name string, data any) (string, error) {
	if t.Lookup(name) == nil {
		return "", fmt.Errorf("template %s defines no %q", t.Name(), name)
	}
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, name, data); err != nil {
		return "", fmt.Errorf("template %s: %w", t.Name(), err)
	}
	return strings.TrimSpace(b.String()) + "\n", nil
}

// source finds the template of event: the override in the language, the
// built-in one in the language, then the same two in English.
func (t Templates) source(event string) (string, error) {
	if !templateName.MatchString(event) {
		return "", fmt.Errorf("template name %q: want [a-z0-9_.-]", event)
	}
	langs := []string{DefaultLanguage}
	if t.Language != "" && t.Language != DefaultLanguage {
		langs = []string{t.Language, DefaultLanguage}
	}
	for _, lang := range langs {
		if t.Dir != "" {
			b, err := os.ReadFile(filepath.Join(t.Dir, lang, event+".tmpl"))
			if err == nil {
				return string(b), nil
			}
			if !errors.Is(err, fs.ErrNotExist) {
				return "", fmt.Errorf("template override: %w", err)
			}
		}
		if b, err := builtinTemplates.ReadFile("templates/" + lang + "/" + event + ".tmpl"); err == nil {
			return string(b), nil
		}
	}
	return "", fmt.Errorf("no template for %q", event)
}
