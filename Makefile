# kuaiche developer entry points. See scripts/*.sh for the details.

.PHONY: install run test api-check stack-up stack-down stack-status stack-env bench

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

# issue 13's paths against their bare counterparts in one run, one table (bench/README.md);
# starts PostgreSQL and Kafka unless KUAICHE_TEST_POSTGRES_URL / KUAICHE_TEST_KAFKA_BOOTSTRAP
# point at servers, e.g. make bench BENCH_ARGS="--only 1,3" or BENCH_ARGS="--province"
BENCH_ARGS ?=

bench: install
	@if [ -z "$$KUAICHE_TEST_POSTGRES_URL" ]; then scripts/postgres.sh start; fi
	@if [ -z "$$KUAICHE_TEST_KAFKA_BOOTSTRAP" ]; then scripts/kafka.sh start; fi
	@if [ -z "$$KUAICHE_TEST_POSTGRES_URL" ]; then eval "$$(scripts/postgres.sh env)"; fi; \
	if [ -z "$$KUAICHE_TEST_KAFKA_BOOTSTRAP" ]; then eval "$$(scripts/kafka.sh env)"; fi; \
	.venv/bin/python bench/all.py --postgres "$$KUAICHE_TEST_POSTGRES_URL" \
	    --kafka "$$KUAICHE_TEST_KAFKA_BOOTSTRAP" $(BENCH_ARGS)

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
