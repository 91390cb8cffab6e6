package cmd

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/xbuild-dev/xbuild/internal/atomicfile"
	"github.com/xbuild-dev/xbuild/internal/config"
)

type initOptions struct {
	path  string
	force bool
}

// NewInitCmd builds `xbuild init`.
func NewInitCmd(f *Factory) *cobra.Command {
	opts := &initOptions{}
	c := &cobra.Command{
		Use:     "init [DIR]",
		Short:   "Write a commented xbuild.yaml with every key and its default",
		Args:    rangeArgs(0, 1, "at most one directory"),
		GroupID: "setup",
		Example: `  xbuild init            # ./xbuild.yaml
  xbuild init services/api
  xbuild init --force    # overwrite an existing file`,
		RunE: func(c *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			opts.path = filepath.Join(dir, config.FileName)
			return runInit(f, opts)
		},
	}
	c.Flags().BoolVar(&opts.force, "force", false, "overwrite an existing xbuild.yaml")
	return c
}

func runInit(f *Factory, opts *initOptions) error {
	if _, err := os.Stat(opts.path); err == nil && !opts.force {
		return fmt.Errorf("%s already exists; not overwriting it (use --force to replace it)", opts.path)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := atomicfile.Write(opts.path, []byte(config.Template), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(f.IO.ErrOut, "Wrote %s. Set image and tags, then run: xbuild build\n", opts.path)
	return nil
}
