-- The table behind a `mysql://` storage (MySQL 5.7+ or MariaDB 10.3+). cacheme creates it when missing
-- (the same statement, with your `table` option in place of cacheme_data); run this by hand to create
-- it up front, e.g. `mysql test < mysql.sql`.
-- key is VARBINARY, not VARCHAR(512): MySQL's text collations fold case or ignore trailing spaces, and
-- either would merge distinct keys; 2048 bytes hold any 512-character key in UTF-8.
-- expire is UTC from the server's clock (UTC_TIMESTAMP(3) + ttl); a NULL expire never expires. Expired
-- rows are misses on every read and are deleted in bounded batches by cleanupExpired (lib/storages/mysql.ts).
CREATE TABLE IF NOT EXISTS `cacheme_data` (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  `key` VARBINARY(2048) NOT NULL,
  value LONGBLOB NOT NULL,
  expire DATETIME(3) NULL,
  updated_at DATETIME(3) NOT NULL,
  UNIQUE KEY `cacheme_data_key` (`key`),
  KEY `cacheme_data_expire` (expire)
) ENGINE = InnoDB;
