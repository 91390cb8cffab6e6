package lint

import (
	"fmt"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

// proxyVars are BuildKit's predefined proxy build args, upper-cased; the
// lower-case spellings are predefined too and match case-insensitively.
var proxyVars = map[string]bool{
	"HTTP_PROXY": true, "HTTPS_PROXY": true, "NO_PROXY": true,
	"ALL_PROXY": true, "FTP_PROXY": true,
}

// checkProxyEnv is XB001: a proxy variable set with ENV ends up in the image
// config, and with it in every container that runs the image.
func checkProxyEnv(df *dockerfile) []Finding {
	var out []Finding
	for _, s := range df.stages {
		for _, c := range s.cmds {
			env, ok := c.cmd.(*instructions.EnvCommand)
			if !ok {
				continue
			}
			for _, kv := range env.Env {
				if proxyVars[strings.ToUpper(kv.Key)] {
					out = append(out, newFinding(df.file, "XB001", c.line(), fmt.Sprintf(
						"ENV sets %s: the proxy setting (value not shown) is baked into the image and into every container started from it",
						kv.Key)))
				}
			}
		}
	}
	return out
}

// checkProxyArg is XB010: a proxy build argument declared with ARG inside
// a stage. Proxy arguments are predefined, so RUN steps see their
// --build-arg values without a declaration, and undeclared they stay out
// of the image history; declared, every RUN after the ARG records the
// value (credentials and all) in the history of the image.
func checkProxyArg(df *dockerfile) []Finding {
	var out []Finding
	for _, s := range df.stages {
		for _, c := range s.cmds {
			arg, ok := c.cmd.(*instructions.ArgCommand)
			if !ok {
				continue
			}
			for _, kv := range arg.Args {
				if proxyVars[strings.ToUpper(kv.Key)] {
					out = append(out, newFinding(df.file, "XB010", c.line(), fmt.Sprintf(
						"ARG %s declares a predefined proxy argument: RUN steps after it record its value (not shown) in the image history",
						kv.Key)))
				}
			}
		}
	}
	return out
}
