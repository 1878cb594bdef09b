-- Topics and per-contact topic choices, double opt-in consent, org branding.
CREATE TABLE `topics` (
	`id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`topic_key` text NOT NULL,
	`name` text NOT NULL,
	`description` text,
	`default_subscribed` integer NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `topics_key` ON `topics` (`org_id`,`topic_key`);--> statement-breakpoint
CREATE INDEX `topics_org` ON `topics` (`org_id`,`id`);--> statement-breakpoint
ALTER TABLE `contacts` ADD `topics` text DEFAULT '{}' NOT NULL;--> statement-breakpoint
ALTER TABLE `contacts` ADD `consent` text;--> statement-breakpoint
ALTER TABLE `messages` ADD `topic` text;--> statement-breakpoint
ALTER TABLE `orgs` ADD `branding` text;