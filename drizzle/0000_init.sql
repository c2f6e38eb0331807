CREATE TABLE `api_key_secrets` (
	`id` integer PRIMARY KEY NOT NULL,
	`secret_hash` text NOT NULL,
	`key_id` text NOT NULL,
	`salt` text,
	`expires_at` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `api_key_secrets_hash` ON `api_key_secrets` (`secret_hash`);--> statement-breakpoint
CREATE INDEX `api_key_secrets_key` ON `api_key_secrets` (`key_id`);--> statement-breakpoint
CREATE TABLE `api_keys` (
	`id` text PRIMARY KEY NOT NULL,
	`entity_id` text NOT NULL,
	`environment` text NOT NULL,
	`kind` text NOT NULL,
	`name` text NOT NULL,
	`scopes` text NOT NULL,
	`prefix` text NOT NULL,
	`masked` text NOT NULL,
	`public_key` text,
	`rate_limit` integer,
	`rate_limit_window_seconds` integer,
	`status` text NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	`expires_at` text,
	`revoked_at` text
);
--> statement-breakpoint
CREATE INDEX `api_keys_entity` ON `api_keys` (`entity_id`,`id`);--> statement-breakpoint
CREATE UNIQUE INDEX `api_keys_public_key` ON `api_keys` (`public_key`) WHERE "api_keys"."public_key" IS NOT NULL;--> statement-breakpoint
CREATE TABLE `entities` (
	`id` text PRIMARY KEY NOT NULL,
	`kind` text NOT NULL,
	`name` text NOT NULL,
	`parent_id` text,
	`path` text NOT NULL,
	`reference` text,
	`active` integer NOT NULL,
	`effective_active` integer NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `entities_parent` ON `entities` (`parent_id`,`id`);--> statement-breakpoint
CREATE INDEX `entities_path` ON `entities` (`path`);--> statement-breakpoint
CREATE UNIQUE INDEX `entities_sibling_reference` ON `entities` (`parent_id`,`reference`);--> statement-breakpoint
CREATE TABLE `events` (
	`position` integer PRIMARY KEY NOT NULL,
	`stream_id` text NOT NULL,
	`stream_version` integer NOT NULL,
	`type` text NOT NULL,
	`schema_version` integer NOT NULL,
	`data` text NOT NULL,
	`metadata` text NOT NULL,
	`recorded_at` text NOT NULL,
	`prev_hash` text NOT NULL,
	`hash` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `events_stream_version` ON `events` (`stream_id`,`stream_version`);--> statement-breakpoint
CREATE TABLE `projection_state` (
	`name` text PRIMARY KEY NOT NULL,
	`version` integer NOT NULL,
	`position` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `streams` (
	`stream_id` text PRIMARY KEY NOT NULL,
	`version` integer NOT NULL,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `users` (
	`id` text PRIMARY KEY NOT NULL,
	`email` text NOT NULL,
	`password_hash` text NOT NULL,
	`entity_id` text NOT NULL,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `users_email` ON `users` (`email`);