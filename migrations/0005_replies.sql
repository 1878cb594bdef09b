CREATE TABLE `inbound_mail` (
	`id` text PRIMARY KEY NOT NULL,
	`org_id` text,
	`message_id` text,
	`via` text NOT NULL,
	`match` text NOT NULL,
	`kind` text NOT NULL,
	`from_address` text NOT NULL,
	`to_address` text NOT NULL,
	`subject` text,
	`text` text,
	`reason` text,
	`return_at` integer,
	`received_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `inbound_mail_org` ON `inbound_mail` (`org_id`,`id`);--> statement-breakpoint
CREATE INDEX `inbound_mail_message` ON `inbound_mail` (`message_id`);--> statement-breakpoint
ALTER TABLE `connections` ADD `reply_domain` text;--> statement-breakpoint
ALTER TABLE `messages` ADD `rfc_message_id` text;--> statement-breakpoint
ALTER TABLE `messages` ADD `replied_at` integer;--> statement-breakpoint
ALTER TABLE `messages` ADD `auto_replied_at` integer;--> statement-breakpoint
CREATE INDEX `messages_rfc_id` ON `messages` (`rfc_message_id`);--> statement-breakpoint
CREATE INDEX `messages_to` ON `messages` (`to_address`,`sent_at`);--> statement-breakpoint
ALTER TABLE `workflows` ADD `stop_on_reply` integer;--> statement-breakpoint
ALTER TABLE `workflows` ADD `on_auto_reply` text;