-- A transaction's account, held by triggers instead of the foreign key transactions_account_fk
-- (schema.ts, transactions): the same rule, checked once a statement instead of once a row.
ALTER TABLE "transactions" DROP CONSTRAINT "transactions_account_fk";
--> statement-breakpoint
DROP INDEX "accounts_owner_idx";
--> statement-breakpoint
-- The error both checks raise: the one the foreign key raised (23503, naming its constraint).
CREATE FUNCTION transactions_account_refused() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'insert or update on table "transactions" violates foreign key constraint "transactions_account_fk"'
    USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'transactions_account_fk', TABLE = 'transactions',
      DETAIL = 'A transaction names an account that does not exist, or that belongs to another connection, user or application.';
END $$;
--> statement-breakpoint
-- Every owner a statement's new rows name (account, connection, user, application) must be an
-- account's own, in one query however many rows. Each account found is locked `for key share`
-- until commit, as a foreign key's check locks it: a delete of it waits for this transaction, and
-- one deleted first leaves nothing to find.
CREATE FUNCTION transactions_account_check() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM 1 FROM (SELECT DISTINCT account_id, connection_id, user_id, application_id FROM new_rows) n
    LEFT JOIN LATERAL (SELECT 1 AS held FROM accounts a WHERE a.id = n.account_id AND a.connection_id = n.connection_id
      AND a.user_id = n.user_id AND a.application_id = n.application_id FOR KEY SHARE OF a) l ON true
  WHERE l.held IS NULL;
  IF FOUND THEN
    PERFORM transactions_account_refused();
  END IF;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER transactions_account_check AFTER INSERT ON transactions
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION transactions_account_check();
--> statement-breakpoint
-- An update that moves a transaction to another account (a pending one posted elsewhere) is checked
-- row by row, and only when one of the four changes: a refresh's updates change none of them.
CREATE FUNCTION transactions_account_check_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM 1 FROM accounts a WHERE a.id = NEW.account_id AND a.connection_id = NEW.connection_id
    AND a.user_id = NEW.user_id AND a.application_id = NEW.application_id FOR KEY SHARE OF a;
  IF NOT FOUND THEN
    PERFORM transactions_account_refused();
  END IF;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER transactions_account_check_update AFTER UPDATE OF account_id, connection_id, user_id, application_id ON transactions
  FOR EACH ROW WHEN (OLD.account_id IS DISTINCT FROM NEW.account_id OR OLD.connection_id IS DISTINCT FROM NEW.connection_id
    OR OLD.user_id IS DISTINCT FROM NEW.user_id OR OLD.application_id IS DISTINCT FROM NEW.application_id)
  EXECUTE FUNCTION transactions_account_check_row();
--> statement-breakpoint
-- The cascade: an account's transactions go with it (the ids as an array, so they are found
-- through transactions_account_date_idx, never by a scan).
CREATE FUNCTION accounts_delete_transactions() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM transactions WHERE account_id = ANY (ARRAY(SELECT id FROM old_accounts));
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER accounts_delete_transactions AFTER DELETE ON accounts
  REFERENCING OLD TABLE AS old_accounts FOR EACH STATEMENT EXECUTE FUNCTION accounts_delete_transactions();
--> statement-breakpoint
-- An account's id, connection, user or application does not change while transactions name it.
CREATE FUNCTION accounts_key_change_check() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM transactions WHERE account_id = OLD.id) THEN
    RAISE EXCEPTION 'update on table "accounts" violates foreign key constraint "transactions_account_fk" on table "transactions"'
      USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'transactions_account_fk', TABLE = 'accounts',
        DETAIL = 'Transactions still name this account.';
  END IF;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER accounts_key_change_check AFTER UPDATE OF id, connection_id, user_id, application_id ON accounts
  FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id OR OLD.connection_id IS DISTINCT FROM NEW.connection_id
    OR OLD.user_id IS DISTINCT FROM NEW.user_id OR OLD.application_id IS DISTINCT FROM NEW.application_id)
  EXECUTE FUNCTION accounts_key_change_check();
