/**
 * Maps `EDGELOOP_*` variables onto a {@link Config}. It takes the environment as an argument:
 * `main.ts` is the only caller that passes `process.env`.
 *
 * | variable                      | config field                         |
 * |-------------------------------|--------------------------------------|
 * | `EDGELOOP_DATA_DIR`           | `dataDir` (and the paths under it)   |
 * | `EDGELOOP_DATABASE`           | `databasePath`                       |
 * | `EDGELOOP_OBJECT_STORE`       | `objectStoreUrl` (`file://`, `s3://`)|
 * | `EDGELOOP_HTTP_HOST`/`_PORT`  | `http.host`, `http.port`             |
 * | `EDGELOOP_HTTP_BODY_LIMIT`    | `http.bodyLimitBytes`                |
 * | `EDGELOOP_MQTT_URL`           | external broker (`mqtt.mode`)        |
 * | `EDGELOOP_MQTT_HOST`          | `mqtt.host`                          |
 * | `EDGELOOP_MQTT_PORT`          | `mqtt.tcpPort`                       |
 * | `EDGELOOP_MQTT_WS_PORT`       | `mqtt.wsPort` (-1 disables)          |
 * | `EDGELOOP_MQTT_HUB_USERNAME`/`_PASSWORD` | the hub's broker identity |
 * | `EDGELOOP_MQTT_SHARED_GROUP`  | `mqtt.sharedGroup`                   |
 * | `EDGELOOP_MQTT_RATE`/`_BURST` | `mqtt.rateLimit`                     |
 * | `EDGELOOP_MQTT_MAX_INFLIGHT`  | `mqtt.maxInflightPerClient`          |
 * | `EDGELOOP_ADMIN_TOKEN`        | `adminToken`                         |
 * | `EDGELOOP_CLASSIFIER_DIR`     | `classifierModelDir`                 |
 * | `EDGELOOP_GROUP_COMMIT_MAX`/`_DELAY_MS` | `ingest.groupCommit*`      |
 * | `EDGELOOP_MAX_STAGED_BLOBS`   | `ingest.maxStagedBlobs`              |
 * | `EDGELOOP_MLFLOW_URI`         | `registry.mlflow.uri` (mirror runs)  |
 * | `EDGELOOP_KEYS_DIR`           | `releases.keysDir`                   |
 * | `EDGELOOP_IMPORT_DIR`         | `importDir`                          |
 * | `EDGELOOP_MODEL`              | `productionModel` (= `pipeline.model`) |
 * | `EDGELOOP_LOCAL_TRAINER`      | `localTrainer` (`0` turns it off)    |
 * | `EDGELOOP_CLIENT_DIR`         | `browserClient.dir` (the built PWA)  |
 * | `EDGELOOP_BROWSER_MQTT_URL`   | `browserClient.mqttUrl`              |
 * | `EDGELOOP_BROWSER_REGISTER`   | `browserClient.selfRegister.enabled` (`0` turns it off) |
 * | `EDGELOOP_BOOTSTRAP`          | `bootstrap` (`mnist` or `none`)      |
 * | `EDGELOOP_TRAIN_EPOCHS`       | `pipeline.trainParams.epochs`        |
 * | `EDGELOOP_LOG_LEVEL`          | `log.level`                          |
 */
import { type Config, configFor } from './config.js';
import { HubError } from './errors.js';

type Env = Record<string, string | undefined>;

function int(env: Env, name: string, fallback: number, min = 0): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new HubError('BAD_CONFIG', `${name} must be an integer ≥ ${min}, got "${raw}"`);
  return value;
}

