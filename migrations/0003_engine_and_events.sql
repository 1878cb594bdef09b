CREATE TABLE `event_fanouts` (
	`event_id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`queued_at` integer NOT NULL,
	`claimed_at` integer
);
--> statement-breakpoint
DROP INDEX `enrollments_waiting`;--> statement-breakpoint
DROP INDEX `enrollments_due`;--> statement-breakpoint
ALTER TABLE `enrollments` ADD `pending_effects` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX `enrollments_due` ON `enrollments` (`next_run_at`) WHERE next_run_at is not null;--> statement-breakpoint
ALTER TABLE `events` ADD `client_id` text;--> statement-breakpoint
CREATE UNIQUE INDEX `events_client_id` ON `events` (`org_id`,`client_id`) WHERE client_id is not null;