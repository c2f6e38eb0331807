CREATE TABLE `pepper_check` (
	`id` integer PRIMARY KEY NOT NULL,
	`verifier` text NOT NULL,
	`recorded_at` text NOT NULL
);
