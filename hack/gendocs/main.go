// Command gendocs writes xbuild's command reference (docs/reference/*.md)
// from the cobra command tree, so the reference never drifts from --help.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra/doc"

	"github.com/xbuild-dev/xbuild/cmd"
	"github.com/xbuild-dev/xbuild/internal/iostreams"
)

func main() {
	dir := "docs/reference"
	if len(os.Args) > 1 {
		dir = os.Args[1]
	}
	if err := generate(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// generate writes one Markdown file per command into dir.
func generate(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	io, _, _ := iostreams.Test()
	root := cmd.NewRootCmd(cmd.NewFactory(io, func(string) string { return "" }))
	root.InitDefaultCompletionCmd()
	root.DisableAutoGenTag = true
	return doc.GenMarkdownTree(root, dir)
}
