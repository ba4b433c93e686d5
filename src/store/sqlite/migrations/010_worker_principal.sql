-- The credential that registered a worker (engine/worker-service.ts): another credential cannot speak
-- for that worker id while it is alive. NULL for registrations made before authentication existed.
ALTER TABLE workers ADD COLUMN principal TEXT;
