// Package lint is xbuild's Dockerfile gate: xbuild's own rules (XB000..XB010),
// BuildKit's build checks, and hadolint when it is installed, merged into one
// deduplicated, sorted list of findings.
//
// Check is the pure core: it parses a Dockerfile with BuildKit's parser and
// returns the built-in and BuildKit findings, with inline ignores applied. Run
// adds the I/O around it: it reads the file, looks for a .dockerignore, runs
// hadolint through a CommandRunner and merges everything.
//
// # Built-in rules
//
// Rules returns the catalogue. Decisions worth knowing:
//   - XB000 reports what BuildKit's parser or its LLB conversion rejects, and
//     files that are not UTF-8 (BuildKit's lexer would print to stderr).
//   - XB002 matches names whose last word is KEY, TOKEN, PASSWORD, PASSWD,
//     PASSPHRASE, SECRET, APIKEY or CREDENTIAL(S), and names containing
//     SECRET_KEY or PRIVATE_KEY; it skips PUBLIC/PUB names, GPG/PGP keys
//     (the fingerprints official images use to verify downloads), and
//     names ending in FILE, PATH or DIR. Values are checked for URLs with a
//     password, AWS access key ids and private keys. No message prints a value.
//   - XB004 also reports $TARGETARCH used in a stage that never declares
//     ARG TARGETARCH (it is empty there). `go install mod@version` alone
//     (installing a build tool) is not required to set GOARCH.
//   - XB006 trusts base images whose reference says "nonroot"; a USER set
//     inside any other base image cannot be seen, and the message says so.
//   - XB009 skips alpine-based builders that never install a C compiler:
//     Go turns cgo off by itself when it finds none.
//   - XB010 reports ARG HTTP_PROXY (any proxy name, any case) inside a
//     stage only: a global ARG before FROM reaches no RUN step unless a
//     stage declares it again, which is then the finding.
//
// BuildKit's checks run offline: base images resolve to an empty config, so
// UndefinedVar is only kept where the whole environment is known (stages
// built on scratch), and checks that need the image or the build context
// (InvalidBaseImagePlatform, CopyIgnoredFile) never fire.
//
// # hadolint
//
// What Run relies on, checked against hadolint 2.15.1:
//   - `hadolint --format json --no-fail FILE` prints a JSON array of
//     {code, level, line, column, message, file} and exits 0; exit code 1
//     without --no-fail means "findings", any other non-zero code is a failure.
//   - hadolint uses the first configuration file it finds, in this order:
//     ./.hadolint.yaml in its working directory, $XDG_CONFIG_HOME/hadolint.yaml,
//     $HOME/.config/hadolint.yaml, $HOME/.hadolint/hadolint.yaml or
//     $HOME/hadolint/config.yaml, then $HOME/.hadolint.yaml. Run starts
//     hadolint in the Dockerfile's directory, so a .hadolint.yaml committed
//     next to the Dockerfile applies; its `ignored` and `override` settings
//     affect hadolint's own rules only, never xbuild's.
//   - Formats accumulate instead of being replaced: HADOLINT_FORMAT and a
//     `format:` key in .hadolint.yaml each add a report before the one
//     --format asks for. Run clears HADOLINT_FORMAT and reads the JSON
//     array that ends the output.
//   - A broken .hadolint.yaml is reported on stderr while hadolint still lints
//     with defaults and exits 0; Run turns that stderr into a notice.
//
// # Ignoring findings
//
// A comment directly above an instruction (in a block of consecutive comment
// lines, no blank line in between) of the form `# xbuild ignore=XB001,XB005`
// or `# hadolint ignore=DL3008,XB005` silences the listed rules for that
// instruction, whichever tool reported them; `# xbuild global ignore=...`
// silences them everywhere. Findings about the whole file (XB003 for build
// args, XB008) sit on line 1 and belong to the first instruction. Ignoring a
// rule also ignores the rules of other tools that report the same problem
// (XB005 and hadolint's DL3006/DL3007, XB006 and DL3002, XB007 and DL3020,
// XB002 and BuildKit's SecretsUsedInArgOrEnv, ...), so
// `# hadolint ignore=DL3007` also silences XB005 on that FROM.
package lint
