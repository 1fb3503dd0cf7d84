# kuaiche developer entry points. See scripts/*.sh for the details.

.PHONY: install run test api-check stack-up stack-down stack-status stack-env

# pytest arguments for `make test`, e.g. make test PYTEST_ARGS="-x -k registry"
PYTEST_ARGS ?=

install:
	scripts/bootstrap.sh

run: install
	.venv/bin/kuaiche up --demo

test:
	scripts/test.sh $(PYTEST_ARGS)

# every service's OpenAPI against what it answers (schemathesis on `kuaiche up --demo`)
api-check: install
	scripts/schemathesis.sh

stack-up:
	scripts/postgres.sh start
	scripts/kafka.sh start

stack-down:
	scripts/kafka.sh stop
	scripts/postgres.sh stop

stack-status:
	-scripts/postgres.sh status
	-scripts/kafka.sh status

stack-env:
	@scripts/postgres.sh env
	@scripts/kafka.sh env
