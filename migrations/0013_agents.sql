-- Agents: templates, agents, executions (idempotent per agent and key), their logs and kept model exchanges; contacts get a lead score.
CREATE TABLE `agent_exchanges` (
	`id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`agent_id` text NOT NULL,
	`execution_id` text NOT NULL,
	`attempt` integer NOT NULL,
	`model` text NOT NULL,
	`prompt` text NOT NULL,
	`answer` text NOT NULL,
	`validation_errors` text NOT NULL,
	`tokens_in` integer NOT NULL,
	`tokens_out` integer NOT NULL,
	`at` integer NOT NULL,
	`expires_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `agent_exchanges_agent` ON `agent_exchanges` (`agent_id`,`id`);--> statement-breakpoint
CREATE INDEX `agent_exchanges_expiry` ON `agent_exchanges` (`expires_at`);--> statement-breakpoint
CREATE TABLE `agent_executions` (
	`id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`agent_id` text NOT NULL,
	`idempotency_key` text NOT NULL,
	`request_hash` text NOT NULL,
	`kind` text NOT NULL,
	`input` text NOT NULL,
	`status` text NOT NULL,
	`output` text,
	`error` text,
	`enrollment_id` text,
	`origin` text,
	`model` text,
	`tokens_in` integer DEFAULT 0 NOT NULL,
	`tokens_out` integer DEFAULT 0 NOT NULL,
	`cost_usd` real DEFAULT 0 NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`created_at` integer NOT NULL,
	`started_at` integer,
	`finished_at` integer,
	`checked_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `agent_executions_key` ON `agent_executions` (`agent_id`,`idempotency_key`);--> statement-breakpoint
CREATE INDEX `agent_executions_agent` ON `agent_executions` (`agent_id`,`id`);--> statement-breakpoint
CREATE INDEX `agent_executions_org_time` ON `agent_executions` (`org_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `agent_executions_stuck` ON `agent_executions` (`status`,`created_at`);--> statement-breakpoint
CREATE TABLE `agent_logs` (
	`id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`agent_id` text NOT NULL,
	`execution_id` text NOT NULL,
	`level` text NOT NULL,
	`message` text NOT NULL,
	`at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `agent_logs_agent` ON `agent_logs` (`agent_id`,`id`);--> statement-breakpoint
CREATE INDEX `agent_logs_time` ON `agent_logs` (`at`);--> statement-breakpoint
CREATE TABLE `agent_templates` (
	`id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`name` text NOT NULL,
	`prompt` text NOT NULL,
	`system_prompt` text,
	`output_schema` text NOT NULL,
	`connection_id` text,
	`model` text,
	`temperature` real,
	`max_tokens` integer NOT NULL,
	`personal_fields` text NOT NULL,
	`reasoning_retention_days` integer NOT NULL,
	`policy` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `agent_templates_org` ON `agent_templates` (`org_id`,`id`);--> statement-breakpoint
CREATE TABLE `agents` (
	`id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`name` text NOT NULL,
	`type` text NOT NULL,
	`workflow_id` text,
	`template_id` text,
	`endpoint` text,
	`secret` text,
	`configuration` text NOT NULL,
	`policy` text NOT NULL,
	`status` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `agents_name` ON `agents` (`org_id`,`name`);--> statement-breakpoint
CREATE INDEX `agents_org` ON `agents` (`org_id`,`id`);--> statement-breakpoint
ALTER TABLE `contacts` ADD `score` integer;--> statement-breakpoint
ALTER TABLE `contacts` ADD `scored_at` integer;