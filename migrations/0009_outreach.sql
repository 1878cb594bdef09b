-- Outreach beyond email: tasks, SMS/call messages and outbox items, phone-identified contacts,
-- call windows, required variables and contact chains.
CREATE TABLE `tasks` (
	`id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`effect_key` text NOT NULL,
	`enrollment_id` text NOT NULL,
	`workflow_id` text NOT NULL,
	`step_id` text NOT NULL,
	`contact_id` text NOT NULL,
	`task_type` text NOT NULL,
	`title` text NOT NULL,
	`instructions` text,
	`assignee` text,
	`outcomes` text NOT NULL,
	`status` text NOT NULL,
	`outcome` text,
	`note` text,
	`due_at` integer NOT NULL,
	`created_at` integer NOT NULL,
	`completed_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `tasks_key` ON `tasks` (`effect_key`);--> statement-breakpoint
CREATE INDEX `tasks_org` ON `tasks` (`org_id`,`id`);--> statement-breakpoint
CREATE INDEX `tasks_org_status` ON `tasks` (`org_id`,`status`,`id`);--> statement-breakpoint
CREATE INDEX `tasks_due` ON `tasks` (`status`,`due_at`);--> statement-breakpoint
ALTER TABLE `contacts` ADD `sms_subscribed` integer DEFAULT true NOT NULL;--> statement-breakpoint
-- A phone number now identifies a contact (unique per org). Contacts that shared one keep the
-- oldest as owner; the others keep their number in data.duplicatePhone (nothing is lost).
UPDATE `contacts` SET `data` = json_set(`data`, '$.duplicatePhone', `phone`), `phone` = NULL
WHERE `phone` IS NOT NULL AND `id` NOT IN (
  SELECT min(`id`) FROM `contacts` WHERE `phone` IS NOT NULL GROUP BY `org_id`, `phone`
);--> statement-breakpoint
CREATE UNIQUE INDEX `contacts_phone` ON `contacts` (`org_id`,`phone`) WHERE phone is not null;--> statement-breakpoint
ALTER TABLE `enrollments` ADD `bypass_call_window` integer DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `enrollments` ADD `chain_key` text;--> statement-breakpoint
ALTER TABLE `enrollments` ADD `chain_position` integer;--> statement-breakpoint
ALTER TABLE `enrollments` ADD `chain_state` text;--> statement-breakpoint
CREATE UNIQUE INDEX `enrollments_chain` ON `enrollments` (`chain_key`,`workflow_id`,`chain_position`) WHERE chain_key is not null;--> statement-breakpoint
ALTER TABLE `messages` ADD `channel` text DEFAULT 'email' NOT NULL;--> statement-breakpoint
ALTER TABLE `messages` ADD `body` text;--> statement-breakpoint
ALTER TABLE `messages` ADD `outcome` text;--> statement-breakpoint
ALTER TABLE `messages` ADD `duration_seconds` integer;--> statement-breakpoint
ALTER TABLE `messages` ADD `summary` text;--> statement-breakpoint
ALTER TABLE `outbox` ADD `channel` text DEFAULT 'email' NOT NULL;--> statement-breakpoint
ALTER TABLE `workflows` ADD `call_window` text;--> statement-breakpoint
ALTER TABLE `workflows` ADD `required_variables` text;--> statement-breakpoint
ALTER TABLE `workflows` ADD `chain` text;