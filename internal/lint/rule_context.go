package lint

// checkDockerignore is XB008: without a .dockerignore the whole context
// directory, .git and local secrets included, is sent to the builder.
func checkDockerignore(df *dockerfile, env Env) []Finding {
	if env.DockerignoreExists || len(df.stages) == 0 {
		return nil
	}
	return []Finding{newFinding(df.file, "XB008", 1,
		"no .dockerignore for this build: the whole context directory, .git and any local secrets included, is sent to the builder")}
}
