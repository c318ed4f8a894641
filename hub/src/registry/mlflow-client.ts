/**
 * A small client of MLflow's REST API 2.0 (the tracking server's `/api/2.0/mlflow/...`), with the
 * calls the mirror needs. Artifacts go through the server's artifact proxy
 * (`/api/2.0/mlflow-artifacts/artifacts/<path>`, PUT), which MLflow serves by default since 2.0
 * (`--serve-artifacts`); the plain REST API has no upload.
 */
export class MlflowError extends Error {
  override readonly name = 'MlflowError';

  constructor(
    message: string,
    /** HTTP status, or 0 when the server could not be reached. */
    readonly status: number,
    /** MLflow's `error_code`, e.g. `RESOURCE_ALREADY_EXISTS`. */
    readonly code: string,
    options: { cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
  }

  /** The server could not be reached or answered 5xx: the rest of a sync would fail too. */
  get unavailable(): boolean {
    return this.status === 0 || this.status >= 500;
  }
}

export interface MlflowRun {
  runId: string;
  experimentId: string;
  artifactUri: string;
  status: string;
}

type Json = Record<string, unknown>;
export type MlflowStatus = 'SCHEDULED' | 'RUNNING' | 'FINISHED' | 'FAILED' | 'KILLED';
export interface KeyValue {
  key: string;
  value: string;
}
export interface MetricValue {
  key: string;
  value: number;
  timestamp: number;
  step: number;
}

export class MlflowClient {
  private readonly base: string;

  constructor(
    uri: string,
    private readonly timeoutMs = 30_000,
  ) {
    this.base = uri.replace(/\/+$/, '');
  }

  async experimentId(name: string): Promise<string> {
    const found = await this.call('GET', 'experiments/get-by-name', { experiment_name: name }).catch(notFound);
    if (found) return String((found.experiment as Json).experiment_id);
    const created = await this.call('POST', 'experiments/create', { name }).catch(exists);
    if (created) return String(created.experiment_id);
    return this.experimentId(name);
  }

  /** The run of `experimentId` tagged `key = value`, if one exists. */
  async findRun(experimentId: string, key: string, value: string): Promise<MlflowRun | undefined> {
    const body = { experiment_ids: [experimentId], filter: `tags.\`${key}\` = '${value.replace(/'/g, "\\'")}'`, max_results: 1 };
    const found = (await this.call('POST', 'runs/search', body)).runs as Json[] | undefined;
    return found?.[0] ? runOf(found[0]) : undefined;
  }

  async createRun(experimentId: string, runName: string, startTime: number, tags: KeyValue[]): Promise<MlflowRun> {
    const out = await this.call('POST', 'runs/create', { experiment_id: experimentId, run_name: runName, start_time: startTime, tags });
    return runOf(out.run as Json);
  }

  async getRun(runId: string): Promise<MlflowRun> {
    return runOf((await this.call('GET', 'runs/get', { run_id: runId })).run as Json);
  }

  /** At most 100 params, 1,000 metrics and 1,000 items in all per call (MLflow's limits). */
  async logBatch(runId: string, batch: { params?: KeyValue[]; metrics?: MetricValue[]; tags?: KeyValue[] }): Promise<void> {
    await this.call('POST', 'runs/log-batch', {
      run_id: runId,
      params: batch.params ?? [],
      metrics: batch.metrics ?? [],
      tags: batch.tags ?? [],
    });
  }

  async updateRun(runId: string, status: MlflowStatus, endTime?: number): Promise<void> {
    await this.call('POST', 'runs/update', { run_id: runId, status, ...(endTime !== undefined ? { end_time: endTime } : {}) });
  }

  /** PUTs `bytes` at `path` below a run's `mlflow-artifacts:` artifact URI. */
  async uploadArtifact(artifactUri: string, path: string, bytes: Uint8Array, contentType: string): Promise<void> {
    const match = /^mlflow-artifacts:(?:\/\/[^/]*)?\/*(.*)$/.exec(artifactUri);
    if (!match) {
      throw new MlflowError(
        `the run's artifact URI ${artifactUri} is not proxied: start the MLflow server with --serve-artifacts`,
        400,
        'NO_ARTIFACT_PROXY',
      );
    }
    const target = `${match[1]}/${path}`.split('/').map(encodeURIComponent).join('/');
    await this.request('PUT', `${this.base}/api/2.0/mlflow-artifacts/artifacts/${target}`, bytes, contentType);
  }

  async createRegisteredModel(name: string): Promise<void> {
    await this.call('POST', 'registered-models/create', { name }).catch(exists);
  }

  /** The MLflow version number of the version of `name` tagged `key = value`, if any. */
  async findModelVersion(name: string, key: string, value: string): Promise<string | undefined> {
    const filter = `name='${name}' and tags.\`${key}\`='${value}'`;
    const found = (await this.call('GET', 'model-versions/search', { filter })).model_versions as Json[] | undefined;
    return found?.[0] ? String(found[0].version) : undefined;
  }

  async createModelVersion(name: string, source: string, runId: string, tags: KeyValue[]): Promise<string> {
    const out = await this.call('POST', 'model-versions/create', { name, source, run_id: runId, tags });
    return String((out.model_version as Json).version);
  }

  async setAlias(name: string, alias: string, version: string): Promise<void> {
    await this.call('POST', 'registered-models/alias', { name, alias, version });
  }

  async deleteAlias(name: string, alias: string): Promise<void> {
    await this.call('DELETE', 'registered-models/alias', { name, alias }).catch(notFound);
  }

  /** A REST call; GET carries its arguments in the query string, POST and DELETE in a JSON body. */
  async call(method: 'GET' | 'POST' | 'DELETE', endpoint: string, args: Json): Promise<Json> {
    const url = new URL(`${this.base}/api/2.0/mlflow/${endpoint}`);
    if (method === 'GET') for (const [k, v] of Object.entries(args)) url.searchParams.set(k, String(v));
    const text = await this.request(method, url.href, method === 'GET' ? undefined : JSON.stringify(args), 'application/json');
    return text ? (JSON.parse(text) as Json) : {};
  }

  private async request(method: string, url: string, body: string | Uint8Array | undefined, contentType: string): Promise<string> {
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        ...(body !== undefined ? { body: body as string | Uint8Array<ArrayBuffer>, headers: { 'content-type': contentType } } : {}),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (cause) {
      throw new MlflowError(`MLflow at ${this.base} is unreachable: ${(cause as Error).message}`, 0, 'UNREACHABLE', { cause });
    }
    const text = await response.text();
    if (response.ok) return text;
    let code = 'HTTP_ERROR';
    let message = text.slice(0, 500);
    try {
      const parsed = JSON.parse(text) as { error_code?: string; message?: string };
      code = parsed.error_code ?? code;
      message = parsed.message ?? message;
    } catch {
      // Not JSON (a proxy's error page): keep the text.
    }
    throw new MlflowError(`MLflow ${method} ${new URL(url).pathname}: ${response.status} ${code}: ${message}`, response.status, code);
  }
}

function runOf(run: Json): MlflowRun {
  const info = run.info as Json;
  return {
    runId: String(info.run_id),
    experimentId: String(info.experiment_id),
    artifactUri: String(info.artifact_uri),
    status: String(info.status),
  };
}

function notFound(error: unknown): undefined {
  if (error instanceof MlflowError && error.code === 'RESOURCE_DOES_NOT_EXIST') return undefined;
  throw error;
}

function exists(error: unknown): undefined {
  if (error instanceof MlflowError && error.code === 'RESOURCE_ALREADY_EXISTS') return undefined;
  throw error;
}
