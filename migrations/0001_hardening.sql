CREATE TABLE `org_usage` (
	`org_id` text NOT NULL,
	`resource` text NOT NULL,
	`used` integer NOT NULL,
	`quota` integer NOT NULL,
	PRIMARY KEY(`org_id`, `resource`)
);
--> statement-breakpoint
DROP INDEX `messages_provider_id`;--> statement-breakpoint
ALTER TABLE `messages` ADD `link_clicked_at` text;--> statement-breakpoint
CREATE INDEX `messages_provider_id` ON `messages` (`org_id`,`provider_message_id`);--> statement-breakpoint
CREATE TABLE `__new_inbound_events` (
	`connection_id` text NOT NULL,
	`event_id` text NOT NULL,
	`received_at` integer NOT NULL,
	PRIMARY KEY(`connection_id`, `event_id`)
);
--> statement-breakpoint
-- Old markers were per provider, not per connection, and cannot be mapped; they are not copied
-- (a provider redelivering an already-applied event re-applies idempotently: statuses only move forward).
DROP TABLE `inbound_events`;--> statement-breakpoint
ALTER TABLE `__new_inbound_events` RENAME TO `inbound_events`;--> statement-breakpoint
ALTER TABLE `api_keys` ADD `scope` text DEFAULT 'full' NOT NULL;--> statement-breakpoint
ALTER TABLE `enrollments` ADD `error_code` text;--> statement-breakpoint
ALTER TABLE `import_rows` ADD `lines` text;