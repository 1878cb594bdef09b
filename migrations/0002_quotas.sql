-- Per-org quotas, kept in the database so every way in (API, imports, agents, events) is
-- covered and concurrent inserts cannot overshoot: org_usage holds each resource's count and
-- limit, triggers keep the count and abort an insert past the limit with
-- RAISE(ABORT, 'quota_exceeded:<resource>'), which the API answers as 403 `quota_exceeded`.
-- Erased contacts and archived workflows do not count. Defaults (README "Quotas"; raised per
-- org with PATCH /v1/admin/orgs/{id}/quotas): contacts 1,000,000 · workflows 1,000 ·
-- webhooks 100 · templates 5,000.
CREATE TRIGGER `orgs_quotas` AFTER INSERT ON `orgs` BEGIN
  INSERT INTO `org_usage` (`org_id`, `resource`, `used`, `quota`) VALUES
    (NEW.`id`, 'contacts', 0, 1000000),
    (NEW.`id`, 'workflows', 0, 1000),
    (NEW.`id`, 'webhooks', 0, 100),
    (NEW.`id`, 'templates', 0, 5000);
END;--> statement-breakpoint
INSERT INTO `org_usage` (`org_id`, `resource`, `used`, `quota`)
  SELECT `id`, 'contacts', (SELECT count(*) FROM `contacts` c WHERE c.`org_id` = o.`id` AND c.`erased_at` IS NULL), 1000000 FROM `orgs` o;--> statement-breakpoint
INSERT INTO `org_usage` (`org_id`, `resource`, `used`, `quota`)
  SELECT `id`, 'workflows', (SELECT count(*) FROM `workflows` w WHERE w.`org_id` = o.`id` AND w.`status` != 'archived'), 1000 FROM `orgs` o;--> statement-breakpoint
INSERT INTO `org_usage` (`org_id`, `resource`, `used`, `quota`)
  SELECT `id`, 'webhooks', (SELECT count(*) FROM `webhooks` h WHERE h.`org_id` = o.`id`), 100 FROM `orgs` o;--> statement-breakpoint
INSERT INTO `org_usage` (`org_id`, `resource`, `used`, `quota`)
  SELECT `id`, 'templates', (SELECT count(*) FROM `templates` t WHERE t.`org_id` = o.`id`), 5000 FROM `orgs` o;--> statement-breakpoint

CREATE TRIGGER `contacts_quota` BEFORE INSERT ON `contacts`
  WHEN (SELECT `used` >= `quota` FROM `org_usage` WHERE `org_id` = NEW.`org_id` AND `resource` = 'contacts')
BEGIN SELECT RAISE(ABORT, 'quota_exceeded:contacts'); END;--> statement-breakpoint
CREATE TRIGGER `contacts_count` AFTER INSERT ON `contacts` WHEN NEW.`erased_at` IS NULL
BEGIN UPDATE `org_usage` SET `used` = `used` + 1 WHERE `org_id` = NEW.`org_id` AND `resource` = 'contacts'; END;--> statement-breakpoint
CREATE TRIGGER `contacts_erased` AFTER UPDATE OF `erased_at` ON `contacts`
  WHEN OLD.`erased_at` IS NULL AND NEW.`erased_at` IS NOT NULL
BEGIN UPDATE `org_usage` SET `used` = `used` - 1 WHERE `org_id` = NEW.`org_id` AND `resource` = 'contacts'; END;--> statement-breakpoint
CREATE TRIGGER `contacts_uncount` AFTER DELETE ON `contacts` WHEN OLD.`erased_at` IS NULL
BEGIN UPDATE `org_usage` SET `used` = `used` - 1 WHERE `org_id` = OLD.`org_id` AND `resource` = 'contacts'; END;--> statement-breakpoint

CREATE TRIGGER `workflows_quota` BEFORE INSERT ON `workflows`
  WHEN (SELECT `used` >= `quota` FROM `org_usage` WHERE `org_id` = NEW.`org_id` AND `resource` = 'workflows')
BEGIN SELECT RAISE(ABORT, 'quota_exceeded:workflows'); END;--> statement-breakpoint
CREATE TRIGGER `workflows_count` AFTER INSERT ON `workflows` WHEN NEW.`status` != 'archived'
BEGIN UPDATE `org_usage` SET `used` = `used` + 1 WHERE `org_id` = NEW.`org_id` AND `resource` = 'workflows'; END;--> statement-breakpoint
CREATE TRIGGER `workflows_archived` AFTER UPDATE OF `status` ON `workflows`
  WHEN OLD.`status` != 'archived' AND NEW.`status` = 'archived'
BEGIN UPDATE `org_usage` SET `used` = `used` - 1 WHERE `org_id` = NEW.`org_id` AND `resource` = 'workflows'; END;--> statement-breakpoint
CREATE TRIGGER `workflows_uncount` AFTER DELETE ON `workflows` WHEN OLD.`status` != 'archived'
BEGIN UPDATE `org_usage` SET `used` = `used` - 1 WHERE `org_id` = OLD.`org_id` AND `resource` = 'workflows'; END;--> statement-breakpoint

CREATE TRIGGER `webhooks_quota` BEFORE INSERT ON `webhooks`
  WHEN (SELECT `used` >= `quota` FROM `org_usage` WHERE `org_id` = NEW.`org_id` AND `resource` = 'webhooks')
BEGIN SELECT RAISE(ABORT, 'quota_exceeded:webhooks'); END;--> statement-breakpoint
CREATE TRIGGER `webhooks_count` AFTER INSERT ON `webhooks`
BEGIN UPDATE `org_usage` SET `used` = `used` + 1 WHERE `org_id` = NEW.`org_id` AND `resource` = 'webhooks'; END;--> statement-breakpoint
CREATE TRIGGER `webhooks_uncount` AFTER DELETE ON `webhooks`
BEGIN UPDATE `org_usage` SET `used` = `used` - 1 WHERE `org_id` = OLD.`org_id` AND `resource` = 'webhooks'; END;--> statement-breakpoint

CREATE TRIGGER `templates_quota` BEFORE INSERT ON `templates`
  WHEN (SELECT `used` >= `quota` FROM `org_usage` WHERE `org_id` = NEW.`org_id` AND `resource` = 'templates')
BEGIN SELECT RAISE(ABORT, 'quota_exceeded:templates'); END;--> statement-breakpoint
CREATE TRIGGER `templates_count` AFTER INSERT ON `templates`
BEGIN UPDATE `org_usage` SET `used` = `used` + 1 WHERE `org_id` = NEW.`org_id` AND `resource` = 'templates'; END;--> statement-breakpoint
CREATE TRIGGER `templates_uncount` AFTER DELETE ON `templates`
BEGIN UPDATE `org_usage` SET `used` = `used` - 1 WHERE `org_id` = OLD.`org_id` AND `resource` = 'templates'; END;
