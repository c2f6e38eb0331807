CREATE TABLE `checkpoints` (
	`id` integer PRIMARY KEY NOT NULL,
	`size` integer NOT NULL,
	`head_hash` text NOT NULL,
	`created_at` text NOT NULL,
	`public_key` text NOT NULL,
	`signature` text NOT NULL
);
