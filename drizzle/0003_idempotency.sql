CREATE TABLE `idempotency_data_keys` (
	`id` text PRIMARY KEY NOT NULL,
	`wrapped_key` blob NOT NULL,
	`expires_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `idempotency_data_keys_expiry` ON `idempotency_data_keys` (`expires_at`);--> statement-breakpoint
CREATE TABLE `idempotency_results` (
	`scope_key` text PRIMARY KEY NOT NULL,
	`fingerprint` text NOT NULL,
	`position` integer NOT NULL,
	`stream_version` integer NOT NULL,
	`data_key_id` text NOT NULL,
	`expires_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `idempotency_results_expiry` ON `idempotency_results` (`expires_at`);