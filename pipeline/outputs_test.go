package pipeline

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseOutput(t *testing.T) {
	tests := []struct {
		in   string
		want string // Output.String(), or "error: SUBSTRING"
	}{
		{"type=oci,dest=image.tar", "type=oci,dest=image.tar"},
		{"dist", "type=local,dest=dist"},
		{"-", "type=tar,dest=-"},
		{"type=registry", "type=image,push=true"},
		{"type=registry,push=false", "type=image,push=true"},
		{`type=image,"name=r/a:1,r/a:2",push=true`, `type=image,"name=r/a:1,r/a:2",push=true`},
		{"TYPE=docker", "type=docker"},
		{"type=cacheonly", "type=cacheonly"},
		{"type=tar,dest=out.tar", "type=tar,dest=out.tar"},
		{"dest=x.tar", "error: has no type="},
		{"type=s3,bucket=b", `error: type "s3" is not one of registry, image, oci, docker, tar, local, cacheonly`},
		{"type=oci,dest", `error: field "dest" is not key=value`},
		{"", "error: an empty output"},
	}
	for _, tc := range tests {
		o, err := ParseOutput(tc.in)
		got := o.String()
		if err != nil {
			got = "error: " + err.Error()
		}
		if want, isErr := strings.CutPrefix(tc.want, "error: "); isErr {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("ParseOutput(%q) = %q, want an error with %q", tc.in, got, want)
			}
			continue
		}
		if got != tc.want {
			t.Errorf("ParseOutput(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestOutputKinds(t *testing.T) {
	tests := []struct {
		in                             string
		pushes, loads, all, compresses bool
	}{
		{"type=registry", true, false, false, true},
		{"type=image,name=r/a:1", false, false, false, true},
		{"type=oci,dest=i.tar", false, false, true, true},
		{"type=docker,dest=i.tar", false, false, true, true},
		{"type=docker", false, true, true, false},
		{"type=tar,dest=fs.tar", false, false, true, false},
		{"out", false, false, false, false},
		{"type=cacheonly", false, false, false, false},
	}
	for _, tc := range tests {
		o, err := ParseOutput(tc.in)
		if err != nil {
			t.Fatal(err)
		}
		if o.Pushes() != tc.pushes || o.Loads() != tc.loads || o.NeedsAllPlatforms() != tc.all || o.compresses() != tc.compresses {
			t.Errorf("%s: pushes %v loads %v all %v compresses %v, want %v %v %v %v", tc.in, o.Pushes(), o.Loads(), o.NeedsAllPlatforms(), o.compresses(), tc.pushes, tc.loads, tc.all, tc.compresses)
		}
	}
}

// The compression policy goes on every exporter that writes compressed
// layers, and never over a setting the output makes itself; a load and
// the filesystem exporters are left alone.
func TestOutputWithCompression(t *testing.T) {
	tests := []struct {
		in    string
		comp  string
		level int
		want  string
	}{
		{"type=oci,dest=i.tar", "zstd", 19, "type=oci,dest=i.tar,compression=zstd,compression-level=19,force-compression=true,oci-mediatypes=true"},
		{"type=docker,dest=i.tar", "gzip", 0, "type=docker,dest=i.tar,compression=gzip,force-compression=true,oci-mediatypes=true"},
		{"type=image,name=r/a:1,push=false", "zstd", 0, "type=image,name=r/a:1,push=false,compression=zstd,force-compression=true,oci-mediatypes=true"},
		{"type=oci,dest=i.tar,compression=gzip,oci-mediatypes=false", "zstd", 19, "type=oci,dest=i.tar,compression=gzip,oci-mediatypes=false,force-compression=true"},
		{"type=docker", "zstd", 19, "type=docker,compression=gzip,force-compression=true"},
		{"type=local,dest=out", "zstd", 0, "type=local,dest=out"},
		{"type=tar,dest=fs.tar", "zstd", 0, "type=tar,dest=fs.tar"},
		{"type=cacheonly", "gzip", 0, "type=cacheonly"},
	}
	for _, tc := range tests {
		if got := compressedOutputs([]string{tc.in}, tc.comp, tc.level); len(got) != 1 || got[0] != tc.want {
			t.Errorf("%s with %s/%d = %q, want %q", tc.in, tc.comp, tc.level, got, tc.want)
		}
	}
}

func TestPlanOutputs(t *testing.T) {
	tests := []struct {
		name    string
		values  []string
		load    bool
		want    OutputPlan
		wantErr string
	}{
		{name: "nothing", want: OutputPlan{}},
		{name: "a registry output is the verified push path", values: []string{`type=registry,"name=r.example/app:1,r.example/app:latest",compression=zstd,compression-level=3`},
			want: OutputPlan{Push: true, Names: []string{"r.example/app:1", "r.example/app:latest"}, Compression: "zstd", CompressionLevel: 3,
				Notes: []string{`--output type=registry,"name=r.example/app:1,r.example/app:latest",compression=zstd,compression-level=3: pushing through xbuild's verified path, as --push does (each platform by digest, one merged index, verified, then tagged)`}}},
		{name: "type=image,push=true is a registry output", values: []string{"type=image,push=true"},
			want: OutputPlan{Push: true, Notes: []string{"--output type=image,push=true: pushing through xbuild's verified path, as --push does (each platform by digest, one merged index, verified, then tagged)"}}},
		{name: "--load is type=docker", load: true, want: OutputPlan{Outputs: []Output{{Type: "docker"}}}},
		{name: "files are passed on normalized", values: []string{"dist", "type=oci,dest=i.tar"},
			want: OutputPlan{Outputs: []Output{{Type: "local", Attrs: []OutputAttr{{"dest", "dist"}}}, {Type: "oci", Attrs: []OutputAttr{{"dest", "i.tar"}}}}}},
		{name: "a registry attribute xbuild would lose is refused", values: []string{"type=registry,name=r/a:1,annotation.foo=bar"},
			wantErr: "annotation.foo= is not supported on xbuild's push path"},
		{name: "docker media types on the push path are refused", values: []string{"type=registry,oci-mediatypes=false"},
			wantErr: "oci-mediatypes=false: xbuild pushes OCI media types"},
		{name: "two registry outputs", values: []string{"type=registry,name=a/b:1", "type=registry,name=a/b:2"}, wantErr: "a second registry output"},
		{name: "two loads", values: []string{"type=docker"}, load: true, wantErr: "--load and --output type=docker both load the image"},
		{name: "a compression verify cannot check", values: []string{"type=registry,compression=estargz"}, wantErr: "compression=estargz is not one of gzip, zstd, uncompressed"},
		{name: "a bad level", values: []string{"type=registry,compression-level=max"}, wantErr: "compression-level=max is not a number"},
		{name: "a bad output", values: []string{"type=nope"}, wantErr: `--output "type=nope": type "nope" is not one of`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := PlanOutputs(tc.values, tc.load)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, tc.want) {
				t.Errorf("PlanOutputs =\n  %+v\nwant\n  %+v", *got, tc.want)
			}
		})
	}
}

