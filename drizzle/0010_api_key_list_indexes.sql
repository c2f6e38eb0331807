CREATE INDEX `api_keys_environment` ON `api_keys` (`environment`,`id`);--> statement-breakpoint
CREATE INDEX `api_keys_environment_status` ON `api_keys` (`environment`,`status`,`id`);--> statement-breakpoint
CREATE INDEX `api_keys_expiring` ON `api_keys` (`environment`,`id`) WHERE "api_keys"."expires_at" IS NOT NULL;