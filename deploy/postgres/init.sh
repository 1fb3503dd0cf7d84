#!/usr/bin/env bash
# First-boot init for the postgres:16 image (mounted into /docker-entrypoint-initdb.d/):
# one login role and one database per service, each database owned by its role and
# closed to everyone else. Passwords come from KUAICHE_<SERVICE>_DB_PASSWORD, defaulting
# to the role name. Idempotent, so it can also be run by hand against an existing server:
#   POSTGRES_USER=postgres POSTGRES_DB=postgres PGHOST=... bash deploy/postgres/init.sh
set -eo pipefail

create_service_database() {
    local role="$1" db="$2" password="$3"
    psql -v ON_ERROR_STOP=1 -X -q --username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-postgres}" \
        -v role="$role" -v db="$db" -v password="$password" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', :'role', :'password')
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role')
\gexec
SELECT format('ALTER ROLE %I LOGIN PASSWORD %L', :'role', :'password')
\gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'role')
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db')
\gexec
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'db')
\gexec
SELECT format('GRANT ALL ON DATABASE %I TO %I', :'db', :'role')
\gexec
SQL
    echo "kuaiche init: database $db owned by role $role"
}

create_service_database registry      kuaiche_registry      "${KUAICHE_REGISTRY_DB_PASSWORD:-registry}"
create_service_database factors       kuaiche_factors       "${KUAICHE_FACTORS_DB_PASSWORD:-factors}"
create_service_database issues        kuaiche_issues        "${KUAICHE_ISSUES_DB_PASSWORD:-issues}"
create_service_database scoring       kuaiche_scoring       "${KUAICHE_SCORING_DB_PASSWORD:-scoring}"
create_service_database notifications kuaiche_notifications "${KUAICHE_NOTIFICATIONS_DB_PASSWORD:-notifications}"
