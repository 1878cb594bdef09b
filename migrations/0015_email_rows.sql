-- Fewer D1 rows written per email (issue 31): D1 counts every index entry as a row written.
-- messages: the enrollment index goes (an enrollment's messages are a range of the effect key
-- index), and the Message-ID index (a reply's references carry the message id, found by
-- primary key); the due index holds queued messages only; the sent-time and provider id
-- indexes hold only the messages that have those values. `counted` replaces a metric_facts
-- row per settled message. outbox: a capture's id derives from its message's (obx_X for msg_X), so
-- the primary key keeps one capture per message and outbox_message goes. events: no query
-- reads events by name, so events_name_time goes. The query plan behind every index that
-- stays: docs/scale.md, "Indexes on the email path".
--
-- Captures stored before take the derived id, and their messages' provider ids with them
-- (driven from the outbox, by primary key: no scan of messages).
UPDATE `messages` SET `provider_message_id` = 'obx_' || substr(`id`, 5)
  WHERE `id` IN (SELECT `message_id` FROM `outbox`)
    AND `provider_message_id` IN (SELECT `id` FROM `outbox`);--> statement-breakpoint
UPDATE `outbox` SET `id` = 'obx_' || substr(`message_id`, 5);--> statement-breakpoint
DROP INDEX `outbox_message`;--> statement-breakpoint
DROP INDEX `events_name_time`;--> statement-breakpoint
DROP INDEX `messages_enrollment`;--> statement-breakpoint
DROP INDEX `messages_rfc_id`;--> statement-breakpoint
DROP INDEX `messages_due`;--> statement-breakpoint
DROP INDEX `messages_provider_id`;--> statement-breakpoint
DROP INDEX `messages_to`;--> statement-breakpoint
DROP INDEX `messages_connection`;--> statement-breakpoint
ALTER TABLE `messages` ADD `counted` integer DEFAULT false NOT NULL;--> statement-breakpoint
CREATE INDEX `messages_due` ON `messages` (`next_attempt_at`) WHERE status = 'queued';--> statement-breakpoint
CREATE INDEX `messages_provider_id` ON `messages` (`org_id`,`provider_message_id`) WHERE provider_message_id is not null;--> statement-breakpoint
CREATE INDEX `messages_to` ON `messages` (`to_address`,`sent_at`) WHERE sent_at is not null;--> statement-breakpoint
CREATE INDEX `messages_connection` ON `messages` (`connection_id`,`sent_at`) WHERE connection_id is not null and sent_at is not null;--> statement-breakpoint
-- Messages settled before this migration had their facts written as metric_facts rows.
UPDATE `messages` SET `counted` = true WHERE `status` <> 'queued';
