#!/usr/bin/env bash
# Start the Debian PostgreSQL cluster and create the test role/database (idempotent).
set -euo pipefail
if ! command -v pg_lsclusters >/dev/null 2>&1; then
  echo "PostgreSQL is not installed: apt-get install postgresql (PostgreSQL tests will be skipped)"; exit 0
fi
version=$(pg_lsclusters -h | awk 'NR==1{print $1}')
if [ -z "$version" ]; then
  version=$(ls /usr/lib/postgresql | sort -V | tail -1)
  pg_createcluster "$version" main >/dev/null
fi
pg_ctlcluster "$version" main start 2>/dev/null || true
for _ in $(seq 1 30); do
  su postgres -c "pg_isready -q -h 127.0.0.1 -p 5432" && break
  sleep 1
done
su postgres -c "psql -qtAc \"SELECT 1 FROM pg_roles WHERE rolname='conversa'\"" | grep -q 1 \
  || su postgres -c "psql -qc \"CREATE ROLE conversa LOGIN SUPERUSER PASSWORD 'conversa'\""
su postgres -c "psql -qtAc \"SELECT 1 FROM pg_database WHERE datname='conversa_test'\"" | grep -q 1 \
  || su postgres -c "createdb -O conversa conversa_test"
echo "PostgreSQL $version ready on 127.0.0.1:5432 (database conversa_test)"