func TestOutputLine(t *testing.T) {
	two := []string{"linux/amd64", "linux/arm64"}
	tests := []struct {
		out       string
		platforms []string
		want      string
	}{
		{"type=cacheonly", two, "built linux/amd64, linux/arm64; nothing was pushed (no --push): the result is in the nodes' build cache"},
		{"type=oci,dest=app.tar,compression=zstd", two, "output type=oci: written to app.tar, layers zstd; not verified (xbuild verifies what it pushes to a registry: --push)"},
		{"type=docker", two[:1], "output type=docker: loaded into the Docker engine (layers as gzip, which every engine unpacks); not verified (xbuild verifies what it pushes to a registry: --push)"},
		{"type=local,dest=out", two, "output type=local: written to out, one directory per platform (linux_amd64, linux_arm64); not verified (xbuild verifies what it pushes to a registry: --push)"},
		{"type=local,dest=out", two[:1], "output type=local: written to out; not verified (xbuild verifies what it pushes to a registry: --push)"},
		{"type=tar,dest=-", two, "output type=tar: written to standard output; not verified (xbuild verifies what it pushes to a registry: --push)"},
		{"type=image,name=app:dev,compression=gzip", two, "output type=image: kept as an image on the node that built each platform (app:dev), layers gzip; not verified (xbuild verifies what it pushes to a registry: --push)"},
	}
	for _, tc := range tests {
		o, err := ParseOutput(tc.out)
		if err != nil {
			t.Fatal(err)
		}
		if got := outputLine(o, tc.platforms); got != tc.want {
			t.Errorf("%s:\n  got  %s\n  want %s", tc.out, got, tc.want)
		}
	}
}
