#!/usr/bin/env bash
# Writes the env files an overlay's secretGenerator reads, with fresh random values:
#   <overlay>/secrets/<service>.env   NATS_USER, NATS_PASSWORD, DATABASE_URL (its own
#                                     PostgreSQL role), and for the gateway ZVONAR_ADMIN_TOKEN,
#                                     ZVONAR_SESSION_SECRET, ZVONAR_SECRETS_KEY (the dialer
#                                     gets the same ZVONAR_SECRETS_KEY)
#   <overlay>/secrets/nats-admin.env  the operators' NATS login (user `zvonar`)
#   <overlay>/secrets/postgres-roles.sql  one role per service owning its schema, with the
#                                     passwords of the DATABASE_URLs (run it once as a
#                                     superuser; the dev overlay's PostgreSQL runs it at init)
#   <overlay>/secrets/postgres.env    POSTGRES_PASSWORD of the dev overlay's own PostgreSQL
# Existing files are kept (a second run changes nothing), so passwords stay stable.
# Usage: deploy/k8s/make-secrets.sh deploy/k8s/overlays/prod
# PostgreSQL's address comes from ZVONAR_PG_HOST (default: postgres, the dev overlay's),
# ZVONAR_PG_PORT (5432) and ZVONAR_PG_DATABASE (zvonar). Never commit the secrets folder
# (.gitignore keeps it out).
set -euo pipefail

overlay=${1:?usage: make-secrets.sh OVERLAY_DIR}
[ -f "$overlay/kustomization.yaml" ] || { echo "not an overlay: $overlay" >&2; exit 2; }
dir="$overlay/secrets"
umask 077
mkdir -p "$dir"

host=${ZVONAR_PG_HOST:-postgres}
port=${ZVONAR_PG_PORT:-5432}
database=${ZVONAR_PG_DATABASE:-zvonar}
# Roles are <prefix><service>: zvonar_campaign, ... (ZVONAR_PG_ROLE_PREFIX to change it).
prefix=${ZVONAR_PG_ROLE_PREFIX:-zvonar_}

# nats-server reads a password as config text: letters and digits, starting with a letter.
password() { echo "p$(openssl rand -hex 24)"; }
# One value of KEY in an env file, or nothing.
value_of() { if [ -f "$1" ]; then sed -n "s/^$2=//p" "$1" | head -n 1; fi; }

secrets_key=$(value_of "$dir/gateway.env" ZVONAR_SECRETS_KEY)
[ -n "$secrets_key" ] || secrets_key=$(openssl rand 32 | base64 | tr '+/' '-_' | tr -d '\n')

roles="$dir/postgres-roles.sql"
roles_new=$(mktemp)
trap 'rm -f "$roles_new"' EXIT
echo "-- one role per Zvonar service, owning its own schema (made by make-secrets.sh)" >"$roles_new"

for svc in campaign moderation dialer stats gateway; do
    file="$dir/$svc.env"
    if [ ! -f "$file" ]; then
        {
            echo "NATS_USER=$svc"
            echo "NATS_PASSWORD=$(password)"
            echo "DATABASE_URL=postgresql://$prefix$svc:$(password)@$host:$port/$database"
            case $svc in
                gateway)
                    echo "ZVONAR_ADMIN_TOKEN=$(openssl rand -hex 32)"
                    echo "ZVONAR_SESSION_SECRET=$(openssl rand -hex 32)"
                    echo "ZVONAR_SECRETS_KEY=$secrets_key" ;;
                dialer)
                    echo "ZVONAR_SECRETS_KEY=$secrets_key" ;;
            esac
        } >"$file"
    fi
    pg_password=$(value_of "$file" DATABASE_URL | sed -n 's|^postgresql://[^:]*:\([^@]*\)@.*|\1|p')
    # The service runs CREATE SCHEMA IF NOT EXISTS at start, which needs CREATE on the
    # database even when the schema is there.
    cat >>"$roles_new" <<SQL
CREATE ROLE "$prefix$svc" LOGIN PASSWORD '$pg_password';
GRANT CREATE, CONNECT ON DATABASE "$database" TO "$prefix$svc";
CREATE SCHEMA IF NOT EXISTS "$svc" AUTHORIZATION "$prefix$svc";
SQL
done
[ -f "$roles" ] || mv "$roles_new" "$roles"

[ -f "$dir/nats-admin.env" ] || printf 'NATS_USER=zvonar\nNATS_PASSWORD=%s\n' "$(password)" >"$dir/nats-admin.env"
[ -f "$dir/postgres.env" ] || printf 'POSTGRES_PASSWORD=%s\n' "$(password)" >"$dir/postgres.env"
echo "secrets in $dir: $(cd "$dir" && ls | tr '\n' ' ')"
