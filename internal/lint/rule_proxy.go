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