function bootstrapOf(raw: string | undefined, fallback: Config['bootstrap']): Config['bootstrap'] {
  if (raw === undefined || raw === '') return fallback;
  if (raw !== 'mnist' && raw !== 'none') throw new HubError('BAD_CONFIG', `EDGELOOP_BOOTSTRAP must be mnist or none, got "${raw}"`);
  return raw;
}

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export function configFromEnv(env: Env, base: Config): Config {
  const dataDir = env.EDGELOOP_DATA_DIR || base.dataDir;
  const paths = configFor(dataDir);
  const derived: Config =
    dataDir === base.dataDir
      ? base
      : {
          ...base,
          dataDir,
          databasePath: paths.databasePath,
          objectStoreUrl: paths.objectStoreUrl,
          importDir: paths.importDir,
          releases: { ...base.releases, keysDir: paths.releases.keysDir },
        };
  const model = env.EDGELOOP_MODEL || derived.productionModel;
  const level = env.EDGELOOP_LOG_LEVEL || derived.log.level;
  if (!(LEVELS as readonly string[]).includes(level)) {
    throw new HubError('BAD_CONFIG', `EDGELOOP_LOG_LEVEL must be one of ${LEVELS.join(', ')}`);
  }
  const mqttUrl = env.EDGELOOP_MQTT_URL || undefined;
  const { mqtt, http, ingest } = derived;
  return {
    ...derived,
    databasePath: env.EDGELOOP_DATABASE || derived.databasePath,
    objectStoreUrl: env.EDGELOOP_OBJECT_STORE || derived.objectStoreUrl,
    http: {
      host: env.EDGELOOP_HTTP_HOST || http.host,
      port: int(env, 'EDGELOOP_HTTP_PORT', http.port),
      bodyLimitBytes: int(env, 'EDGELOOP_HTTP_BODY_LIMIT', http.bodyLimitBytes, 1),
    },
    mqtt: {
      ...mqtt,
      mode: mqttUrl ? 'external' : 'embedded',
      url: mqttUrl,
      host: env.EDGELOOP_MQTT_HOST || mqtt.host,
      tcpPort: int(env, 'EDGELOOP_MQTT_PORT', mqtt.tcpPort),
      wsPort: int(env, 'EDGELOOP_MQTT_WS_PORT', mqtt.wsPort, -1),
      hubUsername: env.EDGELOOP_MQTT_HUB_USERNAME || mqtt.hubUsername,
      hubPassword: env.EDGELOOP_MQTT_HUB_PASSWORD || mqtt.hubPassword,
      sharedGroup: env.EDGELOOP_MQTT_SHARED_GROUP || mqtt.sharedGroup,
      rateLimit: {
        messagesPerSecond: int(env, 'EDGELOOP_MQTT_RATE', mqtt.rateLimit.messagesPerSecond, 1),
        burst: int(env, 'EDGELOOP_MQTT_BURST', mqtt.rateLimit.burst, 1),
      },
      maxInflightPerClient: int(env, 'EDGELOOP_MQTT_MAX_INFLIGHT', mqtt.maxInflightPerClient, 1),
    },
    ingest: {
      ...ingest,
      groupCommitMaxItems: int(env, 'EDGELOOP_GROUP_COMMIT_MAX', ingest.groupCommitMaxItems, 1),
      groupCommitMaxDelayMs: int(env, 'EDGELOOP_GROUP_COMMIT_DELAY_MS', ingest.groupCommitMaxDelayMs),
      maxStagedBlobs: int(env, 'EDGELOOP_MAX_STAGED_BLOBS', ingest.maxStagedBlobs),
    },
    adminToken: env.EDGELOOP_ADMIN_TOKEN ?? derived.adminToken,
    classifierModelDir: env.EDGELOOP_CLASSIFIER_DIR || derived.classifierModelDir,
    importDir: env.EDGELOOP_IMPORT_DIR || derived.importDir,
    productionModel: model,
    pipeline: {
      ...derived.pipeline,
      model,
      trainParams: {
        ...derived.pipeline.trainParams,
        epochs: int(env, 'EDGELOOP_TRAIN_EPOCHS', Number(derived.pipeline.trainParams.epochs ?? 10), 1),
      },
    },
    registry: { ...derived.registry, mlflow: { ...derived.registry.mlflow, uri: env.EDGELOOP_MLFLOW_URI || derived.registry.mlflow.uri } },
    releases: { ...derived.releases, keysDir: env.EDGELOOP_KEYS_DIR || derived.releases.keysDir },
    localTrainer: env.EDGELOOP_LOCAL_TRAINER === undefined ? derived.localTrainer : env.EDGELOOP_LOCAL_TRAINER !== '0',
    browserClient: {
      ...derived.browserClient,
      dir: env.EDGELOOP_CLIENT_DIR || derived.browserClient.dir,
      mqttUrl: env.EDGELOOP_BROWSER_MQTT_URL || derived.browserClient.mqttUrl,
      selfRegister: {
        ...derived.browserClient.selfRegister,
        enabled:
          env.EDGELOOP_BROWSER_REGISTER === undefined ? derived.browserClient.selfRegister.enabled : env.EDGELOOP_BROWSER_REGISTER !== '0',
      },
    },
    bootstrap: bootstrapOf(env.EDGELOOP_BOOTSTRAP, derived.bootstrap),
    log: { level: level as Config['log']['level'] },
  };
}
