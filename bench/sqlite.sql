-- bench/sqlite.sql: the sqlite3 workload of bench/programs.sh: a 200000-row table built in
-- memory in one transaction, an index on its text column, two queries.
CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT, c REAL);
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 200000)
INSERT INTO t SELECT i, printf('row %d %s', i, hex(randomblob(16))), i * 0.5 FROM n;
COMMIT;
CREATE INDEX tb ON t(b);
SELECT count(*), sum(c) FROM t WHERE b LIKE 'row 1%';
SELECT b FROM t ORDER BY c DESC LIMIT 5;
