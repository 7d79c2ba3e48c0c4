CREATE TABLE "import_batches" (
	"id" text PRIMARY KEY NOT NULL,
	"application_id" text NOT NULL,
	"provider" text NOT NULL,
	"status" text NOT NULL,
	"source" text NOT NULL,
	"content_hash" text,
	"actor" text,
	"rows_per_second" double precision NOT NULL,
	"concurrency" integer NOT NULL,
	"total" integer NOT NULL,
	"imported" integer DEFAULT 0 NOT NULL,
	"skipped" integer DEFAULT 0 NOT NULL,
	"failed" integer DEFAULT 0 NOT NULL,
	"queue_job_id" text,
	"wait_until" timestamp with time zone,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "import_rows" (
	"batch_id" text NOT NULL,
	"application_id" text NOT NULL,
	"row_number" integer NOT NULL,
	"user_ref" text NOT NULL,
	"user_id" text,
	"token_enc" text NOT NULL,
	"token_fingerprint" text NOT NULL,
	"institution_id" text,
	"status" text DEFAULT 'pending' NOT NULL,
	"connection_id" text,
	"error_code" text,
	"error_message" text,
	"attempted_at" timestamp with time zone,
	"updated_at" timestamp with time zone NOT NULL,
	CONSTRAINT "import_rows_batch_id_row_number_pk" PRIMARY KEY("batch_id","row_number")
);
--> statement-breakpoint
ALTER TABLE "import_batches" ADD CONSTRAINT "import_batches_application_id_applications_id_fk" FOREIGN KEY ("application_id") REFERENCES "public"."applications"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "import_rows" ADD CONSTRAINT "import_rows_batch_id_import_batches_id_fk" FOREIGN KEY ("batch_id") REFERENCES "public"."import_batches"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "import_batches_app_idx" ON "import_batches" USING btree ("application_id","id");--> statement-breakpoint
CREATE INDEX "import_batches_unfinished_idx" ON "import_batches" USING btree ("application_id","provider","content_hash") WHERE "import_batches"."status" <> 'completed';--> statement-breakpoint
CREATE INDEX "import_rows_status_idx" ON "import_rows" USING btree ("batch_id","status","row_number");