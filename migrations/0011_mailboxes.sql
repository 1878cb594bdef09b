-- Mailbox limits, pauses and health of email connections; workflow connection pools.
ALTER TABLE `connections` ADD `limits` text;--> statement-breakpoint
ALTER TABLE `connections` ADD `paused_at` integer;--> statement-breakpoint
ALTER TABLE `connections` ADD `paused_reason` text;--> statement-breakpoint
ALTER TABLE `connections` ADD `health_since` integer;--> statement-breakpoint
ALTER TABLE `workflows` ADD `connection_pool` text;--> statement-breakpoint
CREATE INDEX `messages_connection` ON `messages` (`connection_id`,`sent_at`);