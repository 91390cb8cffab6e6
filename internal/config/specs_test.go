package config

import (
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestParseSecret(t *testing.T) {
	tests := []struct {
		in      string
		want    SecretSpec
		wantErr string
	}{
		{in: "id=netrc,src=/home/u/.netrc", want: SecretSpec{ID: "netrc", Src: "/home/u/.netrc"}},
		{in: "id=npm,env=NPM_TOKEN", want: SecretSpec{ID: "npm", Env: "NPM_TOKEN"}},
		{in: "src=a.txt,id=x", want: SecretSpec{ID: "x", Src: "a.txt"}},
		{in: "id=x,source=a.txt", want: SecretSpec{ID: "x", Src: "a.txt"}},
		{in: "id=GH_TOKEN", want: SecretSpec{ID: "GH_TOKEN"}},
		{in: "type=env,id=t,src=TOKEN", want: SecretSpec{ID: "t", Env: "TOKEN"}},
		{in: `id=x,"src=/tmp/a,b"`, want: SecretSpec{ID: "x", Src: "/tmp/a,b"}},
		{in: "src=a.txt", wantErr: `"src=a.txt" has no id=`},
		{in: "id=x,src=a,env=B", wantErr: "give src= or env=, not both"},
		{in: "id=x,value=hunter2", wantErr: `unknown field "value"`},
		{in: "id=x,type=ssh", wantErr: `type "ssh" is not file or env`},
		{in: "id=x,src", wantErr: `field "src" is not key=value`},
		{in: "id=a/b", wantErr: "must not hold spaces or '/'"},
	}
	for _, tc := range tests {
		got, err := ParseSecret(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseSecret(%q) error %v, want %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseSecret(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
	// String renders what ParseSecret reads back
	for _, s := range []SecretSpec{{ID: "a", Src: "/x,y"}, {ID: "b", Env: "V"}, {ID: "c"}} {
		if back, err := ParseSecret(s.String()); err != nil || back != s {
			t.Errorf("ParseSecret(%q) = %+v, %v", s.String(), back, err)
		}
	}
}

func TestParseSSH(t *testing.T) {
	tests := []struct {
		in      string
		want    SSHSpec
		wantErr bool
	}{
		{in: "default", want: SSHSpec{ID: "default"}},
		{in: "default=/run/agent.sock", want: SSHSpec{ID: "default", Paths: []string{"/run/agent.sock"}}},
		{in: "git=/k/a,/k/b", want: SSHSpec{ID: "git", Paths: []string{"/k/a", "/k/b"}}},
		{in: "", wantErr: true},
		{in: "=/k/a", wantErr: true},
		{in: "git=/k/a,", wantErr: true},
	}
	for _, tc := range tests {
		got, err := ParseSSH(tc.in)
		if tc.wantErr {
			if err == nil {
				t.Errorf("ParseSSH(%q) = %+v, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseSSH(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

func TestParseAnnotation(t *testing.T) {
	tests := []struct {
		in      string
		want    Annotation
		wantErr string
	}{
		{in: "org.opencontainers.image.title=App", want: Annotation{Types: []string{"manifest"}, Key: "org.opencontainers.image.title", Value: "App"}},
		{in: "index,manifest:k=v=w", want: Annotation{Types: []string{"index", "manifest"}, Key: "k", Value: "v=w"}},
		{in: "manifest[linux/arm64]:k=", want: Annotation{Types: []string{"manifest"}, Platform: "linux/arm64", Key: "k"}},
		{in: "manifest-descriptor[linux/amd64]:k=v", want: Annotation{Types: []string{"manifest-descriptor"}, Platform: "linux/amd64", Key: "k", Value: "v"}},
		{in: "k", wantErr: "is not [TYPE:]KEY=VALUE"},
		{in: "=v", wantErr: "empty key"},
		{in: "layer:k=v", wantErr: `unknown annotation type "layer"`},
		{in: "manifest[linux/amd64],manifest[linux/arm64]:k=v", wantErr: "names two platforms"},
		{in: "manifest[nope]:k=v", wantErr: "nope"},
	}
	for _, tc := range tests {
		got, err := ParseAnnotation(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseAnnotation(%q) error %v, want %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseAnnotation(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

func TestNormalizeProvenance(t *testing.T) {
	for in, want := range map[string]string{"true": "min", "mode=min": "min", "MIN": "min", "mode=max": "max", "max": "max", "false": "false", "full": "full"} {
		if got := normalizeProvenance(in); got != want {
			t.Errorf("normalizeProvenance(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestJoinFragments(t *testing.T) {
	if got, want := joinSecretFragments([]string{"id=a", "src=f", "id=b", "env=B", "id=c"}), []string{"id=a,src=f", "id=b,env=B", "id=c"}; !slices.Equal(got, want) {
		t.Errorf("secrets: %q, want %q", got, want)
	}
	if got, want := joinSSHFragments([]string{"default", "git=/k/a", "/k/b", "other"}), []string{"default", "git=/k/a,/k/b,other"}; !slices.Equal(got, want) {
		t.Errorf("ssh: %q, want %q", got, want)
	}
}

// The supply-chain keys load from every layer: entries split by a
// variable's commas are whole again, flag entries stay as given, paths in
// the file are relative to it, and bad values are named by their source.
func TestLoadSupplyKeys(t *testing.T) {
	file := writeFile(t, t.TempDir(), "sub/xbuild.yaml", "secrets:\n  - id=netrc,src=netrc.txt\n  - id=tok,env=TOKEN\nssh: [git=keys/id]\nsign:\n  key: cosign.key\nprovenance: max\nsbom: true\nreproducible: true\nlabels: [a=b]\n")
	l, err := Load(Sources{ConfigFile: file})
	if err != nil {
		t.Fatal(err)
	}
	sub := filepath.Dir(file)
	if want := []string{"id=netrc,src=" + filepath.Join(sub, "netrc.txt"), "id=tok,env=TOKEN"}; !slices.Equal(l.Secrets, want) {
		t.Errorf("secrets %q, want %q", l.Secrets, want)
	}
	if want := []string{"git=" + filepath.Join(sub, "keys/id")}; !slices.Equal(l.SSH, want) {
		t.Errorf("ssh %q, want %q", l.SSH, want)
	}
	if l.Sign.Key != filepath.Join(sub, "cosign.key") || l.Provenance != "max" || !l.SBOM || !l.Reproducible || !slices.Equal(l.Labels, []string{"a=b"}) {
		t.Errorf("loaded %+v", l.Config)
	}
	if err := l.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}

	env := map[string]string{"XBUILD_SECRETS": "id=a,src=/f,id=b,env=B", "XBUILD_SSH": "default,git=/k/a,/k/b"}
	l, err = Load(Sources{Getenv: func(k string) string { return env[k] },
		Flags: []Flag{{Key: "labels", Name: "label", Values: []string{"x=1,2"}}, {Key: "sign.key", Name: "sign-key", Values: []string{"rel.key"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"id=a,src=/f", "id=b,env=B"}; !slices.Equal(l.Secrets, want) {
		t.Errorf("XBUILD_SECRETS: %q, want %q", l.Secrets, want)
	}
	if want := []string{"default", "git=/k/a,/k/b"}; !slices.Equal(l.SSH, want) {
		t.Errorf("XBUILD_SSH: %q, want %q", l.SSH, want)
	}
	if !slices.Equal(l.Labels, []string{"x=1,2"}) || l.Sign.Key != "rel.key" {
		t.Errorf("flags: labels %q, sign.key %q", l.Labels, l.Sign.Key)
	}

	l, err = Load(Sources{Flags: []Flag{
		{Key: "secrets", Name: "secret", Values: []string{"id=a,src=/f", "id=a,env=X", "env=Y"}},
		{Key: "provenance", Name: "provenance", Values: []string{"full"}},
		{Key: "annotations", Name: "annotation", Values: []string{"layer:k=v"}},
		{Key: "labels", Name: "label", Values: []string{"novalue"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	got := errString(l.Validate())
	for _, want := range []string{
		`secrets (from --secret): secret id "a" is given twice`,
		`secrets (from --secret): "env=Y" has no id=`,
		`provenance (from --provenance): "full" is not one of min, max, false`,
		`annotations (from --annotation): "layer:k=v": unknown annotation type "layer"`,
		`labels (from --label): "novalue" is not KEY=VALUE`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("Validate lacks %q:\n%s", want, got)
		}
	}
}
