-- WITHOUT ROWID (by hand; drizzle cannot say it): the primary key is the table, so a range of
-- days of one workflow's metric is read in place (see metricTotals in src/db/schema.ts).
CREATE TABLE `metric_totals` (
	`org_id` text NOT NULL,
	`zone` text NOT NULL,
	`workflow_id` text NOT NULL,
	`metric` text NOT NULL,
	`day` text NOT NULL,
	`value` integer NOT NULL,
	PRIMARY KEY(`org_id`, `zone`, `workflow_id`, `metric`, `day`)
) WITHOUT ROWID;
--> statement-breakpoint
INSERT INTO `metric_totals`
SELECT org_id, zone, workflow_id, metric, day, sum(value) FROM metric_rollups
GROUP BY org_id, zone, workflow_id, metric, day
UNION ALL
SELECT org_id, zone, '*', metric, day, sum(value) FROM metric_rollups
GROUP BY org_id, zone, metric, day;
