/**
 * The source of the SQLite writer thread (`sqlite-writer.ts`) and the statement it inserts samples
 * with. It is CommonJS text run with `new Worker(source, { eval: true })`, so it runs the same way
 * under tsx, vitest and the compiled hub, with no loader; it needs only better-sqlite3, whose path
 * it is given.
 */

export const INSERT_SAMPLE = `INSERT INTO samples (id, source, device_id, received_at, captured_at, mime, width, height, byte_length,
  object_key, model_name, model_version, predicted_label, confidence, sampling_strategy, sampling_score, inclusion_probability,
  audit, queue_state, extra)
  VALUES (?, 'device', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?) ON CONFLICT(id) DO NOTHING`;

/**
 * The worker. Rows come as bind values and one transferred buffer holding every staged blob.
 * BEGIN IMMEDIATE takes the write lock up front, so a group never fails half-way on a lock upgrade.
 * Unstaging needs no fsync of its own: if a crash loses the DELETE, the spiller puts the same bytes
 * again, and the next FULL commit syncs the WAL frames before it anyway.
 */
export const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = FULL');
db.pragma('foreign_keys = ON');
db.pragma('busy_timeout = 5000');
const insertSample = db.prepare(workerData.insertSample);
const insertBlob = db.prepare('INSERT INTO sample_blobs (sample_id, bytes, staged_at) VALUES (?, ?, ?)');
const insertLabel = db.prepare("INSERT INTO labels (sample_id, label, source, action, labelled_by, labelled_at) VALUES (?, ?, 'device-user', 'annotate', ?, ?)");
const hasLabel = db.prepare("SELECT 1 FROM labels WHERE sample_id = ? AND label = ? AND labelled_by = ? AND action = 'annotate'");
const removeBlob = db.prepare('DELETE FROM sample_blobs WHERE sample_id = ?');
const commit = db.transaction((rows, blobs) => rows.map(([params, annotation, start, length]) => {
  if (insertSample.run(params).changes === 0) {
    if (annotation && hasLabel.get(params[0], annotation[0], annotation[1]) === undefined) insertLabel.run(params[0], annotation[0], annotation[1], params[2]);
    return 'duplicate';
  }
  if (start >= 0) insertBlob.run(params[0], blobs.subarray(start, start + length), params[2]);
  if (annotation) insertLabel.run(params[0], annotation[0], annotation[1], params[2]);
  return 'inserted';
}));
const unstage = db.transaction((ids) => { for (const id of ids) removeBlob.run(id); });
parentPort.on('message', (m) => {
  if (m.op === 'close') { db.close(); parentPort.close(); return; }
  try {
    if (m.op === 'commit') parentPort.postMessage({ id: m.id, value: commit.immediate(m.rows, Buffer.from(m.blobs)) });
    else {
      db.pragma('synchronous = NORMAL');
      try { unstage.immediate(m.ids); } finally { db.pragma('synchronous = FULL'); }
      parentPort.postMessage({ id: m.id, value: null });
    }
  } catch (error) {
    parentPort.postMessage({ id: m.id, error: { message: String(error && error.message), code: error && error.code } });
  }
});
`;
