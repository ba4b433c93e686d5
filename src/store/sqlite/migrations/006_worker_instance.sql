-- The registration instance of a worker: a random id its process picks at start. A registration under the
-- same worker id with another instance is a restarted process, whose predecessor's leases are ended at
-- once (engine/worker-service.ts); NULL for workers that send none.
ALTER TABLE workers ADD COLUMN instance TEXT;
