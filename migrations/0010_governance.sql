-- Sending governance: message categories, frequency-cap slots, the org's sending policy.
CREATE TABLE `send_claims` (
	`effect_key` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`contact_id` text NOT NULL,
	`cap_key` text NOT NULL,
	`day` text NOT NULL,
	`week` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `send_claims_week` ON `send_claims` (`contact_id`,`cap_key`,`week`);--> statement-breakpoint
CREATE INDEX `send_claims_created` ON `send_claims` (`created_at`);--> statement-breakpoint
ALTER TABLE `messages` ADD `category` text DEFAULT 'marketing' NOT NULL;--> statement-breakpoint
ALTER TABLE `orgs` ADD `sending_policy` text;--> statement-breakpoint
ALTER TABLE `workflows` ADD `category` text;--> statement-breakpoint
ALTER TABLE `workflows` ADD `on_cap` text;