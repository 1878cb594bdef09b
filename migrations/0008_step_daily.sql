-- Per-step counters by day replace the all-time step_stats (carried over as one row dated
-- 1970-01-01 in UTC, so totals stay whole). WITHOUT ROWID by hand: the key is the table.
CREATE TABLE `step_daily` (
	`workflow_id` text NOT NULL,
	`step_id` text NOT NULL,
	`zone` text NOT NULL,
	`day` text NOT NULL,
	`entered` integer NOT NULL,
	`completed` integer NOT NULL,
	`failed` integer NOT NULL,
	`ended` text NOT NULL,
	`gaps` text NOT NULL,
	PRIMARY KEY(`workflow_id`, `step_id`, `zone`, `day`)
) WITHOUT ROWID;
--> statement-breakpoint
INSERT INTO `step_daily`
SELECT workflow_id, step_id, 'UTC', '1970-01-01', entered, completed, failed, '{}', '{}' FROM `step_stats`;
--> statement-breakpoint
DROP TABLE `step_stats`;
