CREATE TABLE `metric_facts` (
	`id` text PRIMARY KEY NOT NULL,
	`batch` text NOT NULL,
	`org_id` text NOT NULL,
	`at` integer NOT NULL,
	`day_utc` text NOT NULL,
	`zone` text NOT NULL,
	`day_local` text NOT NULL,
	`workflow_id` text NOT NULL,
	`step_id` text NOT NULL,
	`channel` text NOT NULL,
	`connection_id` text NOT NULL,
	`category` text NOT NULL,
	`variant` text NOT NULL,
	`metric` text NOT NULL,
	`value` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `metric_facts_batch` ON `metric_facts` (`batch`);--> statement-breakpoint
CREATE INDEX `metric_facts_at` ON `metric_facts` (`at`);--> statement-breakpoint
CREATE TABLE `metric_rollups` (
	`org_id` text NOT NULL,
	`zone` text NOT NULL,
	`day` text NOT NULL,
	`workflow_id` text NOT NULL,
	`step_id` text NOT NULL,
	`channel` text NOT NULL,
	`connection_id` text NOT NULL,
	`category` text NOT NULL,
	`variant` text NOT NULL,
	`metric` text NOT NULL,
	`value` integer NOT NULL,
	PRIMARY KEY(`org_id`, `zone`, `day`, `workflow_id`, `step_id`, `channel`, `connection_id`, `category`, `variant`, `metric`)
);
--> statement-breakpoint
CREATE INDEX `metric_rollups_workflow` ON `metric_rollups` (`org_id`,`zone`,`workflow_id`,`day`);--> statement-breakpoint
CREATE TABLE `reports` (
	`id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`type` text NOT NULL,
	`format` text NOT NULL,
	`params` text NOT NULL,
	`status` text NOT NULL,
	`generation` integer NOT NULL,
	`rows` integer,
	`bytes` integer,
	`pages` integer,
	`error` text,
	`object_key` text,
	`progress` text,
	`schedule` text,
	`next_run_at` integer,
	`started_at` integer,
	`completed_at` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `reports_org` ON `reports` (`org_id`,`id`);--> statement-breakpoint
CREATE INDEX `reports_due` ON `reports` (`next_run_at`) WHERE next_run_at is not null;--> statement-breakpoint
CREATE INDEX `reports_stuck` ON `reports` (`status`,`updated_at`);--> statement-breakpoint
ALTER TABLE `enrollments` ADD `variant` text;--> statement-breakpoint
ALTER TABLE `messages` ADD `connection_id` text;--> statement-breakpoint
ALTER TABLE `orgs` ADD `reporting_timezone` text DEFAULT 'UTC' NOT NULL;--> statement-breakpoint
ALTER TABLE `workflows` ADD `goal` text;--> statement-breakpoint
ALTER TABLE `workflows` ADD `goal_event` text;--> statement-breakpoint
CREATE INDEX `workflows_goal` ON `workflows` (`org_id`,`goal_event`) WHERE goal_event is not null;