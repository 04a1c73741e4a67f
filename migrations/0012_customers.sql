-- Customers and their identities (a phone number, an email, a webchat visitor, a WeChat OpenID),
-- the link of each interaction to its customer (the customer's thread), and merges: logged with
-- who, when and why, with every row they moved, so that a merge can be undone.

CREATE TABLE customers (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  tenant_id INT UNSIGNED NOT NULL,
  display_name VARCHAR(200) NULL,
  created_at DATETIME(3) NOT NULL,
  updated_at DATETIME(3) NOT NULL,
  -- Set when this customer was merged into another (the survivor); its identities and
  -- interactions then belong to the survivor, and reads of this id point there.
  merged_into BIGINT UNSIGNED NULL,
  KEY ix_customers_tenant (tenant_id, id),
  KEY ix_customers_merged_into (tenant_id, merged_into)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE customer_identities (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  tenant_id INT UNSIGNED NOT NULL,
  customer_id BIGINT UNSIGNED NOT NULL,
  -- phone, sms, email, webchat, wechat
  channel VARCHAR(16) NOT NULL,
  -- Normalised (server/domain/customer.ts): +E.164-like digits, a lower-cased email, an opaque id.
  -- Binary collation: WeChat OpenIDs and webchat ids are case-sensitive.
  address VARCHAR(320) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  verified TINYINT(1) NOT NULL DEFAULT 0,
  verified_at DATETIME(3) NULL,
  first_seen_at DATETIME(3) NOT NULL,
  last_seen_at DATETIME(3) NOT NULL,
  -- One customer per address and channel: concurrent first contacts from one new number make
  -- one customer, not two (the loser of the race finds the winner's row).
  UNIQUE KEY uq_customer_identities_address (tenant_id, channel, address),
  KEY ix_customer_identities_customer (tenant_id, customer_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The customer of each interaction, and when the interaction started (the thread's order).
CREATE TABLE interaction_customers (
  tenant_id INT UNSIGNED NOT NULL,
  interaction_id VARCHAR(64) NOT NULL,
  customer_id BIGINT UNSIGNED NOT NULL,
  -- The interaction's channel (voice, chat, email, ...).
  channel VARCHAR(16) NOT NULL,
  started_at DATETIME(3) NOT NULL,
  linked_at DATETIME(3) NOT NULL,
  PRIMARY KEY (tenant_id, interaction_id),
  KEY ix_interaction_customers_thread (tenant_id, customer_id, started_at, interaction_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE customer_merges (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  tenant_id INT UNSIGNED NOT NULL,
  survivor_id BIGINT UNSIGNED NOT NULL,
  merged_id BIGINT UNSIGNED NOT NULL,
  reason VARCHAR(500) NOT NULL,
  actor VARCHAR(100) NOT NULL,
  request_id VARCHAR(64) NULL,
  merged_at DATETIME(3) NOT NULL,
  undone_at DATETIME(3) NULL,
  undone_by VARCHAR(100) NULL,
  undo_reason VARCHAR(500) NULL,
  KEY ix_customer_merges_survivor (tenant_id, survivor_id, merged_at),
  KEY ix_customer_merges_merged (tenant_id, merged_id, merged_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Every row a merge moved from the merged customer to the survivor (kind identity: an identity
-- id; kind interaction: an interaction id), so an undo moves exactly those back.
CREATE TABLE customer_merge_moves (
  tenant_id INT UNSIGNED NOT NULL,
  merge_id BIGINT UNSIGNED NOT NULL,
  kind VARCHAR(16) NOT NULL,
  ref VARCHAR(64) NOT NULL,
  PRIMARY KEY (tenant_id, merge_id, kind, ref)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Two customers that may be one person (the same address held by both, or a verified identity
-- claimed for one that the other holds): never merged automatically, a person decides.
CREATE TABLE customer_merge_suggestions (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  tenant_id INT UNSIGNED NOT NULL,
  -- The pair in ascending id order, so it is stored once whichever way round it came.
  customer_lo BIGINT UNSIGNED NOT NULL,
  customer_hi BIGINT UNSIGNED NOT NULL,
  -- shared_address, verified_identity_conflict
  reason VARCHAR(32) NOT NULL,
  channel VARCHAR(16) NOT NULL,
  address VARCHAR(320) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  -- open, merged, dismissed
  status VARCHAR(16) NOT NULL DEFAULT 'open',
  merge_id BIGINT UNSIGNED NULL,
  seen INT UNSIGNED NOT NULL DEFAULT 1,
  created_at DATETIME(3) NOT NULL,
  last_seen_at DATETIME(3) NOT NULL,
  UNIQUE KEY uq_customer_merge_suggestions_pair (tenant_id, customer_lo, customer_hi),
  KEY ix_customer_merge_suggestions_hi (tenant_id, customer_hi)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
