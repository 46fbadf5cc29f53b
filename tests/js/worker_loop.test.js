// The worker's loop (static/js/worker/loop.js): what it does on a 204, a cancel, a stale attempt (409) and a server
// that is away, driven with a scripted queue and a training that ends when the script says.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkerLoop, isOffline } from '../../static/js/worker/loop.js';

class HttpError extends Error {
  constructor(status, message = `HTTP ${status}`) {
    super(message);
    this.status = status;
  }
}
const unreachable = () => new TypeError('Failed to fetch');  // what fetch throws when nothing answers

const JOB = { id: 'job1', run_id: 'aaaaaaaaaaaa', dataset: 'tiny', attempt_token: 'tok1', config: { epochs: 3 } };

/**
 * A worker against a scripted server. `claims`: answers in turn (a job, null for a 204, an Error to throw); `beats`:
 * heartbeat answers in turn, after which training ends with `outcome`; `completes`: answers to /complete in turn.
 */
function scripted({ claims = [JOB], beats = [{}], completes = [{}], outcome = { status: 'finished' }, register, maxJobs = 1 } = {}) {
  const calls = { claim: 0, heartbeat: [], complete: [], stops: 0, trained: [] };
  const states = [];
  const logs = [];
  const results = [];
  const next = (list, fallback) => {
    const answer = list.length ? list.shift() : fallback;
    if (answer instanceof Error) throw answer;
    return answer;
  };
  let finish = null;
  const queue = {
    register: async (body) => (register ? register(body) : { worker_id: 'w1', heartbeat_seconds: 1 }),
    claim: async () => {
      calls.claim += 1;
      return next(claims, null);
    },
    heartbeat: async (workerId, body) => {
      calls.heartbeat.push({ workerId, ...body });
      const last = beats.length <= 1;
      const answer = next(beats, undefined);
      if (last) setImmediate(() => finish());  // the script is played: training ends after this beat is answered
      return answer;
    },
    complete: async (jobId, body) => {
      calls.complete.push({ jobId, ...body });
      return next(completes, {});
    },
  };
  let clock = 1_000_000;
  const loop = new WorkerLoop({
    queue,
    name: 'w-test',
    device: { backend: 'cpu', backends: ['cpu'] },
    maxJobs,
    now: () => clock,
    sleep: async () => { clock += 1000; await new Promise((resolve) => setImmediate(resolve)); },
    train: (job) => {
      calls.trained.push(job.run_id);
      let stopped = false;
      const done = new Promise((resolve) => {
        finish = () => resolve(stopped ? { status: 'stopped' } : outcome);
      });
      const stop = () => {  // a stop ends training after the current step
        stopped = true;
        calls.stops += 1;
        setImmediate(() => finish());
      };
      return { done, stop, progress: () => ({ epoch: 1, epochs: 3, images_per_second: 50 }) };
    },
  }, {
    onState: (state, offlineSince) => states.push(offlineSince ? `${state}@${offlineSince}` : state),
    onLog: (text) => logs.push(text),
    onResult: (result) => results.push(result),
  });
  return { loop, calls, states, logs, results };
}

test('a 204 means wait and claim again; a claimed job is trained, heartbeated and completed with its outcome', async () => {
  const { loop, calls, states, results } = scripted({ claims: [null, null, JOB], beats: [{ cancel: false }, {}] });
  await loop.run();
  assert.equal(calls.claim, 3);
  assert.deepEqual(states.slice(0, 4), ['registering', 'waiting', 'waiting', 'training']);
  assert.deepEqual(calls.heartbeat.map((b) => [b.workerId, b.job_id, b.attempt_token, b.progress.epoch]),
    [['w1', 'job1', 'tok1', 1], ['w1', 'job1', 'tok1', 1]]);
  assert.deepEqual(calls.complete, [{ jobId: 'job1', attempt_token: 'tok1', status: 'finished' }]);
  assert.equal(loop.jobsDone, 1);
  assert.equal(loop.state, 'stopped');  // maxJobs = 1
  assert.deepEqual(results.map((r) => [r.run_id, r.status]), [['aaaaaaaaaaaa', 'finished']]);
});

test('a cancel in a heartbeat stops the training, which is completed as stopped', async () => {
  const { loop, calls, results } = scripted({ beats: [{ cancel: true }] });
  await loop.run();
  assert.equal(calls.stops, 1);
  assert.deepEqual(calls.complete.map((c) => c.status), ['stopped']);
  assert.equal(results[0].status, 'stopped');
});

test('a 409 on a heartbeat (another attempt holds the job) stops at once and drops the job unreported', async () => {
  const { loop, calls, results, logs } = scripted({ claims: [JOB, null], beats: [{}, new HttpError(409, 'stale attempt')], maxJobs: 1 });
  const running = loop.run();
  // The dropped job does not count as done: the worker goes back to claiming (here: a 204, then we stop it).
  await new Promise((resolve) => setTimeout(resolve, 50));
  loop.stop();
  await running;
  assert.equal(calls.stops, 1);
  assert.deepEqual(calls.complete, []);
  assert.equal(loop.jobsDone, 0);
  assert.deepEqual(results.map((r) => r.status), ['dropped']);
  assert.ok(logs.some((line) => /dropped/.test(line)));
});

test('offline: failed heartbeats keep training, are retried, and the first one through says back online', async () => {
  const { loop, calls, states, logs } = scripted({ beats: [unreachable(), new HttpError(503), {}, {}], completes: [unreachable(), {}] });
  await loop.run();
  assert.equal(calls.stops, 0, 'training went on while the server was away');
  assert.equal(calls.heartbeat.length, 4);
  // Two failed heartbeats are one offline spell, dated from the first; the third gets through: training again. Then
  // the job's end does not get through at first (a second spell), and is retried until the server takes it.
  assert.deepEqual(states, ['registering', 'training', 'offline@1001000', 'offline@1001000', 'training', 'offline@1005000',
    'waiting', 'stopped']);
  assert.equal(logs.filter((line) => line === 'back online').length, 2);
  assert.deepEqual(calls.complete.map((c) => c.status), ['finished', 'finished']);
  assert.equal(loop.jobsDone, 1);
});

test('a failed training is completed as failed with its error', async () => {
  const { loop, calls } = scripted({ outcome: { status: 'failed', error: 'the dataset changed' } });
  await loop.run();
  assert.deepEqual(calls.complete, [{ jobId: 'job1', attempt_token: 'tok1', status: 'failed', error: 'the dataset changed' }]);
});

test('a refused registration stops the worker with the reason; an unreachable server is tried again', async () => {
  let tries = 0;
  const refused = scripted({ register: () => { throw new HttpError(422, 'name too long'); } });
  await assert.rejects(refused.loop.run(), /refused this worker: name too long/);
  assert.equal(refused.loop.state, 'error');
  const later = scripted({ register: () => {
    tries += 1;
    if (tries < 3) throw unreachable();
    return { worker_id: 'w9', heartbeat_seconds: 1 };
  } });
  await later.loop.run();
  assert.equal(later.loop.workerId, 'w9');
  assert.equal(later.loop.jobsDone, 1);
});

test('isOffline: no answer or a 5xx is the server being away; a 4xx is a refusal', () => {
  assert.equal(isOffline(unreachable()), true);
  assert.equal(isOffline(new HttpError(502)), true);
  assert.equal(isOffline(new HttpError(409)), false);
  assert.equal(isOffline(new HttpError(404)), false);
});
