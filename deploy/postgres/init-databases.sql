-- One database per service, each owned by its own role: a service can reach only its own data, and each
-- database is backed up and restored on its own (deploy/README.md, "Backups").
-- Runs once, when the postgres container initialises an empty data volume. Passwords are dev-only values;
-- they must match the MINQING_<SERVICE>_DB_URL values in deploy/docker-compose.yml.

CREATE ROLE minqing_intake LOGIN PASSWORD 'intake-dev-only';
CREATE DATABASE minqing_intake OWNER minqing_intake ENCODING 'UTF8' TEMPLATE template0;

CREATE ROLE minqing_routing LOGIN PASSWORD 'routing-dev-only';
CREATE DATABASE minqing_routing OWNER minqing_routing ENCODING 'UTF8' TEMPLATE template0;

CREATE ROLE minqing_feedback LOGIN PASSWORD 'feedback-dev-only';
CREATE DATABASE minqing_feedback OWNER minqing_feedback ENCODING 'UTF8' TEMPLATE template0;

CREATE ROLE minqing_points LOGIN PASSWORD 'points-dev-only';
CREATE DATABASE minqing_points OWNER minqing_points ENCODING 'UTF8' TEMPLATE template0;

CREATE ROLE minqing_accounts LOGIN PASSWORD 'accounts-dev-only';
CREATE DATABASE minqing_accounts OWNER minqing_accounts ENCODING 'UTF8' TEMPLATE template0;

-- nobody but the owner connects to a service's database
REVOKE CONNECT ON DATABASE minqing_intake, minqing_routing, minqing_feedback, minqing_points, minqing_accounts
  FROM PUBLIC;
