CREATE TABLE `api_key_usage` (
	`key_id` text NOT NULL,
	`hour` integer NOT NULL,
	`requests` integer NOT NULL,
	`last_used_at` integer NOT NULL,
	PRIMARY KEY(`key_id`, `hour`)
);
--> statement-breakpoint
CREATE TABLE `api_keys` (
	`id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`name` text NOT NULL,
	`key_hash` text NOT NULL,
	`prefix` text NOT NULL,
	`last_four` text NOT NULL,
	`expires_at` integer,
	`revoked_at` integer,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `api_keys_hash` ON `api_keys` (`key_hash`);--> statement-breakpoint
CREATE INDEX `api_keys_org` ON `api_keys` (`org_id`,`id`);--> statement-breakpoint
CREATE TABLE `connections` (
	`id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`provider` text NOT NULL,
	`connection_key` text NOT NULL,
	`credentials_enc` text NOT NULL,
	`from_address` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `connections_key` ON `connections` (`org_id`,`connection_key`);--> statement-breakpoint
CREATE INDEX `connections_org` ON `connections` (`org_id`,`id`);--> statement-breakpoint
CREATE TABLE `contacts` (
	`id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`email` text,
	`phone` text,
	`external_id` text,
	`first_name` text,
	`last_name` text,
	`timezone` text,
	`data` text NOT NULL,
	`subscribed` integer NOT NULL,
	`suppressed` text,
	`unsubscribed_at` integer,
	`erased_at` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `contacts_email` ON `contacts` (`org_id`,`email`) WHERE email is not null;--> statement-breakpoint
CREATE UNIQUE INDEX `contacts_external` ON `contacts` (`org_id`,`external_id`) WHERE external_id is not null;--> statement-breakpoint
CREATE INDEX `contacts_org` ON `contacts` (`org_id`,`id`);--> statement-breakpoint
CREATE TABLE `enrollments` (
	`id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`workflow_id` text NOT NULL,
	`workflow_version` integer NOT NULL,
	`contact_id` text NOT NULL,
	`status` text NOT NULL,
	`current_step_id` text,
	`next_run_at` integer,
	`waiting_event` text,
	`waiting_until` integer,
	`variables` text NOT NULL,
	`timezone` text NOT NULL,
	`scheduled_at` integer,
	`bypass_send_window` integer NOT NULL,
	`trigger_event` text,
	`exit_reason` text,
	`error` text,
	`seq` integer NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`completed_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `enrollments_one_active` ON `enrollments` (`workflow_id`,`contact_id`) WHERE status in ('running', 'waiting');--> statement-breakpoint
CREATE INDEX `enrollments_org` ON `enrollments` (`org_id`,`id`);--> statement-breakpoint
CREATE INDEX `enrollments_workflow` ON `enrollments` (`workflow_id`,`status`,`id`);--> statement-breakpoint
CREATE INDEX `enrollments_contact` ON `enrollments` (`contact_id`,`status`);--> statement-breakpoint
CREATE INDEX `enrollments_waiting` ON `enrollments` (`contact_id`,`waiting_event`);--> statement-breakpoint
CREATE INDEX `enrollments_due` ON `enrollments` (`next_run_at`);--> statement-breakpoint
CREATE TABLE `events` (
	`id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`contact_id` text NOT NULL,
	`name` text NOT NULL,
	`data` text NOT NULL,
	`occurred_at` integer NOT NULL,
	`received_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `events_contact_time` ON `events` (`org_id`,`contact_id`,`occurred_at`);--> statement-breakpoint
CREATE INDEX `events_name_time` ON `events` (`org_id`,`name`,`occurred_at`);--> statement-breakpoint
CREATE TABLE `idempotency_keys` (
	`org_id` text NOT NULL,
	`key` text NOT NULL,
	`request_hash` text NOT NULL,
	`state` text NOT NULL,
	`response_status` integer,
	`response_body` text,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	PRIMARY KEY(`org_id`, `key`)
);
--> statement-breakpoint
CREATE INDEX `idempotency_expires` ON `idempotency_keys` (`expires_at`);--> statement-breakpoint
CREATE TABLE `import_rows` (
	`import_id` text NOT NULL,
	`chunk` integer NOT NULL,
	`rows` text NOT NULL,
	PRIMARY KEY(`import_id`, `chunk`)
);
--> statement-breakpoint
CREATE TABLE `imports` (
	`id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`workflow_id` text,
	`status` text NOT NULL,
	`total` integer NOT NULL,
	`processed` integer NOT NULL,
	`created` integer NOT NULL,
	`skipped` integer NOT NULL,
	`failed` integer NOT NULL,
	`errors` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `imports_org` ON `imports` (`org_id`,`id`);--> statement-breakpoint
CREATE INDEX `imports_status` ON `imports` (`status`,`updated_at`);--> statement-breakpoint
CREATE TABLE `inbound_events` (
	`provider` text NOT NULL,
	`event_id` text NOT NULL,
	`received_at` integer NOT NULL,
	PRIMARY KEY(`provider`, `event_id`)
);
--> statement-breakpoint
CREATE TABLE `messages` (
	`id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`effect_key` text NOT NULL,
	`enrollment_id` text,
	`workflow_id` text,
	`step_id` text,
	`contact_id` text NOT NULL,
	`to_address` text NOT NULL,
	`subject` text,
	`provider` text,
	`provider_message_id` text,
	`status` text NOT NULL,
	`error` text,
	`opens` integer NOT NULL,
	`clicks` integer NOT NULL,
	`machine_opens` integer NOT NULL,
	`machine_clicks` integer NOT NULL,
	`unsubscribed` integer NOT NULL,
	`first_opened_at` integer,
	`last_opened_at` integer,
	`first_clicked_at` integer,
	`last_clicked_at` integer,
	`delivered_at` integer,
	`sending_at` integer,
	`next_attempt_at` integer,
	`job` text,
	`created_at` integer NOT NULL,
	`sent_at` integer
);
--> statement-breakpoint
CREATE INDEX `messages_due` ON `messages` (`status`,`next_attempt_at`);--> statement-breakpoint
CREATE UNIQUE INDEX `messages_key` ON `messages` (`effect_key`);--> statement-breakpoint
CREATE INDEX `messages_org` ON `messages` (`org_id`,`id`);--> statement-breakpoint
CREATE INDEX `messages_enrollment` ON `messages` (`enrollment_id`);--> statement-breakpoint
CREATE INDEX `messages_contact` ON `messages` (`contact_id`);--> statement-breakpoint
CREATE INDEX `messages_provider_id` ON `messages` (`provider_message_id`);--> statement-breakpoint
CREATE INDEX `messages_step` ON `messages` (`workflow_id`,`step_id`);--> statement-breakpoint
CREATE TABLE `orgs` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `outbox` (
	`id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`message_id` text NOT NULL,
	`to_address` text NOT NULL,
	`from_address` text NOT NULL,
	`subject` text NOT NULL,
	`html` text NOT NULL,
	`text` text NOT NULL,
	`headers` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `outbox_org` ON `outbox` (`org_id`,`id`);--> statement-breakpoint
CREATE UNIQUE INDEX `outbox_message` ON `outbox` (`message_id`);--> statement-breakpoint
CREATE TABLE `step_stats` (
	`workflow_id` text NOT NULL,
	`step_id` text NOT NULL,
	`entered` integer NOT NULL,
	`completed` integer NOT NULL,
	`failed` integer NOT NULL,
	PRIMARY KEY(`workflow_id`, `step_id`)
);
--> statement-breakpoint
CREATE TABLE `templates` (
	`id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`name` text NOT NULL,
	`subject` text NOT NULL,
	`html` text NOT NULL,
	`text` text,
	`from_address` text,
	`reply_to` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `templates_org` ON `templates` (`org_id`,`id`);--> statement-breakpoint
CREATE TABLE `webhook_attempts` (
	`delivery_id` text NOT NULL,
	`attempt` integer NOT NULL,
	`status_code` integer,
	`duration_ms` integer NOT NULL,
	`error` text,
	`next_attempt_at` integer,
	`at` integer NOT NULL,
	PRIMARY KEY(`delivery_id`, `attempt`)
);
--> statement-breakpoint
CREATE TABLE `webhook_deliveries` (
	`id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`webhook_id` text NOT NULL,
	`event_id` text NOT NULL,
	`event_type` text NOT NULL,
	`payload` text NOT NULL,
	`status` text NOT NULL,
	`attempts` integer NOT NULL,
	`last_status_code` integer,
	`next_attempt_at` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `deliveries_once` ON `webhook_deliveries` (`webhook_id`,`event_id`);--> statement-breakpoint
CREATE INDEX `deliveries_webhook` ON `webhook_deliveries` (`webhook_id`,`id`);--> statement-breakpoint
CREATE INDEX `deliveries_due` ON `webhook_deliveries` (`status`,`next_attempt_at`);--> statement-breakpoint
CREATE TABLE `webhooks` (
	`id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`url` text NOT NULL,
	`events` text NOT NULL,
	`description` text,
	`active` integer NOT NULL,
	`secret_enc` text NOT NULL,
	`previous_secret_enc` text,
	`previous_secret_expires_at` integer,
	`failing_since` integer,
	`disabled_reason` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `webhooks_org` ON `webhooks` (`org_id`,`id`);--> statement-breakpoint
CREATE TABLE `workflow_versions` (
	`workflow_id` text NOT NULL,
	`version` integer NOT NULL,
	`definition` text NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`workflow_id`, `version`)
);
--> statement-breakpoint
CREATE TABLE `workflows` (
	`id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`name` text NOT NULL,
	`description` text,
	`status` text NOT NULL,
	`trigger_type` text NOT NULL,
	`trigger_event` text,
	`allow_reentry` integer NOT NULL,
	`exit_on` text NOT NULL,
	`timezone` text,
	`send_window` text,
	`steps` text NOT NULL,
	`transitions` text NOT NULL,
	`version` integer NOT NULL,
	`deleted_at` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `workflows_org` ON `workflows` (`org_id`,`id`);--> statement-breakpoint
CREATE INDEX `workflows_trigger` ON `workflows` (`org_id`,`trigger_event`,`status`);