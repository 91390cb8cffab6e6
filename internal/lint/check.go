package lint

// Env carries the facts about the build that Run gathers and Check cannot,
// being pure.
type Env struct {
	// DockerignoreExists is true when the build has a .dockerignore (XB008).
	DockerignoreExists bool
	// BuildArgs are the --build-arg values the user passes. They resolve
	// variables in FROM lines and trigger XB003 for platform args.
	BuildArgs map[string]string
}

// Check runs the built-in rules and BuildKit's build checks on one
// Dockerfile and returns the findings, merged, with inline ignores applied,
// sorted by line and rule. It does no I/O; file is only used to label the
// findings.
func Check(file string, data []byte, env Env) []Finding {
	df, raw := check(file, data, env)
	return finish(df, raw, nil)
}

// check returns the parsed file and the unmerged built-in and BuildKit
// findings.
func check(file string, data []byte, env Env) (*dockerfile, []Finding) {
	var out []Finding
	data, problem, stop := checkEncoding(file, data)
	if problem != nil {
		out = append(out, *problem)
	}
	if stop {
		return &dockerfile{file: file}, out
	}
	df, ok := parseDockerfile(file, data)
	out = append(out, df.errors...)
	if df.lex == nil {
		return df, out // the parser rejected the whole file
	}
	out = append(out, builtinFindings(df, env)...)
	if ok {
		out = append(out, buildkitFindings(df, buildkitChecks(file, data, env))...)
	}
	return df, out
}

// builtinFindings runs xbuild's own rules (XB001-XB010) on a parsed file.
func builtinFindings(df *dockerfile, env Env) []Finding {
	var out []Finding
	out = append(out, checkProxyEnv(df)...)
	out = append(out, checkSecrets(df)...)
	out = append(out, checkPlatformArgs(df, env.BuildArgs)...)
	out = append(out, checkGoCrossCompile(df)...)
	out = append(out, checkBaseTags(df, env.BuildArgs)...)
	out = append(out, checkRootUser(df, env.BuildArgs)...)
	out = append(out, checkAddForCopy(df)...)
	out = append(out, checkDockerignore(df, env)...)
	out = append(out, checkCgoStatic(df, env.BuildArgs)...)
	out = append(out, checkProxyArg(df)...)
	return out
}

// finish merges, filters and sorts findings from every source.
func finish(df *dockerfile, findings []Finding, ignore []string) []Finding {
	findings = mergeFindings(findings)
	findings = applyIgnores(df, findings, ignore)
	sortFindings(findings)
	if findings == nil {
		findings = []Finding{}
	}
	return findings
}
