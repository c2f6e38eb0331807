CREATE TABLE `api_key_usage` (
	`key_id` text PRIMARY KEY NOT NULL,
	`last_used_at` text NOT NULL
);
